"""Small helpers on per-frame series shared by the metric detectors."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def curve(ts: Sequence[float], vs: Sequence[float], digits: int = 4) -> dict:
    """The contract's curve shape: ``{"t": [...], "v": [...]}`` (NaN becomes null)."""
    return {
        "t": [round(float(t), 3) for t in ts],
        "v": [None if (v is None or not math.isfinite(float(v))) else round(float(v), digits) for v in vs],
    }


def gaussian_lowpass(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smoothed ``x`` (along axis 0). The ends are padded by odd reflection, so a
    linear trend passes through unchanged (no edge dip that would look like a change)."""
    x = np.asarray(x, np.float64)
    if sigma <= 0 or len(x) < 3:
        return x.copy()
    r = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    n = len(x)
    r_eff = min(r, n - 1)
    head = 2 * x[0] - x[r_eff:0:-1]
    tail = 2 * x[-1] - x[-2:-r_eff - 2:-1]
    pad_extra = r - r_eff
    if pad_extra:
        head = np.concatenate([np.repeat(head[:1], pad_extra, axis=0), head])
        tail = np.concatenate([tail, np.repeat(tail[-1:], pad_extra, axis=0)])
    xp = np.concatenate([head, x, tail])
    if xp.ndim == 1:
        return np.convolve(xp, k, mode="valid")
    return np.stack([np.convolve(xp[:, j], k, mode="valid") for j in range(xp.shape[1])], axis=1)


def sigma_for_cutoff(cutoff_hz: float, fps: float) -> float:
    """Gaussian sigma (in frames) whose response is one half at ``cutoff_hz``."""
    return math.sqrt(math.log(2)) / (2 * math.pi * cutoff_hz) * fps


def windowed_rms_peak(x: np.ndarray, window: int) -> tuple[float, int]:
    """Largest RMS of ``x`` over any ``window`` consecutive samples, and where that window starts."""
    x = np.asarray(x, np.float64)
    n = len(x)
    if n == 0:
        return 0.0, 0
    w = max(1, min(window, n))
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    ms = (c[w:] - c[:-w]) / w
    i = int(np.argmax(ms))
    return float(math.sqrt(max(ms[i], 0.0))), i


def ranges_from_mask(ts: Sequence[float], mask: Sequence[bool], frame_s: float) -> list[list[float]]:
    """Time ranges ``[start, end]`` (seconds) where ``mask`` is true, frame ``i`` covering
    ``[ts[i], ts[i] + frame_s)``."""
    out: list[list[float]] = []
    start = None
    for i, m in enumerate(mask):
        if m and start is None:
            start = ts[i]
        if not m and start is not None:
            out.append([round(start, 3), round(ts[i], 3)])
            start = None
    if start is not None and len(ts):
        out.append([round(start, 3), round(ts[-1] + frame_s, 3)])
    return out
