"""Shots (audit/quality/shots.py) on real frames: a hard cut, a fade through black and a
dissolve built from the shipped real clips, repeated and dropped frames, and ``split``."""

from __future__ import annotations


import av
import numpy as np
import pytest

from audit.pipeline import AuditTask, audit_clip
from audit.quality.shots import Shot, split

from conftest import FIXTURES, write_frames

REAL = FIXTURES / "real"


def _frames(name: str, size=(320, 180)) -> list[np.ndarray]:
    import cv2

    with av.open(str(REAL / name)) as c:
        return [cv2.resize(f.to_ndarray(format="bgr24"), size, interpolation=cv2.INTER_AREA)
                for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def person():
    return _frames("person_static.mp4")


@pytest.fixture(scope="module")
def bottles():
    return _frames("cut_person_bottles.mp4")[20:]   # the second shot: a hand over bottles


def _shots(path):
    r = audit_clip(AuditTask(path))
    return r, r["metrics"]["shots"]


def _codes(r):
    return {f["code"]: f for f in r["findings"]}


def test_real_hard_cut_is_one_boundary_on_its_frame():
    r, shots = _shots(str(REAL / "cut_person_bottles.mp4"))
    assert [s["boundary"] for s in shots] == ["start", "cut"]
    assert abs(shots[1]["start_frame"] - 20) <= 1
    assert abs(shots[1]["start_s"] - 2.0) <= 0.1
    assert [c["t"] for c in r["metrics"]["technical"]["cuts"]] == [shots[1]["start_s"]]
    # per-shot flicker scores are copied into the shot list
    assert all(isinstance(s.get("flicker"), float) for s in shots)
    assert "quality.flicker" not in _codes(r)


def test_fade_through_black_is_one_fade_and_not_flicker(tmp_path, person, bottles):
    out = [f for f in person[:15]]
    out += [(person[15] * (1 - k / 8)).astype(np.uint8) for k in range(1, 9)]      # fade out
    out += [np.zeros_like(person[0])] * 3
    out += [(bottles[0] * (k / 8)).astype(np.uint8) for k in range(1, 9)]          # fade in
    out += bottles[:15]
    r, shots = _shots(write_frames(tmp_path / "fade.mp4", out))
    assert [s["boundary"] for s in shots] == ["start", "fade"]
    a, b = shots[1]["transition"]
    assert 1.3 <= a <= 1.7 and 3.0 <= b <= 3.5          # from the fade-out to the fade-in
    assert 2.1 <= shots[1]["start_s"] <= 3.1
    assert "quality.flicker" not in _codes(r), r["metrics"]["flicker"]["score"]


def test_dissolve_between_two_real_shots(tmp_path, person, bottles):
    out = person[:15]
    out += [(person[15 + k] * (1 - k / 9) + bottles[k] * (k / 9)).astype(np.uint8) for k in range(1, 9)]
    out += bottles[9:20]
    r, shots = _shots(write_frames(tmp_path / "dissolve.mp4", out))
    assert [s["boundary"] for s in shots] == ["start", "dissolve"]
    a, b = shots[1]["transition"]
    assert 1.3 <= a <= 1.6 and 2.2 <= b <= 2.5
    assert "quality.flicker" not in _codes(r)


def test_a_continuous_real_shot_has_no_boundary():
    r, shots = _shots(str(REAL / "pool_handheld.mp4"))   # hand-held pans and shakes, glinting water
    assert [s["boundary"] for s in shots] == ["start"]


def test_repeated_frames_are_reported_and_not_flicker(tmp_path, bottles):
    clean = write_frames(tmp_path / "clean.mp4", bottles)
    rep = []
    for i, f in enumerate(bottles):
        rep.append(f)
        if i % 3 == 2:
            rep.append(f)                                # every third frame shown twice
    r0 = audit_clip(AuditTask(clean))
    r1 = audit_clip(AuditTask(write_frames(tmp_path / "rep.mp4", rep)))
    codes = _codes(r1)
    assert codes["quality.repeated_frames"]["evidence"]["count"] >= 5
    assert "quality.repeated_frames" not in _codes(r0)
    assert r1["metrics"]["flicker"]["repeated_frames_skipped"] >= 5
    assert r1["metrics"]["flicker"]["score"] <= r0["metrics"]["flicker"]["score"] + 0.3
    assert "quality.flicker" not in codes


def test_dropped_frames_from_timestamps(tmp_path, bottles):
    pts = [i + i // 4 for i in range(len(bottles))]    # one frame missing after every 4
    r = audit_clip(AuditTask(write_frames(tmp_path / "drop.mp4", bottles, pts=pts)))
    ev = _codes(r)["quality.dropped_frames"]["evidence"]
    assert len(ev["gaps"]) >= 3 and ev["missing"] == len(ev["gaps"])
    assert [s["boundary"] for s in r["metrics"]["shots"]] == ["start"]


def test_split_leaves_out_transitions_and_pairs_across_a_cut():
    shots = [Shot(0.0, 1.0, "start", 0, 10), Shot(1.0, 2.0, "cut", 10, 20, None, ((1.5, 1.7),))]
    ts = np.arange(20) / 10.0
    pieces = [(k, list(pos)) for k, _, pos in split(shots, ts)]
    assert pieces == [(0, list(range(10))), (1, list(range(10, 15))), (1, [18, 19])]
    pair_pieces = [(k, list(pos)) for k, _, pos in split(shots, ts, pairs=True)]
    assert pair_pieces[1] == (1, list(range(11, 15)))   # the pair stamped 1.0 s spans the cut
