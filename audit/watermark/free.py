"""Find an unknown overlay: something that stays fixed in the frame while the content moves.

Over a sliding window of K analysed frames, each pixel's signed gradient vectors are summed:
where the picture moves, the gradients a pixel sees change direction and size from frame to
frame and largely cancel; under a fixed overlay they repeat, and the sum keeps their full
length. The per-pixel *consistency* ``|sum g| / sum |g|`` is 1 for a fixed edge and about
``1/sqrt(K)`` for moving texture.

A static shot is fixed everywhere, so consistency says nothing there: when more than
``static_share`` of the textured pixels are consistent, the window is "undecidable" and no
overlay is reported (the rule that keeps a static clean shot clean). Otherwise consistent,
textured pixels are gathered into blobs; a blob is an overlay candidate when it is small
(at most ``max_area`` of the frame), dense, and holds edges of several orientations (a
horizontal edge under a horizontal pan also stays put, but it has one orientation).

Fixed in the frame is not enough where the scene itself barely moves: near the centre of a
zoom, and along edges that slide along themselves (radial edges under a zoom), scenery is as
fixed as an overlay. So the frames of the window are also aligned on the scene's global
motion (``audit.quality.motion``'s shared estimate, composed between analysed frames) and a pixel
that is just as consistent in the scene is not an overlay's; a blob must also have moving
surroundings. A window across a cut or a failed motion estimate is undecidable.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

BORDER_PX = 3
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_CLOSE = 1e-8 + 1e-5 * np.abs(IDENTITY)  # np.allclose(A, IDENTITY) is (|A - IDENTITY| <= _CLOSE).all()


@dataclass(frozen=True)
class Overlay:
    """A fixed overlay seen over a window: box (x, y, w, h) in match pixels, ``score`` 0-1
    (mean consistency of its edge pixels), and the sample times the window spans."""

    score: float
    x: int
    y: int
    w: int
    h: int
    times: tuple[float, ...]


@dataclass(frozen=True)
class WindowState:
    """What one window said: ``decidable`` False when the shot was too static to tell."""

    t: float
    decidable: bool
    static_share: float
    overlay: Overlay | None


class FixedOverlayFinder:
    """Feed gradient fields of analysed frames (same size, in time order); ``push`` returns the
    state of the window that ends at that frame (``None`` until the window is full). With
    ``every`` > 1 a window is looked at on one frame in ``every`` (``None`` on the others: each
    frame is still in a window looked at, ``every`` being at most ``window``), and on every
    frame again while the last window looked at showed an overlay (a faint overlay is not
    seen in every window: the frames the ones between show it in count too). Until a window
    has shown an overlay at all, one window in ``every_before`` (``every`` when not given; at
    most ``window``: the windows then tile the frames)."""

    def __init__(self, *, window: int, min_grad: float, consistency: float, static_share: float,
                 max_area: float, min_orientation: float, ring_static: float = 0.2, every: int = 1,
                 every_before: int | None = None):
        self.window = max(3, int(window))
        self.every = max(1, min(int(every), self.window))
        self.every_before = self.every if every_before is None else max(1, min(int(every_before), self.window))
        self._since = 0        # frames pushed since the last window looked at
        self._showing = False  # did that window show an overlay
        self._shown = False    # has any window shown one
        self.min_grad = min_grad
        self.consistency = consistency
        self.static_share = static_share
        self.max_area = max_area
        self.min_orientation = min_orientation
        self.ring_static = ring_static
        self._buf: deque = deque(maxlen=self.window)
        self._arrays: dict[str, np.ndarray] = {}   # see _scratch

    def push(self, t: float, gx: np.ndarray, gy: np.ndarray, motion: np.ndarray | None = None) -> WindowState | None:
        """Add one analysed frame. ``motion``: the 2x3 matrix taking the previous analysed
        frame's pixels to this one's (the scene's global motion), or None when it is unknown
        (a cut, a featureless frame): windows spanning it are undecidable."""
        # Each buffered frame keeps the transform that takes it onto the newest frame.
        step = np.vstack([motion, [0.0, 0.0, 1.0]]) if motion is not None else None
        buf = deque(maxlen=self.window)
        for (bt, bgx, bgy, bmag, T) in self._buf:
            buf.append((bt, bgx, bgy, bmag, step @ T if (step is not None and T is not None) else None))
        # the oldest frame drops out of the window now: its magnitudes' array takes the newest's
        spare = self._buf[0][3] if len(self._buf) == self.window else None
        buf.append((t, gx, gy, cv2.magnitude(gx, gy, spare), np.eye(3)))
        self._buf = buf
        self._since += 1
        if len(self._buf) < self.window or (self._since < (self.every if self._shown else self.every_before)
                                            and not self._showing):
            return None
        self._since = 0
        state = self._state()
        self._showing = state.overlay is not None
        self._shown |= self._showing
        return state

    def _state(self) -> WindowState:
        """What the window of the frames buffered says."""
        times = tuple(b[0] for b in self._buf)
        k = len(self._buf)
        if any(b[4] is None for b in self._buf):
            return WindowState(times[-1], False, 1.0, None)
        # summed pairwise into arrays kept between windows (a new 320x180 array costs more than
        # the sum written into it: fresh pages); ``np.minimum.reduce`` of a list would stack a copy
        first, second, *rest = self._buf
        shape = first[1].shape
        ft = np.result_type(first[1], second[1])      # what ``first + second`` would give
        mt = np.result_type(first[3], second[3])
        sx, sy = self._scratch("sx", shape, ft), self._scratch("sy", shape, ft)
        smag, lo, hi = (self._scratch(name, shape, mt) for name in ("smag", "lo", "hi"))
        np.add(first[1], second[1], out=sx)
        np.add(first[2], second[2], out=sy)
        np.add(first[3], second[3], out=smag)
        np.minimum(first[3], second[3], out=lo)
        np.maximum(first[3], second[3], out=hi)
        for b in rest:
            sx += b[1]
            sy += b[2]
            smag += b[3]
            np.minimum(lo, b[3], out=lo)
            np.maximum(hi, b[3], out=hi)
        mean = np.divide(smag, k, out=self._scratch("mean", shape, np.result_type(smag, k)))
        textured = np.greater(mean, self.min_grad, out=self._scratch("textured", shape, bool))
        n_tex = int(np.count_nonzero(textured))
        if n_tex == 0:
            return WindowState(times[-1], False, 0.0, None)
        # the consistency |sum g| / sum |g| (smag and hi are not needed after: reused in place)
        cons = cv2.magnitude(sx, sy, self._scratch("cons", shape, np.result_type(sx, sy)))
        np.divide(cons, np.maximum(smag, 1e-6, out=smag), out=cons)
        # Fixed: the same direction *and* an edge under the pixel in every frame of the window
        # (a curved edge sliding along itself keeps its direction for a while, not its place).
        fixed = np.greater(cons, self.consistency, out=self._scratch("fixed", shape, bool))
        test = self._scratch("test", shape, bool)
        fixed &= textured
        fixed &= np.greater(lo, np.multiply(hi, 0.5, out=hi), out=test)
        fixed &= np.greater(lo, self.min_grad, out=test)
        # The outermost rows and columns are fixed in every encoded video (padding of the
        # coded size, the gradient's border rule): not evidence of an overlay.
        m = BORDER_PX
        fixed[:m], fixed[-m:], fixed[:, :m], fixed[:, -m:] = False, False, False, False
        n_fixed = np.count_nonzero(fixed)
        share = float(n_fixed) / n_tex
        if share > self.static_share:
            return WindowState(times[-1], False, share, None)
        # A blob holds at least ``min_px`` fixed pixels: with fewer in the whole frame there is no
        # overlay to find (and the scene check below only takes pixels away).
        least = min_px(*shape)
        if n_fixed < least:
            return WindowState(times[-1], True, share, None)
        # ... and NOT fixed in the scene: what is fixed in the frame because the scene barely
        # moves there (the centre of a zoom, an edge sliding along itself: a horizontal edge
        # under a pan, a radial one under a zoom) is just as consistent once the frames are
        # aligned on the scene's motion, while an overlay is not.
        fixed &= ~self._fixed_in_scene(fixed)
        if np.count_nonzero(fixed) < least:
            return WindowState(times[-1], True, share, None)
        return WindowState(times[-1], True, share, self._blob(fixed, textured, cons, sx, sy, k, times))

    def _scratch(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """An array of this shape and type kept for ``name`` between windows (contents left over)."""
        a = self._arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._arrays[name] = np.empty(shape, dtype)
        return a

    def _fixed_in_scene(self, where: np.ndarray) -> np.ndarray:
        """Pixels as consistent once the window is aligned on the scene's motion. Only the
        pixels of ``where`` are asked for (the caller keeps no other), so each frame's fields are
        sampled at those pixels' places in that frame (bilinear, edges replicated: what aligning
        the whole frame with ``warpAffine`` would give there) instead of warping K x 3 whole
        fields; a window with no fixed pixel costs nothing."""
        out = np.zeros(where.size, bool)
        idx = np.flatnonzero(where)  # flat indices: several times cheaper than np.nonzero's (ys, xs)
        n = idx.size
        if n == 0:
            return out.reshape(where.shape)
        pts = None
        cols = n if n < 32767 else 1024  # remap wants a map under 32767 on each side
        sx = np.zeros(n, np.float32)
        sy = np.zeros(n, np.float32)
        smag = np.zeros(n, np.float32)
        lo = hi = None
        for (_, gx, gy, mag, T) in self._buf:
            A = T[:2]
            if (np.abs(A - IDENTITY) <= _CLOSE).all():  # np.allclose's test, without its overhead
                gx, gy, mag = (np.take(f, idx) for f in (gx, gy, mag))
            else:
                if pts is None:
                    pts = np.ones((3, n))
                    pts[1], pts[0] = np.divmod(idx, where.shape[1])  # the pixels' y and x
                src = cv2.invertAffineTransform(A) @ pts  # where each pixel's scene point was
                mx, my = (_as_map(v, cols) for v in src[:2])
                gx, gy, mag = (cv2.remap(f, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).ravel()[:n]
                               for f in (gx, gy, mag))
            sx += gx
            sy += gy
            smag += mag
            lo = mag if lo is None else np.minimum(lo, mag)
            hi = mag if hi is None else np.maximum(hi, mag)
        cons = np.hypot(sx, sy) / np.maximum(smag, 1e-6)
        out[idx] = (cons > self.consistency) & (lo > 0.5 * hi) & (lo > self.min_grad)
        return out.reshape(where.shape)

    def _blob(self, fixed, textured, cons, sx, sy, k, times) -> Overlay | None:
        """The largest overlay-like blob of ``fixed`` (``sx``, ``sy``: the window's summed gradients over
        ``k`` frames; only the few blobs that get that far are divided by ``k``)."""
        H, W = fixed.shape
        # Join an overlay's thin strokes into one blob; isolated coincidences stay specks.
        r = max(2, int(round(min(H, W) * 0.02)))
        joined = cv2.morphologyEx(fixed.view(np.uint8), cv2.MORPH_CLOSE, np.ones((r, r), np.uint8),
                                  self._scratch("joined", fixed.shape, np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8, ltype=label_type(H, W))
        best = None
        least = min_px(H, W)
        # Most components are specks: drop them all at once. A component's area bounds the fixed
        # pixels it holds (closing only adds pixels), so these are the loop's own tests, earlier.
        bw, bh, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
        box = bw * bh
        maybe = (box <= self.max_area * H * W) & (np.minimum(bw, bh) >= 3) & (area >= least) & (area >= 0.15 * box)
        maybe[0] = False  # the background
        for i in np.flatnonzero(maybe):
            x, y, w, h = stats[i, :4].tolist()
            sel = (labels[y:y + h, x:x + w] == i) & fixed[y:y + h, x:x + w]
            px = np.count_nonzero(sel)
            if px < least or px < 0.15 * w * h:
                continue
            if _orientation_spread(sx[y:y + h, x:x + w][sel] / k, sy[y:y + h, x:x + w][sel] / k) < self.min_orientation:
                continue
            if not self._surroundings_move(fixed, textured, x, y, w, h):
                continue
            score = float(cons[y:y + h, x:x + w][sel].mean())
            if best is None or px > best[0]:
                best = (px, Overlay(round(score, 4), x, y, w, h, times))
        return best[1] if best else None

    def _surroundings_move(self, fixed, textured, x, y, w, h) -> bool:
        """An overlay stays put while the content *around it* moves. Where the content itself
        barely moves (the centre of a zoom, a slow corner of the scene) a still patch of
        scenery is fixed too, and so is its neighbourhood: such a blob is not an overlay.
        Looks at a ring around the blob's box (half its size wide); when the ring has little
        texture it cannot tell and the blob stands. (The blob's box, (x, y, w, h), holds all of
        the blob.)"""
        H, W = fixed.shape
        m = max(4, max(w, h) // 2)
        x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(W, x + w + m), min(H, y + h + m)
        ring = textured[y0:y1, x0:x1].copy()
        ring[y - y0:y - y0 + h, x - x0:x - x0 + w] = False
        n = np.count_nonzero(ring)
        if n < 0.1 * ring.size:
            return True
        return np.count_nonzero(fixed[y0:y1, x0:x1] & ring) / n <= self.ring_static


def min_px(H: int, W: int) -> int:
    """The fewest fixed pixels an overlay's blob holds in an H x W field."""
    return max(12, int(0.001 * H * W))


def label_type(H: int, W: int) -> int:
    """The label type for ``cv2.connectedComponentsWithStats`` on an H x W image: 16-bit when
    every label fits (8-connected components of one pixel at least one apart: at most one in
    four pixels), which OpenCV labels several times faster than 32-bit."""
    return cv2.CV_16U if (H + 1) * (W + 1) // 4 < 65535 else cv2.CV_32S


def _as_map(v: np.ndarray, cols: int) -> np.ndarray:
    """Coordinates as a float32 remap map of ``cols`` columns (the tail padded with zeros)."""
    if cols == v.size:
        return v.astype(np.float32).reshape(1, cols)
    rows = -(-v.size // cols)
    out = np.zeros(rows * cols, np.float32)
    out[: v.size] = v
    return out.reshape(rows, cols)


def _orientation_spread(gx: np.ndarray, gy: np.ndarray) -> float:
    """Smaller/larger eigenvalue of the structure tensor of these gradients: 0 for edges of
    one orientation, 1 for all orientations equally."""
    a, b, c = float((gx * gx).sum()), float((gx * gy).sum()), float((gy * gy).sum())
    tr, det = a + c, a * c - b * b
    disc = max(0.0, tr * tr / 4 - det) ** 0.5
    l1, l2 = tr / 2 + disc, tr / 2 - disc
    return l2 / l1 if l1 > 0 else 0.0
