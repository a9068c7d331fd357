"""The shipped Sora mark found out of the box on clips built like the real case: a 9:16 picture
pillarboxed into 1280x704 (and a 16:9 one letterboxed into 1080x1920), the mark 20-24 px tall
at alpha 0.6-0.8, jumping between four places every 2.5 s over bright and dark content; and
not found once a remover blurred or inpainted it away (tests/wm_clips.py builds them)."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest

from audit import pipeline
from audit.pipeline import AuditOptions, AuditTask, audit_clip
from audit.watermark.active import ActivePicture
from audit.watermark.detector import WatermarkDetector

from wm_clips import jump_clip

# name -> jump_clip arguments. opacity scales the mark's own alpha (peak 0.77): 1.0 -> 0.77,
# 0.8 -> 0.62.
CASES = {
    "pillarbox": dict(frame=(1280, 704), picture=(396, 704), mark_h=22, opacity=1.0),
    "pillarbox_dark_top": dict(frame=(1280, 704), picture=(396, 704), mark_h=24, opacity=0.8, bright_top=False,
                               seed=9),
    "letterbox": dict(frame=(1080, 1920), picture=(1080, 608), mark_h=20, opacity=0.8),
}
SECONDS = 8.6   # the four places: 0-2.5, 2.5-5, 5-7.5, 7.5-8.6 s


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("sora")
    cache = {}

    def get(name: str, removed: str | None = None):
        key = (name, removed)
        if key not in cache:
            info = jump_clip(root / f"{name}_{removed}.mp4", seconds=SECONDS, removed=removed, **CASES[name])
            with patch.object(pipeline, "registry", lambda: [WatermarkDetector]):
                cache[key] = (info, audit_clip(AuditTask(info.path, AuditOptions())))
        return cache[key]

    return get


def _near(box, truth, tol) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(box, truth))


@pytest.mark.parametrize("name", list(CASES))
def test_sora_mark_found_out_of_the_box_inside_the_bars(made, name):
    info, r = made(name)
    w = r["watermark"]
    assert w["method"] == "template" and w["templates"] == []   # nothing given: the shipped mark
    assert w["present"] is True and w["mark"] == "sora"
    assert w["coverage"] >= 0.9, (w["coverage"], w["gaps"])
    # the picture inside the bars, in displayed px
    assert _near(r["media"]["active_box"], info.picture, 4), (r["media"]["active_box"], info.picture)
    # every sighting where the mark was (boxes in displayed px)
    tol = 3
    for t, *box in w["track"]:
        i = max(j for j, tt in enumerate(info.times) if tt <= t + 1e-6)
        assert _near(box, info.boxes[i], tol), (t, box, info.boxes[i])
    # every jump: the new place is in the track within 0.5 s
    assert len(info.jumps) == 3
    for tj in info.jumps:
        new = info.boxes[info.times.index(tj)]
        at = [t for t, *box in w["track"] if t >= tj - 1e-6 and _near(box, new, tol)]
        assert at and min(at) <= tj + 0.5, (tj, at[:3])
    assert [f["code"] for f in r["findings"] if f["category"] == "watermark"] == []


@pytest.mark.parametrize("name, removed", [("pillarbox", "blur"), ("pillarbox", "inpaint"),
                                           ("letterbox", "blur"), ("letterbox", "inpaint")])
def test_removed_mark_is_absent(made, name, removed):
    """What removers leave (a smudge, an inpainted patch) is not the mark."""
    _, r = made(name, removed)
    w = r["watermark"]
    assert w["present"] is False and w["track"] == [] and w["mark"] is None, w["track"][:3]
    assert w["best_score"] < 0.64


def test_active_picture_bars():
    """Bars are found at the frame's edges (black, or one flat colour on both sides), only
    where they stay flat over the clip; a plain sky at the top is not a bar."""
    rng = np.random.default_rng(1)

    def frame(fill_top=None):
        img = np.zeros((180, 320), np.uint8)
        img[:, 60:260] = rng.integers(30, 220, (180, 200))
        if fill_top is not None:
            img[:20, 60:260] = fill_top
        return img

    ap = ActivePicture()
    for _ in range(3):
        box = ap.update(frame())
    assert box == (60, 0, 200, 180)
    grey = np.full((180, 320), 128, np.uint8)   # grey pillars, same level both sides
    grey[:, 40:280] = rng.integers(0, 255, (180, 240))
    assert ActivePicture().update(grey) == (40, 0, 240, 180)
    sky = rng.integers(0, 255, (180, 320)).astype(np.uint8)
    sky[:30] = 200                               # bright and flat, nothing like it below
    assert ActivePicture().update(sky) == (0, 0, 320, 180)
    ap = ActivePicture()
    ap.update(np.zeros((180, 320), np.uint8))    # a black frame says nothing
    assert ap.update(frame()) == (60, 0, 200, 180)
    # content reaching into a presumed bar later: it was picture
    later = frame()
    later[:, 20:60] = rng.integers(30, 220, (180, 40))
    assert ap.update(later) == (20, 0, 240, 180)


def _with_graphics(src, dst, pillarbox: bool = False) -> None:
    """A real clip with a broadcaster's graphics burnt in: a logo that never moves, a news ticker
    scrolling along the bottom, subtitles that change every second (optionally pillarboxed)."""
    import av
    import cv2

    from wm_clips import _Writer

    frames = [f.to_ndarray(format="bgr24") for f in av.open(str(src)).decode(video=0)]
    H, W = frames[0].shape[:2]
    FW = W * 2 if pillarbox else W
    words = ["Markets open higher", "Storm warning for the coast", "Local team wins final", "Traffic eases"]
    with _Writer(dst, FW, H, 10) as wr:
        for i, img in enumerate(frames[::max(1, len(frames) // 40)]):
            img = img.copy()
            cv2.rectangle(img, (W - 70, 8), (W - 10, 34), (30, 30, 200), -1)              # the logo
            cv2.putText(img, "CH7", (W - 64, 29), cv2.FONT_HERSHEY_DUPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
            cv2.rectangle(img, (0, H - 26), (W, H), (20, 20, 20), -1)                       # the ticker
            cv2.putText(img, "  +++  ".join(words) * 2, (W - 9 * i, H - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        (255, 255, 255), 1, cv2.LINE_AA)
            sub = words[(i // 10) % len(words)]                                             # subtitles
            cv2.putText(img, sub, (20, H - 40), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 4, cv2.LINE_AA)
            cv2.putText(img, sub, (20, H - 40), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
            out = np.zeros((H, FW, 3), np.uint8)
            out[:, (FW - W) // 2:(FW - W) // 2 + W] = img
            wr.write(out)


@pytest.mark.parametrize("name, pillarbox", [("person_static", False), ("pool_handheld", False),
                                             ("cut_person_bottles", True)])
def test_no_sora_mark_on_real_footage_with_logo_ticker_and_subtitles(tmp_path, name, pillarbox):
    from conftest import FIXTURES

    dst = tmp_path / f"{name}.mp4"
    _with_graphics(FIXTURES / "real" / f"{name}.mp4", dst, pillarbox)
    with patch.object(pipeline, "registry", lambda: [WatermarkDetector]):
        r = audit_clip(AuditTask(str(dst), AuditOptions()))
    w = r["watermark"]
    assert w["known"] == ["sora"] and w["mark"] is None
    assert not any(f["code"] == "provenance.stripped_suspected" for f in r["findings"])
    assert w["method"] != "template" or w["present"] is False
