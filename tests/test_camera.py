"""Camera motion: every move gets its label and direction; the prompt's request is compared."""

from __future__ import annotations


import pytest

from audit.quality.camera_prompt import expected_timeline, parse_camera
from audit.pipeline import AuditTask, audit_clip
from audit.source import Source
from audit.synth import CameraSegment

RATES = {"pan_left": 0.2, "pan_right": 0.2, "tilt_up": 0.2, "tilt_down": 0.2, "zoom_in": 0.25,
         "zoom_out": 0.25, "roll": 12.0}


@pytest.mark.parametrize("kind", sorted(RATES))
def test_each_move_gets_its_label_and_direction(render_clip, kind):
    clip = render_clip(f"{kind}.mp4", seed=21, seconds=1.5, camera=(CameraSegment(kind, 0, 2, RATES[kind]),))
    cam = audit_clip(AuditTask(str(clip)))["metrics"]["camera"]
    assert cam["motion"] == kind, cam["segments"]


def test_static_and_segments_over_time(render_clip):
    clip = render_clip("seq.mp4", seed=22, seconds=3.0, camera=(
        CameraSegment("static", 0, 1.0), CameraSegment("pan_right", 1.0, 2.0, 0.25), CameraSegment("zoom_in", 2.0, 3.0, 0.3)))
    cam = audit_clip(AuditTask(str(clip)))["metrics"]["camera"]
    labels = [s["motion"] for s in cam["segments"]]
    assert labels == ["static", "pan_right", "zoom_in"], cam["segments"]
    b1, b2 = cam["segments"][1]["start_s"], cam["segments"][2]["start_s"]
    assert abs(b1 - 1.0) < 0.3 and abs(b2 - 2.0) < 0.3
    assert cam["motion"] == "complex"


def test_prompt_is_compared_with_what_happened(render_clip):
    clip = render_clip("p.mp4", seed=23, seconds=1.5, camera=(CameraSegment("pan_right", 0, 2, 0.2),))
    asked_left = Source(prompt="Slow pan left across the market.")
    r = audit_clip(AuditTask(str(clip), source=asked_left))
    f = [x for x in r["findings"] if x["code"] == "quality.camera_mismatch"]
    assert f and f[0]["evidence"]["asked"][0]["motion"] == "pan_left"
    assert "pan_right" in f[0]["message"]
    asked_right = Source(prompt="The camera pans right across the market.")
    r = audit_clip(AuditTask(str(clip), source=asked_right))
    assert not [x for x in r["findings"] if x["code"] == "quality.camera_mismatch"]
    assert r["metrics"]["camera"]["agreement"] >= 0.9


def test_timed_request_static_then_pan(render_clip):
    clip = render_clip("t.mp4", seed=24, seconds=2.0,
                       camera=(CameraSegment("static", 0, 0.5), CameraSegment("pan_left", 0.5, 2.0, 0.25)))
    ok = audit_clip(AuditTask(str(clip), source=Source(prompt="Start static for 0.5 s, then pan left.")))
    assert not [x for x in ok["findings"] if x["code"] == "quality.camera_mismatch"], ok["metrics"]["camera"]
    bad = audit_clip(AuditTask(str(clip), source=Source(prompt="A locked-off shot; the camera does not move.")))
    assert [x for x in bad["findings"] if x["code"] == "quality.camera_mismatch"]


@pytest.mark.parametrize("prompt, expected", [
    ("Start static for 0.5 s, then a slow pan left.", [("static", 0.5), ("pan_left", None)]),
    ("Dolly in on the lighthouse for 2 seconds, then tilt up to the sky.", [("zoom_in", 2.0), ("tilt_up", None)]),
    ("The camera trucks right while the dog runs.", [("pan_right", None)]),
    ("Pull back slowly to reveal the city", [("zoom_out", None)]),
    ("Hold still for the first 1.5 seconds then zoom in.", [("static", 1.5), ("zoom_in", None)]),
    ("A cat sleeps on a sofa in the sun.", []),
])
def test_prompt_parsing(prompt, expected):
    assert [(r.motion, r.seconds) for r in parse_camera(prompt)] == expected


def test_expected_timeline_shares_the_rest():
    req = parse_camera("Start static for 1 s, then pan left, then tilt down.")
    assert expected_timeline(req, 5.0) == [(0.0, 1.0, "static"), (1.0, 3.0, "pan_left"), (3.0, 5.0, "tilt_down")]
