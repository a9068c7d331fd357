"""Drift and jitter on real footage and on motion that is not an artefact: parallax, a moving
subject, hand-held shake leave them alone; a warp growing over the clip is drift, a warp that
switches between frames is jitter (the injections of benchmarks/realset/inject.py)."""

from __future__ import annotations

import sys
from fractions import Fraction

import cv2
import numpy as np
import pytest

from conftest import FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "benchmarks" / "realset"))
import inject  # noqa: E402
from clipio import Encoder, read_frames  # noqa: E402

from audit.pipeline import AuditOptions, AuditTask, audit_clip  # noqa: E402
from audit.policy import load_policy  # noqa: E402

REAL = FIXTURES / "real"
POLICY = load_policy()


def _audit(path):
    r = audit_clip(AuditTask(str(path), AuditOptions()))
    return r, r["metrics"]


def _sev(r, code):
    return [f["severity"] for f in r["findings"] if f["code"] == code]


def _texture(h, w, seed):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 6, w // 6, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(img, (3, 3), 0)


def _write(path, frames, fps=30):
    with Encoder(path, Fraction(fps), Fraction(1, fps), crf=18) as enc:
        for i, f in enumerate(frames):
            enc.write(f, i)
    return path


def _parallax(n=90, h=360, w=640):
    """A camera sliding sideways over two depth planes: the far one moves 1 px a frame, the
    near one (the lower third, in front) 4 px: rigid scenery, not drift."""
    far, near = _texture(h, w * 3, 1), _texture(h, w * 3, 2)
    for i in range(n):
        f = far[:, i: i + w].copy()
        f[2 * h // 3:] = near[2 * h // 3:, 4 * i: 4 * i + w]
        yield f


def _subject(n=90, h=360, w=640):
    """A static scene and a textured box crossing it (a moving subject)."""
    bg, box = _texture(h, w, 3), _texture(120, 160, 4)
    for i in range(n):
        f = bg.copy()
        x = 40 + 5 * i
        y = 120 + int(30 * np.sin(i / 10))
        x2 = min(w, x + 160)
        if x < w:
            f[y:y + 120, x:x2] = box[:, : x2 - x]
        yield f


def _shake(n=90, h=360, w=640):
    """Hand-held shake: the whole picture jumps a few px at random every frame."""
    bg = _texture(h + 40, w + 40, 5)
    rng = np.random.default_rng(6)
    for _ in range(n):
        dx, dy = rng.integers(0, 12, 2)
        yield bg[dy: dy + h, dx: dx + w].copy()


@pytest.mark.parametrize("make", [_parallax, _subject, _shake], ids=["parallax", "subject", "shake"])
def test_natural_motion_is_neither_drift_nor_jitter(tmp_path, make):
    r, m = _audit(_write(tmp_path / "clip.mp4", make()))
    assert m["drift"]["score"] is not None and m["drift"]["score"] < POLICY.get("drift", "warn"), m["drift"]["score"]
    assert m["jitter"]["score"] is not None and m["jitter"]["score"] < POLICY.get("jitter", "warn"), m["jitter"]["score"]
    assert not _sev(r, "quality.drift") and not _sev(r, "quality.jitter")


def test_injected_jitter_on_a_moving_subject_is_found_with_its_region(tmp_path):
    frames = list(_subject())
    h, w = frames[0].shape[:2]
    inj = inject.make_injector("jitter", 16.0, len(frames), h, w, seed=7)
    r, m = _audit(_write(tmp_path / "jitter.mp4", [inj(i, f) for i, f in enumerate(frames)]))
    assert m["jitter"]["score"] >= POLICY.get("jitter", "fail"), m["jitter"]["score"]
    f = [f for f in r["findings"] if f["code"] == "quality.jitter"][0]
    assert f["severity"] == "fail"
    t0, t1 = f["evidence"]["range"]
    x, y, rw, rh = f["evidence"]["region"]
    assert 0 <= t0 <= t1 <= 3.0 and t1 - t0 >= 0.5
    assert 0 <= x and 0 <= y and 0 < rw <= w and 0 < rh <= h


def test_real_clip_clean_passes_and_injected_artefacts_fail(tmp_path):
    src = REAL / "person_static.mp4"
    r, m = _audit(src)
    assert not _sev(r, "quality.drift") and not _sev(r, "quality.jitter"), r["findings"]
    clean_drift, clean_jitter = m["drift"]["score"], m["jitter"]["score"]
    out = tmp_path / "drift.mp4"
    inject.inject_clip(src, out, "drift", 32.0, seed=3)
    r, m = _audit(out)
    assert m["drift"]["score"] > 3 * clean_drift
    assert _sev(r, "quality.drift") == ["fail"], (m["drift"]["score"], r["findings"])
    out = tmp_path / "jitter.mp4"
    inject.inject_clip(src, out, "jitter", 8.0, seed=4)
    r, m = _audit(out)
    assert m["jitter"]["score"] > 3 * clean_jitter
    assert _sev(r, "quality.jitter") == ["fail"], (m["jitter"]["score"], r["findings"])


def test_hand_held_real_clip_is_not_jitter_but_injected_jitter_is(tmp_path):
    # hand-held over sparkling water: the hardest clean clip of the set for jitter (a warn at most)
    src = REAL / "pool_handheld.mp4"
    r, m = _audit(src)
    clean = m["jitter"]["score"]
    assert "fail" not in _sev(r, "quality.jitter"), clean
    out = tmp_path / "jitter.mp4"
    inject.inject_clip(src, out, "jitter", 8.0, seed=4)
    r, m = _audit(out)
    assert m["jitter"]["score"] > 2 * clean
    assert _sev(r, "quality.jitter") == ["fail"], m["jitter"]["score"]


def test_drift_and_jitter_restart_at_a_cut(tmp_path):
    r, m = _audit(REAL / "cut_person_bottles.mp4")
    shots = m["shots"]
    assert len(shots) == 2
    assert len(m["drift"]["per_shot"]) == 2 and len(m["jitter"]["per_shot"]) == 2
    assert all(s.get("drift") is not None for s in shots) or all(p is not None for p in m["jitter"]["per_shot"])
    assert not _sev(r, "quality.drift") and not _sev(r, "quality.jitter")


def test_jitter_at_ten_frames_a_second_is_found(tmp_path):
    # The shipped tripod clip is 10 fps: each frame is a tracked step, and a jump held for 2-3
    # frames leaves steps of no motion between the jumps (the step-to-step reversal measure
    # failed 1 of these 4: 1.8-2.9 against a fail at 3.3). A 4 s clip is short and where a
    # random field lands matters (a field that bends the bare wall moves few tracked points),
    # so four fields: every one scores well over the clean clip, and most fail.
    frames = [f for f, _, _ in read_frames(REAL / "person_static.mp4")]
    r, m = _audit(_write(tmp_path / "clean10.mp4", frames, fps=10))
    clean = m["jitter"]["score"]
    assert clean is not None and not _sev(r, "quality.jitter"), clean
    h, w = frames[0].shape[:2]
    scores, fails = [], 0
    for seed in range(4):
        inj = inject.make_injector("jitter", 8.0, len(frames), h, w, seed=seed)
        r, m = _audit(_write(tmp_path / f"jitter10_{seed}.mp4", [inj(i, f) for i, f in enumerate(frames)], fps=10))
        scores.append(m["jitter"]["score"])
        fails += _sev(r, "quality.jitter") == ["fail"]
    assert min(scores) > 2 * clean, (clean, scores)
    assert fails >= 3, (clean, scores)
