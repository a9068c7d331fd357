#!/usr/bin/env python3
"""Artefacts injected on top of real footage, deterministic from a seed (issue 20 item 2).

Functions work on numpy BGR uint8 frames; :func:`inject_clip` streams a clip through one of them
and writes it with PyAV (libx264, CRF 18, yuv420p, the source's time base and timestamps, so a
variable-frame-rate source keeps its cadence). The CLI writes one injected clip:

    python benchmarks/realset/inject.py IN.mp4 OUT.mp4 --kind flicker --level 0.02 --seed 7

Kinds and what ``level`` means:

- ``flicker``: global flicker, luminance x (1 + a*s(t)), s in {-1, +1} switching after runs of
  1-3 frames (random); level = a (0.02 = 2 %).
- ``local_flicker``: the same gain inside a soft region (gaussian-feathered ellipse of ~25 % of
  the frame area, random place); level = a.
- ``drift``: a smooth random warp field (a low-resolution random field upsampled with cubic
  interpolation, its best-fit affine part removed so no camera move explains it) applied with
  cv2.remap, amplitude growing linearly from 0 on the first frame to w on the last; level = w,
  the largest displacement in pixels at 1280 px wide (scaled by width / 1280).
- ``jitter``: fields of the same kind at constant amplitude w whose sign or place (a new field)
  changes after runs of 1-3 frames; level = w as for drift.

The luminance gain multiplies B, G and R alike: luma is linear in them, so Y scales by the same
factor while hue and saturation stay (clipped at 255 like a real exposure change).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clipio import Encoder, count_frames, read_frames, stream_info  # noqa: E402

KINDS = ("flicker", "local_flicker", "drift", "jitter")
# The levels the benchmark runs (issue 20 item 2, issue 21 "Done when").
LEVELS = {
    "flicker": (0.01, 0.02, 0.04, 0.08),
    "local_flicker": (0.04, 0.08),
    "drift": (4.0, 8.0, 16.0, 32.0),
    "jitter": (4.0, 8.0, 16.0),
}
REFERENCE_WIDTH = 1280  # warp amplitudes are defined at this width
LOCAL_AREA = 0.25       # share of the frame the local flicker region covers
FIELD_GRID = (3, 4)     # rows, columns of the random field before upsampling: a few bumps


def level_name(kind: str, level: float) -> str:
    """Folder name of a kind/level: flicker-2pct, drift-8px."""
    if kind in ("flicker", "local_flicker"):
        return f"{kind}-{level * 100:g}pct"
    return f"{kind}-{level:g}px"


def sign_runs(n: int, rng: np.random.Generator, run: tuple[int, int] = (1, 3)) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame sign in {-1, +1} and run index, the sign flipping after runs of 1-3 frames."""
    signs = np.empty(n, np.float32)
    runs = np.empty(n, np.int32)
    s, i, k = float(rng.choice((-1.0, 1.0))), 0, 0
    while i < n:
        length = int(rng.integers(run[0], run[1] + 1))
        signs[i:i + length] = s
        runs[i:i + length] = k
        s, i, k = -s, i + length, k + 1
    return signs, runs


def apply_gain(frame: np.ndarray, gain: float | np.ndarray) -> np.ndarray:
    """Frame (BGR uint8) times a gain, scalar or (H, W) map, rounded and clipped to uint8."""
    g = gain if np.isscalar(gain) else np.asarray(gain, np.float32)[..., None]
    return np.clip(frame.astype(np.float32) * g + 0.5, 0, 255).astype(np.uint8)


def soft_region(h: int, w: int, rng: np.random.Generator, area: float = LOCAL_AREA) -> np.ndarray:
    """A (H, W) float32 mask in [0, 1]: an ellipse of ``area`` of the frame, feathered by a
    gaussian of ~1/8 its size, at a random place fully inside the frame."""
    aspect = float(rng.uniform(0.7, 1.4))
    ry = np.sqrt(area * h * w / np.pi / aspect)
    rx = ry * aspect
    ry, rx = min(ry, 0.48 * h), min(rx, 0.48 * w)
    cy = float(rng.uniform(ry, h - ry))
    cx = float(rng.uniform(rx, w - rx))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mask = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0).astype(np.float32)
    sigma = max(2.0, min(rx, ry) / 4.0)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def warp_field(h: int, w: int, rng: np.random.Generator, grid: tuple[int, int] = FIELD_GRID) -> np.ndarray:
    """A smooth displacement field (H, W, 2) float32 whose largest vector is 1 px long.

    A small random grid upsampled with cubic interpolation; the least-squares affine part is
    removed so the field is pure deformation (a translation, zoom or shear would be read as
    camera motion, not drift)."""
    small = rng.standard_normal((grid[0], grid[1], 2)).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    basis = np.stack([np.ones_like(xx), xx / w, yy / h], -1).reshape(-1, 3)
    flat = field.reshape(-1, 2)
    coef, *_ = np.linalg.lstsq(basis[::97], flat[::97], rcond=None)
    field = (flat - basis @ coef).reshape(h, w, 2)
    peak = float(np.sqrt((field ** 2).sum(-1)).max())
    return field / max(peak, 1e-6)


def remap(frame: np.ndarray, field: np.ndarray, amplitude: float) -> np.ndarray:
    """Frame resampled at (x, y) + amplitude * field (pixels), borders reflected."""
    if amplitude == 0.0:
        return frame
    h, w = frame.shape[:2]
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx = xx + amplitude * field[..., 0]
    my = yy + amplitude * field[..., 1]
    return cv2.remap(frame, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def scaled_px(level: float, width: int) -> float:
    """A displacement given at 1280 px wide, in pixels of a frame ``width`` wide."""
    return level * width / REFERENCE_WIDTH


@dataclass
class Injector:
    """Per-frame transform of one clip: ``injector(i, frame) -> frame``. Built by
    :func:`make_injector` from the clip's frame count and size; all randomness is drawn there."""

    fn: Callable[[int, np.ndarray], np.ndarray]
    amplitude: np.ndarray  # per-frame applied amplitude (gain fraction or pixels), for the record

    def __call__(self, i: int, frame: np.ndarray) -> np.ndarray:
        return self.fn(i, frame)


def make_injector(kind: str, level: float, n: int, h: int, w: int, seed: int) -> Injector:
    """The transform for ``kind`` at ``level`` on a clip of ``n`` frames of h x w pixels."""
    rng = np.random.default_rng([seed, KINDS.index(kind), int(round(level * 1000))])
    if kind == "flicker":
        signs, _ = sign_runs(n, rng)
        return Injector(lambda i, f: apply_gain(f, 1.0 + level * signs[i]), level * signs)
    if kind == "local_flicker":
        signs, _ = sign_runs(n, rng)
        mask = soft_region(h, w, rng)
        return Injector(lambda i, f: apply_gain(f, 1.0 + level * signs[i] * mask), level * signs)
    if kind == "drift":
        field = warp_field(h, w, rng)
        amp = scaled_px(level, w) * np.linspace(0.0, 1.0, n, dtype=np.float32) if n > 1 else np.zeros(n, np.float32)
        return Injector(lambda i, f: remap(f, field, float(amp[i])), amp)
    if kind == "jitter":
        signs, runs = sign_runs(n, rng)
        fields = [warp_field(h, w, rng)]
        which = np.zeros(n, np.int32)
        # at each run boundary the sign flips (already in signs) or, half the time, a new field
        # is drawn at a new place: geometry that conflicts between frames either way
        for k in range(1, int(runs.max()) + 1 if n else 0):
            if rng.random() < 0.5:
                fields.append(warp_field(h, w, rng))
            which[runs == k] = len(fields) - 1
        amp = scaled_px(level, w) * signs
        return Injector(lambda i, f: remap(f, fields[which[i]], float(amp[i])), amp)
    raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")


def write_frames(src: Path, out: Path, transform: Callable[[int, np.ndarray], np.ndarray], crf: int = 18) -> int:
    """Decode ``src``, pass each BGR frame through ``transform(i, frame)``, encode to ``out``
    (libx264, CRF ``crf``, yuv420p) with the source's time base and timestamps. Returns the
    frame count."""
    rate, tb, _, _ = stream_info(src)
    with Encoder(out, rate, tb, crf=crf) as enc:
        first = None
        for i, (img, pts, _) in enumerate(read_frames(src)):
            first = pts if first is None else first
            enc.write(transform(i, img), pts - first)
    return enc.count


def inject_clip(src: Path, out: Path, kind: str, level: float, seed: int = 0) -> Injector:
    """Write ``src`` with ``kind`` at ``level`` injected to ``out``; returns the injector used."""
    _, _, w, h = stream_info(src)
    inj = make_injector(kind, level, count_frames(src), h, w, seed)
    write_frames(src, out, inj)
    return inj


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--kind", choices=KINDS, required=True)
    ap.add_argument("--level", type=float, required=True,
                    help="flicker gain fraction (0.02 = 2 %%) or warp pixels at 1280 px wide")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    inj = inject_clip(a.src, a.out, a.kind, a.level, a.seed)
    print(f"{a.out}: {a.kind} {a.level:g}, {len(inj.amplitude)} frames, "
          f"max |amplitude| {float(np.abs(inj.amplitude).max()) if len(inj.amplitude) else 0:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
