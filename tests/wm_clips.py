"""Clips built like the real Sora case, for the watermark tests: a picture (9:16 or 16:9) padded
with black bars into a larger frame, a mark pasted semi-transparent at a few places it jumps
between, over bright and dark content; optionally the mark blurred or inpainted away after.

Everything is generated here (in the caller's tmp_path): the scene from ``audit.synth``, the
mark from the package's shipped template or one the caller gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import av
import cv2
import numpy as np

from audit.synth import CameraSegment, ClipSpec, make_scene, render_frames
from audit.watermark.known import KNOWN, mark_path

# Where the mark sits, as fractions of the free space of the picture (x, y): top-left,
# top-right, mid-right, bottom-left, as the Sora app's mark does.
PLACES = ((0.05, 0.04), (0.95, 0.12), (0.95, 0.5), (0.05, 0.9))
BACKGROUND_BLUR = float(__import__("os").environ.get("WM_SOFT", "0"))


@dataclass
class JumpClip:
    path: str
    picture: tuple[int, int, int, int]             # x, y, w, h of the active picture (frame px)
    times: list[float] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int] | None] = field(default_factory=list)   # mark per frame
    jumps: list[float] = field(default_factory=list)                           # times it moved


def sora_mark() -> np.ndarray:
    return cv2.imread(str(mark_path(KNOWN["sora"])), cv2.IMREAD_UNCHANGED)


def content(w: int, h: int, t: float, seed: int, bright_top: bool = True, soft: float = BACKGROUND_BLUR) -> np.ndarray:
    """A nearly still shot (a 'talking head': a slow sway and a moving ellipse before a
    background softened by ``soft`` px of blur, as a lens's depth of field does) that is bright
    at the top and dark at the bottom, so marks land on both."""
    world = _world(w, h, seed, soft)
    dx = 6.0 * np.sin(2 * np.pi * t / 7.0)
    M = np.float32([[1, 0, -w / 2 + dx], [0, 1, -h / 2]])
    img = cv2.warpAffine(world, M, (w, h), borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
    ramp = np.linspace(1.3, 0.25, h, dtype=np.float32)[:, None, None]
    img *= ramp if bright_top else ramp[::-1]
    cx = w / 2 + 0.15 * w * np.sin(2 * np.pi * t / 3.0)
    cy = h * 0.55 + 0.05 * h * np.cos(2 * np.pi * t / 2.0)
    cv2.ellipse(img, (int(cx), int(cy)), (int(0.18 * w), int(0.12 * h)), 0, 0, 360, (70, 110, 170), -1,
                lineType=cv2.LINE_AA)
    rng = np.random.default_rng(int(t * 1000) + seed)
    img += rng.normal(0, 2.0, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


_WORLDS: dict = {}


def _world(w: int, h: int, seed: int, soft: float) -> np.ndarray:
    key = (w, h, seed, soft)
    if key not in _WORLDS:
        img = make_scene(w * 2, h * 2, seed)
        _WORLDS[key] = cv2.GaussianBlur(img, (0, 0), soft) if soft > 0 else img
    return _WORLDS[key]


def paste(img: np.ndarray, mark: np.ndarray, x: int, y: int, opacity: float) -> None:
    h, w = mark.shape[:2]
    a = mark[..., 3:4].astype(np.float32) / 255.0 * opacity
    roi = img[y:y + h, x:x + w].astype(np.float32)
    img[y:y + h, x:x + w] = np.clip(roi * (1 - a) + mark[..., :3].astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)


def remove(img: np.ndarray, box, how: str) -> None:
    """What watermark removers do: blur the mark's box, or inpaint it from around."""
    x, y, w, h = box
    p = 4
    x0, y0, x1, y1 = max(0, x - p), max(0, y - p), min(img.shape[1], x + w + p), min(img.shape[0], y + h + p)
    if how == "blur":
        img[y0:y1, x0:x1] = cv2.GaussianBlur(img[y0:y1, x0:x1], (0, 0), max(3.0, h / 4))
    else:
        mask = np.zeros(img.shape[:2], np.uint8)
        mask[y0:y1, x0:x1] = 255
        img[:] = cv2.inpaint(img, mask, 5, cv2.INPAINT_TELEA)


def jump_clip(path, *, frame=(1280, 704), picture=(396, 704), mark_h: int = 22, opacity: float = 1.0,
              mark: np.ndarray | None = None, hold_s: float = 2.5, seconds: float = 10.0, fps: int = 10,
              seed: int = 7, removed: str | None = None, places=PLACES, bright_top: bool = True,
              first_place: int = 0) -> JumpClip:
    """Write the clip (H.264) and return where the mark was on each frame. ``picture`` (w, h)
    is centred in ``frame`` (w, h) with black bars; ``mark`` (BGRA) defaults to the shipped
    Sora mark, scaled to ``mark_h`` px tall, with its own alpha times ``opacity``
    (the Sora mark's alpha peaks at 0.77). ``removed``: "blur" or "inpaint" the mark away."""
    FW, FH = frame
    pw, ph = picture
    px, py = (FW - pw) // 2 // 2 * 2, (FH - ph) // 2 // 2 * 2
    src = sora_mark() if mark is None else mark
    mw = int(round(src.shape[1] * mark_h / src.shape[0]))
    m = cv2.resize(src, (mw, mark_h), interpolation=cv2.INTER_AREA)
    out = JumpClip(str(path), (px, py, pw, ph))
    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=fps)
    s.width, s.height, s.pix_fmt = FW, FH, "yuv420p"
    s.time_base = Fraction(1, fps)
    s.options = {"crf": "22", "preset": "veryfast"}
    last = None
    for i in range(int(round(seconds * fps))):
        t = i / fps
        pic = content(pw, ph, t, seed, bright_top)
        k = (int(t // hold_s) + first_place) % len(places)
        fx, fy = places[k]
        x, y = int(round(fx * (pw - mw))), int(round(fy * (ph - mark_h)))
        paste(pic, m, x, y, opacity)
        if removed:
            remove(pic, (x, y, mw, mark_h), removed)
        img = np.zeros((FH, FW, 3), np.uint8)
        img[py:py + ph, px:px + pw] = pic
        out.times.append(t)
        out.boxes.append((px + x, py + y, mw, mark_h))
        if last is not None and last != k:
            out.jumps.append(t)
        last = k
        vf = av.VideoFrame.from_ndarray(img, format="bgr24")
        vf.pts, vf.time_base = i, Fraction(1, fps)
        for p in s.encode(vf):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    return out


def studio_mark(height: int = 64) -> np.ndarray:
    """A mark of our own that is neither the Sora mark nor the test suite's "SA" (BGRA): a
    triangle and the letters "VQ", white with a soft dark shadow, about 2.6:1."""
    s = 4
    H, W = height * s, int(round(height * 2.6)) * s
    a = np.zeros((H, W), np.uint8)
    tri = np.array([[int(0.08 * W), int(0.85 * H)], [int(0.2 * W), int(0.12 * H)], [int(0.32 * W), int(0.85 * H)]],
                   np.int32)
    cv2.polylines(a, [tri], True, 255, thickness=int(0.09 * H), lineType=cv2.LINE_AA)
    cv2.putText(a, "VQ", (int(0.4 * W), int(0.84 * H)), cv2.FONT_HERSHEY_SIMPLEX, H / 36.0, 255,
                thickness=int(H / 14), lineType=cv2.LINE_AA)
    shadow = cv2.GaussianBlur(cv2.dilate(a, np.ones((3 * s, 3 * s), np.uint8)), (0, 0), 2 * s)
    colour = np.where(a[..., None] > 0, 255, 20).astype(np.uint8).repeat(3, axis=2)
    alpha = np.maximum(a, (shadow * 0.5).astype(np.uint8))
    return cv2.resize(np.dstack([colour, alpha]), (W // s, H // s), interpolation=cv2.INTER_AREA)


def pan_clip(path, mark: np.ndarray | None, *, seed: int, size=(320, 180), seconds: float = 2.0, mark_h: int = 18,
             opacity: float = 0.6, places=((0.04, 0.06), (0.93, 0.5), (0.06, 0.88)), hold_s: float = 1.0,
             fps: int = 12) -> JumpClip:
    """A panning synthetic scene (``audit.synth``) with ``mark`` pasted at ``opacity``, jumping
    between ``places`` every ``hold_s``; no mark when ``mark`` is None."""
    W, H = size
    spec = ClipSpec(width=W, height=H, fps=fps, seconds=seconds, seed=seed, audio=False,
                    camera=(CameraSegment("pan_left", 0.0, seconds, 0.12),))
    m = None
    if mark is not None:
        mw = int(round(mark.shape[1] * mark_h / mark.shape[0]))
        m = cv2.resize(mark, (mw, mark_h), interpolation=cv2.INTER_AREA)
    out = JumpClip(str(path), (0, 0, W, H))
    with _Writer(path, W, H, fps) as wr:
        for t, img, _ in render_frames(spec):
            box = None
            if m is not None:
                fx, fy = places[int(t // hold_s) % len(places)]
                x, y = int(round(fx * (W - m.shape[1]))), int(round(fy * (H - mark_h)))
                paste(img, m, x, y, opacity)
                box = (x, y, m.shape[1], mark_h)
            out.times.append(t)
            out.boxes.append(box)
            wr.write(img)
    return out


class _Writer:
    """H.264 (yuv420p) writer of BGR frames at a fixed rate."""

    def __init__(self, path, W: int, H: int, fps: int, crf: int = 22):
        self.c = av.open(str(path), "w")
        self.s = self.c.add_stream("libx264", rate=fps)
        self.s.width, self.s.height, self.s.pix_fmt = W, H, "yuv420p"
        self.s.time_base = Fraction(1, fps)
        self.s.options = {"crf": str(crf), "preset": "veryfast"}
        self.fps, self.i = fps, 0

    def __enter__(self):
        return self

    def write(self, img: np.ndarray) -> None:
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
        vf.pts, vf.time_base = self.i, Fraction(1, self.fps)
        self.i += 1
        for p in self.s.encode(vf):
            self.c.mux(p)

    def __exit__(self, *exc) -> None:
        for p in self.s.encode():
            self.c.mux(p)
        self.c.close()
