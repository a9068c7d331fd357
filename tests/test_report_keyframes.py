"""Keyframe thumbnails: chosen by timestamp in the one decode pass, small, and placed so the
report can draw the watermark box on them."""

import base64

import cv2
import numpy as np

from audit.pipeline import AuditOptions, AuditTask, audit_clip
from audit.policy import load_policy
from audit.synth import MarkSpec, make_scene


def _decode(b64: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)


def test_first_middle_last_small_jpegs(render_clip):
    clip = render_clip("kf.mp4", seconds=2.0, fps=24.0, width=320, height=180, audio=False)
    kf = audit_clip(AuditTask(str(clip)))["keyframes"]
    assert [f["label"] for f in kf["frames"]] == ["first", "middle", "last"]
    ts = [f["t"] for f in kf["frames"]]
    assert ts[0] == 0.0 and abs(ts[1] - 1.0) <= 1 / 24 + 1e-3 and abs(ts[2] - (2.0 - 1 / 24)) <= 1e-3
    assert (kf["width"], kf["height"]) == (160, 90)
    assert (kf["display_width"], kf["display_height"]) == (320, 180)
    for f in kf["frames"]:
        img = _decode(f["jpeg_b64"])
        assert img.shape == (90, 160, 3)
        assert len(f["jpeg_b64"]) < 12_000  # ~160 px at quality 70: a few KB


def test_thumbnail_shows_the_frame_at_its_time(tmp_path):
    """A clip whose frames are a known image: the thumbnail matches it downscaled."""
    from audit.synth import ClipSpec, render

    info = render(ClipSpec(seed=7, width=320, height=180, seconds=1.0, audio=False), tmp_path / "c.mp4")
    kf = audit_clip(AuditTask(str(tmp_path / "c.mp4")))["keyframes"]
    first = _decode(kf["frames"][0]["jpeg_b64"]).astype(np.float32)
    ref = cv2.resize(make_scene(640, 360, 7), (320, 180), interpolation=cv2.INTER_AREA)
    # The scene is rendered from make_scene; the thumbnail must look like the clip, not like noise.
    other = cv2.resize(make_scene(640, 360, 99), (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert info.frames == 24
    assert first.std() > 10
    mine = np.abs(first - cv2.resize(ref, (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32)).mean()
    theirs = np.abs(first - other).mean()
    assert mine < theirs


def test_count_and_width_come_from_the_policy(render_clip, tmp_path):
    clip = render_clip("kf4.mp4", seconds=1.5, fps=20.0, audio=False)
    pol = tmp_path / "p.toml"
    pol.write_text("[keyframes]\ncount = 4\nwidth = 96\nquality = 50\n")
    opts = AuditOptions(policy=load_policy(pol))
    kf = audit_clip(AuditTask(str(clip), opts))["keyframes"]
    assert len(kf["frames"]) == 4
    assert kf["width"] == 96 and kf["height"] == 54
    ts = [f["t"] for f in kf["frames"]]
    assert ts == sorted(ts) and len(set(ts)) == 4


def test_declared_duration_longer_than_frames_still_gives_a_last_thumbnail(render_clip):
    """Targets come from the probed duration; if frames end early, the last one seen is used."""
    from audit.detectors.keyframes import KeyframesDetector
    from audit.media import Frame

    class Ctx:
        policy = load_policy()

        class media:  # noqa: N801 - a stand-in for MediaInfo
            duration_s, fps = 10.0, 10.0

    det = KeyframesDetector(Ctx)
    rng = np.random.default_rng(0)
    for i in range(30):  # 3 s of frames, 10 s declared
        det.feed(Frame(i, i / 10, rng.integers(0, 255, (90, 160, 3), np.uint8), 2.0))
    data = det.finish().data
    assert [f["label"] for f in data["frames"]] == ["first", "last"]
    assert data["frames"][-1]["t"] == 2.9
    assert data["display_width"] == 320


def test_no_frame_kept_beyond_one(render_clip):
    """Memory must not grow with clip length: only one unencoded frame is ever held."""
    from audit.detectors.keyframes import KeyframesDetector
    from audit.media import Frame

    class Ctx:
        policy = load_policy()

        class media:  # noqa: N801
            duration_s, fps = 100.0, 10.0

    det = KeyframesDetector(Ctx)
    for i in range(900):  # frames end at 89.9 s of a declared 100 s
        det.feed(Frame(i, i / 10, np.zeros((18, 32, 3), np.uint8), 1.0))
        assert det.held is None or det.held.index == i  # at most the latest frame is held
    assert len(det.frames) == 2  # first, middle; "last" only once decoding ends
    assert len(det.finish().data["frames"]) == 3


def test_marked_clip_track_box_lands_on_the_mark(render_clip):
    """Scaling from display px to thumbnail px: the synthetic mark's true box, drawn with the
    report's scaling, covers the bright mark pixels in the thumbnail."""
    from audit.outputs._clipview import keyframes_view
    from audit.synth import ClipSpec, render

    spec = ClipSpec(seed=5, seconds=1.0, audio=False, mark=MarkSpec(opacity=1.0, hold_s=0.5))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        info = render(spec, Path(d) / "m.mp4")
        clip = audit_clip(AuditTask(str(Path(d) / "m.mp4")))
    track = [list(b) for b in info.mark_boxes if b]
    views = keyframes_view(clip["keyframes"], {"track": track}, 24.0)
    assert all(v["box"] for v in views)
    first = views[0]["box"]
    t0 = track[0]
    assert abs(first["x"] - t0[1] / 2) < 1 and abs(first["w"] - t0[3] / 2) < 1
