"""Black frames, frozen runs, hard cuts and conformance, each with time ranges."""

from __future__ import annotations


from audit.pipeline import AuditTask, audit_clip
from audit.source import Source
from audit.synth import CameraSegment

PAN = (CameraSegment("pan_left", 0, 3, 0.15),)


def _codes(r):
    return {f["code"]: f for f in r["findings"]}


def test_black_frozen_and_cut_with_ranges(render_clip):
    r = audit_clip(AuditTask(str(render_clip("t.mp4", seed=41, seconds=3.0, camera=PAN,
                                             black=((0.5, 1.0),), freeze=((1.5, 2.0),), cut_at=2.5))))
    tech, codes = r["metrics"]["technical"], _codes(r)
    (b0, b1), = tech["black_ranges"]
    assert abs(b0 - 0.5) <= 0.05 and abs(b1 - 1.0) <= 0.05
    (f0, f1), = tech["frozen_ranges"]
    assert abs(f0 - 1.5) <= 0.1 and abs(f1 - 2.0) <= 0.1
    assert [round(c["t"], 1) for c in tech["cuts"]] == [2.5]
    assert {"quality.black_frames", "quality.frozen", "quality.cut"} <= set(codes)
    assert codes["quality.black_frames"]["evidence"]["ranges"] == tech["black_ranges"]


def test_clean_moving_clip_has_no_technical_finding(render_clip):
    r = audit_clip(AuditTask(str(render_clip("c.mp4", seed=42, seconds=2.0, camera=PAN))))
    assert not [c for c in _codes(r) if c.split(".")[1] in ("black_frames", "frozen", "cut", "still")]


def test_all_identical_frames_is_a_still_not_frozen(render_clip):
    r = audit_clip(AuditTask(str(render_clip("s.mp4", seed=43, seconds=1.0, noise=0.0))))
    codes = _codes(r)
    assert "quality.frozen" not in codes
    assert codes["quality.still"]["severity"] == "info"


def test_conformance_against_the_request(render_clip):
    clip = render_clip("conf.mp4", seed=44, seconds=2.0, width=320, height=180, audio=False)
    asked = Source(seconds=4, size="1280x720", fps=24, audio=True)
    r = audit_clip(AuditTask(str(clip), source=asked))
    codes = _codes(r)
    assert {"conformance.duration", "conformance.size", "conformance.audio"} <= set(codes)
    assert "conformance.fps" not in codes
    assert codes["conformance.size"]["evidence"] == {"requested": "1280x720", "measured": "320x180"}
    ok = audit_clip(AuditTask(str(clip), source=Source(seconds=2, size="320x180", audio=False)))
    assert not [c for c in _codes(ok) if c.startswith("conformance.")]
    assert ok["conformance"]["ok"] is True
    assert audit_clip(AuditTask(str(clip)))["conformance"] is None  # nothing requested, nothing judged


def test_rotated_clip_is_compared_as_displayed(render_clip):
    clip = render_clip("rot.mp4", seed=45, seconds=1.0, width=320, height=180, rotation=90)
    r = audit_clip(AuditTask(str(clip), source=Source(size="180x320")))
    assert "conformance.size" not in _codes(r), r["conformance"]
