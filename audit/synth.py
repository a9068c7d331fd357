"""Synthetic clips with known ground truth: a still image animated by a camera path, with
optional flicker, exposure drift, local warp, a moving semi-transparent mark, black, frozen and
cut segments, and an audio track. Used by the fixtures script, the tests, the benchmarks and the
API emulator (which renders a real MP4 from the request's reference image).

Camera conventions follow docs/contract.md (the camera moves, not the content): ``pan_left`` turns the
camera left so content slides right; ``tilt_up`` makes content slide down; ``zoom_in`` makes
content grow; ``roll`` turns the frame (positive = counter-clockwise camera roll).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import av
import cv2
import numpy as np

CAMERA_KINDS = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "roll")


@dataclass(frozen=True)
class CameraSegment:
    """Camera move ``kind`` from ``t0`` to ``t1`` seconds at ``rate`` (units per second):
    pan/tilt in output-frame widths (pan) or heights (tilt) per second, zoom as relative scale
    change per second (0.1 = +10 %/s), roll in degrees per second."""

    kind: str
    t0: float
    t1: float
    rate: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in CAMERA_KINDS:
            raise ValueError(f"unknown camera kind {self.kind!r}")


@dataclass(frozen=True)
class MarkSpec:
    """A visible mark alpha-blended over the frames.

    ``positions``: (x, y) of the mark's top-left corner as fractions of the frame; the mark
    holds each for ``hold_s`` seconds, cycling (Sora-style jumps). ``height`` is a fraction of
    the frame's short side. ``gaps``: time ranges (seconds) with the mark removed.
    """

    opacity: float = 0.5
    height: float = 0.09
    positions: tuple[tuple[float, float], ...] = ((0.03, 0.08), (0.72, 0.45), (0.04, 0.74))
    hold_s: float = 1.0
    gaps: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class ClipSpec:
    width: int = 320
    height: int = 180
    fps: float = 24.0
    seconds: float = 2.0
    camera: tuple[CameraSegment, ...] = ()
    flicker_amp: float = 0.0          # relative brightness amplitude (0.05 = +-5 %)
    flicker_hz: float | None = None   # None: alternate every frame (fps / 2)
    exposure_ramp: float = 0.0        # relative brightness change from start to end (slow, not flicker)
    warp_amp: float = 0.0             # peak local displacement at the end of the clip, in pixels
    mark: MarkSpec | None = None
    black: tuple[tuple[float, float], ...] = ()
    freeze: tuple[tuple[float, float], ...] = ()
    cut_at: float | None = None       # switch to another scene at this time (a hard cut)
    audio: bool = True
    audio_rate: int = 48000
    noise: float = 1.0                # sensor-like Gaussian noise, in 8-bit levels
    seed: int = 0
    crf: int = 26
    rotation: int = 0                 # display-matrix rotation written to the container
    vfr: bool = False                 # jitter presentation times (variable frame rate)
    codec: str = "libx264"


@dataclass
class RenderInfo:
    path: Path
    frames: int
    times: list[float] = field(default_factory=list)
    mark_boxes: list[tuple[float, int, int, int, int] | None] = field(default_factory=list)


def make_scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A deterministic textured still (BGR uint8): gradient sky, shapes, edges and corners that
    feature trackers can lock on to."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            90 + 80 * xx / width,
            110 + 60 * yy / height,
            140 + 50 * np.sin(xx / width * 3 + seed),
        ],
        axis=-1,
    )
    img = np.clip(base, 0, 255).astype(np.uint8)
    n = max(30, width * height // 2500)
    for _ in range(n):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(max(3, min(width, height) // 60), max(6, min(width, height) // 10)))
        shape = rng.integers(0, 3)
        if shape == 0:
            cv2.circle(img, (x, y), r, color, -1, lineType=cv2.LINE_AA)
        elif shape == 1:
            cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r // 2), color, -1)
        else:
            pts = rng.integers(-r, r, (5, 2)) + np.array([x, y])
            cv2.fillPoly(img, [pts.astype(np.int32)], color, lineType=cv2.LINE_AA)
    # fine texture so that optical flow has something to hold on plain areas
    tex = rng.normal(0, 6, (height // 4 + 1, width // 4 + 1, 1)).astype(np.float32)
    tex = cv2.resize(tex, (width, height), interpolation=cv2.INTER_CUBIC)[..., None]
    return np.clip(img.astype(np.float32) + tex, 0, 255).astype(np.uint8)


MARK_MASTER_PX = 64


def make_mark(height_px: int) -> np.ndarray:
    """Our own mark (BGRA uint8): a rounded badge with a ring-and-tick glyph and the letters
    "SA". About 2.8:1 like the marks generators use; not any company's logo.

    Like a real generator's overlay, every size is the one master bitmap (``MARK_MASTER_PX``
    high, the committed template) resampled, not a fresh drawing whose line widths would
    change with the size."""
    h = max(12, int(height_px))
    w = int(round(h * 2.8))
    master = _draw_mark(MARK_MASTER_PX)
    if h == MARK_MASTER_PX:
        return master
    interp = cv2.INTER_AREA if h < MARK_MASTER_PX else cv2.INTER_LINEAR
    return cv2.resize(master, (w, h), interpolation=interp)


def _draw_mark(h: int) -> np.ndarray:
    w = int(round(h * 2.8))
    s = 4  # draw large, then downsample for clean antialiased edges
    H, W = h * s, w * s
    alpha = np.zeros((H, W), np.uint8)
    color = np.zeros((H, W, 3), np.uint8)
    r = H // 2 - 2 * s
    cx, cy = H // 2 + s, H // 2
    cv2.circle(alpha, (cx, cy), r, 255, thickness=max(2, int(0.16 * r)), lineType=cv2.LINE_AA)
    tick = np.array([[cx - r // 2, cy], [cx - r // 8, cy + r // 2], [cx + r // 2, cy - r // 2]], np.int32)
    cv2.polylines(alpha, [tick], False, 255, thickness=max(2, int(0.14 * r)), lineType=cv2.LINE_AA)
    font_scale = H / 34.0
    cv2.putText(alpha, "SA", (cx + r + 3 * s, cy + int(0.36 * H)), cv2.FONT_HERSHEY_DUPLEX, font_scale, 255,
                thickness=max(2, int(font_scale * 2.2)), lineType=cv2.LINE_AA)
    # a dark outline keeps the mark visible on bright content, as real overlays do
    outline = cv2.dilate(alpha, np.ones((2 * s + 1, 2 * s + 1), np.uint8))
    color[outline > 0] = (40, 40, 40)
    color[alpha > 0] = (250, 250, 250)
    a = np.maximum(alpha, (outline * 0.6).astype(np.uint8))
    bgra = np.dstack([color, a])
    return cv2.resize(bgra, (w, h), interpolation=cv2.INTER_AREA)


def _camera_state(segments: Sequence[CameraSegment], t: float):
    """Cumulative (dx in widths, dy in heights, log-scale, angle in degrees) at time t."""
    dx = dy = logs = ang = 0.0
    for seg in segments:
        dt = max(0.0, min(t, seg.t1) - seg.t0)
        if dt <= 0:
            continue
        k, r = seg.kind, seg.rate
        if k == "pan_left":
            dx -= r * dt
        elif k == "pan_right":
            dx += r * dt
        elif k == "tilt_up":
            dy -= r * dt
        elif k == "tilt_down":
            dy += r * dt
        elif k == "zoom_in":
            logs += math.log1p(r) * dt
        elif k == "zoom_out":
            logs -= math.log1p(r) * dt
        elif k == "roll":
            ang += r * dt
    return dx, dy, logs, ang


def _camera_frame(world: np.ndarray, spec: ClipSpec, t: float) -> np.ndarray:
    """The view at time t: the camera looks at the world's centre moved by the path."""
    W, H = spec.width, spec.height
    wh, ww = world.shape[:2]
    dx, dy, logs, ang = _camera_state(spec.camera, t)
    cx = ww / 2 + dx * W
    cy = wh / 2 + dy * H
    # rotate/scale about the camera centre, then move the centre to the frame centre
    M = cv2.getRotationMatrix2D((cx, cy), -ang, math.exp(logs))
    M[0, 2] += W / 2 - cx
    M[1, 2] += H / 2 - cy
    return cv2.warpAffine(world, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def _warp_field(spec: ClipSpec, t: float, cache: dict) -> tuple[np.ndarray, np.ndarray] | None:
    if spec.warp_amp <= 0:
        return None
    W, H = spec.width, spec.height
    if "grid" not in cache:
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        # a bulge in the middle third: objects there swell and bend while the rest stays put
        cx, cy, sig = W * 0.5, H * 0.5, min(W, H) * 0.22
        bump = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sig * sig)))
        cache["grid"] = (xx, yy, bump, cx, cy, sig)
    xx, yy, bump, cx, cy, sig = cache["grid"]
    a = spec.warp_amp * (t / max(spec.seconds, 1e-6))
    mx = xx - a * bump * (xx - cx) / sig
    my = yy - a * bump * np.sin((yy - cy) / sig * 2.0)
    return mx, my


def _in(ranges, t: float) -> bool:
    return any(a <= t < b for a, b in ranges)


def mark_box(spec: ClipSpec, mark_shape: tuple[int, int], t: float) -> tuple[int, int, int, int] | None:
    """Where the mark is at time t (x, y, w, h in output pixels), or None when it is absent."""
    m = spec.mark
    if m is None or _in(m.gaps, t) or _in(spec.black, t):
        return None
    k = int(t // m.hold_s) % len(m.positions)
    fx, fy = m.positions[k]
    h, w = mark_shape
    x = int(round(fx * spec.width))
    y = int(round(fy * spec.height))
    x = min(max(0, x), spec.width - w)
    y = min(max(0, y), spec.height - h)
    return x, y, w, h


def _blend(img: np.ndarray, mark: np.ndarray, box, opacity: float) -> None:
    x, y, w, h = box
    a = mark[..., 3:4].astype(np.float32) / 255.0 * opacity
    roi = img[y:y + h, x:x + w].astype(np.float32)
    img[y:y + h, x:x + w] = np.clip(roi * (1 - a) + mark[..., :3].astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)


def frame_times(spec: ClipSpec) -> list[float]:
    n = max(1, int(round(spec.seconds * spec.fps)))
    times = [i / spec.fps for i in range(n)]
    if spec.vfr:
        rng = np.random.default_rng(spec.seed + 7)
        times = [0.0] + [t + float(rng.uniform(-0.35, 0.35)) / spec.fps for t in times[1:]]
    return times


def render_frames(spec: ClipSpec, reference: np.ndarray | None = None):
    """Yield (t, BGR frame, mark box or None) for every frame of the clip."""
    rng = np.random.default_rng(spec.seed + 1)
    W, H = spec.width, spec.height
    if reference is None:
        world = make_scene(W * 2, H * 2, spec.seed)
    else:
        world = cv2.resize(reference, (W, H), interpolation=cv2.INTER_AREA)
    other = make_scene(W * 2, H * 2, spec.seed + 101)
    mark = make_mark(int(round(spec.mark.height * min(W, H)))) if spec.mark else None
    if mark is not None and (mark.shape[1] > W or mark.shape[0] > H):
        mark = cv2.resize(mark, (min(W, mark.shape[1]), min(H, mark.shape[0])), interpolation=cv2.INTER_AREA)
    cache: dict = {}
    prev = None
    for t in frame_times(spec):
        if prev is not None and _in(spec.freeze, t):
            img = prev.copy()
        else:
            scene = other if spec.cut_at is not None and t >= spec.cut_at else world
            img = _camera_frame(scene, spec, t)
            fld = _warp_field(spec, t, cache)
            if fld is not None:
                img = cv2.remap(img, fld[0], fld[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
            gain = 1.0 + spec.exposure_ramp * (t / max(spec.seconds, 1e-6))
            if spec.flicker_amp:
                if spec.flicker_hz is None:
                    gain *= 1.0 + spec.flicker_amp * (1 if int(round(t * spec.fps)) % 2 else -1)
                else:
                    gain *= 1.0 + spec.flicker_amp * math.sin(2 * math.pi * spec.flicker_hz * t)
            f = img.astype(np.float32) * gain
            if spec.noise:
                f += rng.normal(0, spec.noise, f.shape).astype(np.float32)
            img = np.clip(f + 0.5, 0, 255).astype(np.uint8)
            if _in(spec.black, t):
                img = np.zeros_like(img)
            prev = img
        box = mark_box(spec, mark.shape[:2], t) if mark is not None else None
        out = img
        if box is not None:
            out = img.copy()
            _blend(out, mark, box, spec.mark.opacity)
        yield t, out, box


def render(spec: ClipSpec, path: str | Path, reference: np.ndarray | None = None) -> RenderInfo:
    """Encode the clip to ``path`` (MP4/MOV by extension) and return its ground truth."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = RenderInfo(path, 0)
    rate = Fraction(spec.fps).limit_denominator(1001)
    tb = Fraction(1, 90000) if spec.vfr else 1 / rate
    with av.open(str(path), mode="w") as c:
        vs = c.add_stream(spec.codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = spec.width, spec.height, "yuv420p"
        vs.time_base = tb
        vs.codec_context.time_base = tb  # or the encoder rounds jittered times back to 1/fps
        if spec.codec in ("libx264", "libx265"):
            vs.options = {"crf": str(spec.crf), "preset": "veryfast", "g": str(int(spec.fps * 2))}
        if spec.rotation:
            vs.set_display_rotation(spec.rotation)
        aus = None
        if spec.audio:
            aus = c.add_stream("aac", rate=spec.audio_rate)
            aus.layout = "stereo"
        for t, img, box in render_frames(spec, reference):
            vf = av.VideoFrame.from_ndarray(img, format="bgr24")
            vf.pts = int(round(t / tb))
            vf.time_base = tb
            for pkt in vs.encode(vf):
                c.mux(pkt)
            info.times.append(t)
            info.mark_boxes.append((t, *box) if box else None)
            info.frames += 1
        for pkt in vs.encode():
            c.mux(pkt)
        if aus is not None:
            _write_audio(c, aus, spec)
    return info


def _write_audio(c, aus, spec: ClipSpec) -> None:
    n_total = int(spec.seconds * spec.audio_rate)
    chunk = 1024
    t0 = 0
    while t0 < n_total:
        n = min(chunk, n_total - t0)
        tt = (np.arange(t0, t0 + n) / spec.audio_rate).astype(np.float32)
        tone = (0.1 * np.sin(2 * np.pi * 220.0 * tt)).astype(np.float32)
        af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        af.sample_rate = spec.audio_rate
        af.pts = t0
        for pkt in aus.encode(af):
            c.mux(pkt)
        t0 += n
    for pkt in aus.encode():
        c.mux(pkt)


def reference_frame(spec: ClipSpec, reference: np.ndarray | None = None) -> np.ndarray:
    """The first frame without mark, flicker or noise: the still an image-to-video clip starts from."""
    W, H = spec.width, spec.height
    world = make_scene(W * 2, H * 2, spec.seed) if reference is None else cv2.resize(reference, (W, H))
    return _camera_frame(world, spec, 0.0)


def remux(src: str | Path, dst: str | Path, *, format: str | None = None, options: dict | None = None,
          until_s: float | None = None) -> Path:
    """Copy the video stream of ``src`` into ``dst`` without re-encoding (a stream copy), e.g. as
    fragmented MP4 (``options={"movflags": "frag_keyframe+empty_moov"}``) or MOV; ``until_s`` stops
    at the first packet at or after that time (a trimmed clip). Packets without a dts are skipped."""
    with av.open(str(src)) as i, av.open(str(dst), "w", format=format, options=options or {}) as o:
        vin = i.streams.video[0]
        vout = o.add_stream_from_template(vin)
        for pkt in i.demux(vin):
            if pkt.dts is None:
                continue
            if until_s is not None and pkt.pts is not None and float(pkt.pts * vin.time_base) >= until_s:
                break
            pkt.stream = vout
            o.mux(pkt)
    return Path(dst)
