"""The active picture: the part of the frame inside letterbox or pillarbox bars.

A 9:16 clip re-hosted in a 16:9 frame (or the other way round) is padded with bars: rows or
columns that hold one level (black, or a flat colour) in every frame. A mark the generator
drew sits inside the picture, and its size is a share of the *picture*, not of the padded
frame; so the watermark search runs within the active picture, with sizes relative to it.

A row or column is a bar when, over every informative frame seen so far, all its pixels stay
within ``tolerance`` grey levels of each other, and it is one of a run of such lines starting
at the frame's edge. A run counts as a bar when it is at least ``min_share`` of the frame and
its level is dark (at most ``dark_level``) or matches the bar opposite it (a padding colour is
used on both sides): a plain sky at the top of a picture is flat for a while, but it is rarely
black and rarely matched by the bottom rows. Frames that are flat all over (a fade to black)
say nothing about bars and are skipped. The box only grows as the clip goes on (content that
reaches into a presumed bar shows it was picture).
"""

from __future__ import annotations

import numpy as np

# Near-black: a bar of this level or darker needs no matching bar opposite it.
DARK_LEVEL = 40


class ActivePicture:
    """Feed grey frames (same size, in time order); ``box`` is the active picture so far as
    (x, y, w, h) in those frames' pixels (the whole frame until bars are seen)."""

    def __init__(self, tolerance: float = 14.0, min_share: float = 0.02):
        self.tolerance = float(tolerance)
        self.min_share = float(min_share)
        self._lo = None   # per axis (columns, rows): running min / max over frames of each line's pixels
        self._hi = None
        self._runs = None  # per axis: the runs of flat lines from either edge (lines further in stay as they are)
        self.shape: tuple[int, int] | None = None
        self.box: tuple[int, int, int, int] | None = None

    def update(self, gray: np.ndarray) -> tuple[int, int, int, int]:
        """Take one frame; return the active picture box (x, y, w, h) after it."""
        H, W = gray.shape
        if self.shape != (H, W):
            self.shape, self._lo, self._hi, self._runs = (H, W), None, None, None
            self.box = (0, 0, W, H)
        if float(gray.max()) - float(gray.min()) <= self.tolerance:
            return self.box   # flat all over: a black or faded frame says nothing about bars
        if self._lo is None:
            # per column (axis 0) and per row (axis 1): the line's darkest and brightest pixel
            self._lo = (gray.min(axis=0), gray.min(axis=1))
            self._hi = (gray.max(axis=0), gray.max(axis=1))
        else:
            # A line that is not flat never is again, and a bar is a run of flat lines from
            # the edge: only the lines of those runs can change the box (each run ends at a
            # line that is not flat). A frame without bars costs its extremes only.
            for axis, (a, b) in enumerate(self._runs):
                n = self._lo[axis].size
                for part in ((slice(0, a),) if a + b >= n else (slice(0, a), slice(n - b, n))):
                    if part.stop > part.start:
                        lines = gray[:, part] if axis == 0 else gray[part]
                        lo, hi = self._lo[axis][part], self._hi[axis][part]
                        np.minimum(lo, lines.min(axis=axis), out=lo)
                        np.maximum(hi, lines.max(axis=axis), out=hi)
        self.box = self._box()
        return self.box

    def _box(self) -> tuple[int, int, int, int]:
        H, W = self.shape
        self._runs = (self._flat_runs(self._lo[0], self._hi[0]), self._flat_runs(self._lo[1], self._hi[1]))
        cols = self._bars(self._lo[0], self._hi[0], *self._runs[0])
        rows = self._bars(self._lo[1], self._hi[1], *self._runs[1])
        (left, right), (top, bottom) = cols, rows
        return left, top, W - left - right, H - top - bottom

    def _flat_runs(self, lo: np.ndarray, hi: np.ndarray) -> tuple[int, int]:
        """Lengths of the runs of flat lines (within ``tolerance`` over every frame) from the
        start and from the end of one axis."""
        n = lo.size
        flat = (hi.astype(np.int16) - lo.astype(np.int16)) <= self.tolerance
        return tuple(int(np.argmin(seq)) if not seq.all() else n for seq in (flat, flat[::-1]))

    def _bars(self, lo: np.ndarray, hi: np.ndarray, a: int, b: int) -> tuple[int, int]:
        """Widths of the bars at the start and the end of one axis (0 when none), from the
        runs of flat lines ``a`` and ``b``."""
        n = lo.size
        if a + b >= 0.8 * n:
            return 0, 0   # no picture left between them: not bars
        least = max(2, int(np.ceil(self.min_share * n)))
        level = (float(np.median(hi[:a])) if a else None, float(np.median(hi[n - b:])) if b else None)
        out = []
        for w, lv, other in ((a, level[0], level[1]), (b, level[1], level[0])):
            dark = lv is not None and lv <= DARK_LEVEL
            matched = lv is not None and other is not None and abs(lv - other) <= self.tolerance
            out.append(w if w >= least and (dark or matched) else 0)
        return out[0], out[1]
