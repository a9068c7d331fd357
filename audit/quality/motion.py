"""Global motion between consecutive analysis frames, computed once and shared by detectors.

Flicker, camera motion and technical checks all need "how did the picture move from the previous
frame". ``frame_motion(ctx, frame)`` answers it once per frame and caches the answer on the frame
(in ``Frame.cache``), so the first detector to ask pays and the others read it.

The model is a 4-parameter similarity (translation, uniform scale, rotation) fitted with RANSAC
(``cv2.estimateAffinePartial2D``) to Shi-Tomasi corners tracked by pyramidal Lucas-Kanade, on a
small grey copy of the frame (``MOTION_SIDE`` px on the long side). Lucas-Kanade tracks
normalised patches poorly under large brightness jumps, so both images are contrast-normalised
first: a flickering frame must not look like a moving one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

MOTION_SIDE = 160
_FEATURES = dict(maxCorners=80, qualityLevel=0.01, minDistance=7, blockSize=5)
_LK = dict(winSize=(9, 9), maxLevel=2, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03))


@dataclass(frozen=True)
class PairMotion:
    """Motion from ``prev`` to ``cur``. ``matrix`` maps prev pixels to cur pixels in the small
    image (side ``MOTION_SIDE``); ``dx``/``dy`` are the translation of the frame centre as a
    share of the small image's width/height; ``scale`` the zoom factor; ``angle`` in degrees.
    ``ok`` is False when too few points agreed (a cut, a black or featureless frame)."""

    matrix: np.ndarray
    ok: bool
    points: int
    inliers: int
    dx: float
    dy: float
    scale: float
    angle: float
    residual_px: float

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.points if self.points else 0.0


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float64)


def _factor(w: int, h: int, side: int) -> int:
    """The power of two reducing (w, h) to about ``side`` px on the long side (nearest in log
    scale, never under 8 px): copies are made by halving, OpenCV's fast INTER_AREA path (an
    arbitrary factor costs several times more)."""
    f = 1
    while max(w, h) / (f * 2) >= side / 1.4142 and min(w, h) // (f * 2) >= 8:
        f *= 2
    return f


def small_gray(frame, side: int = MOTION_SIDE) -> np.ndarray:
    """Grey copy of ``frame`` at about ``side`` px on the long side (uint8), made once per frame."""
    return frame.gray_at(_factor(frame.width, frame.height, side))


def small_bgr(frame, side: int) -> np.ndarray:
    """Colour copy of ``frame`` at about ``side`` px on the long side, made once per frame."""
    return frame.bgr_at(_factor(frame.width, frame.height, side))


def normalised(gray: np.ndarray) -> np.ndarray:
    """Zero-mean, fixed-contrast uint8 copy: brightness and contrast changes removed."""
    mean, std = cv2.meanStdDev(gray)
    m, s = float(mean[0, 0]), float(std[0, 0])
    if s < 1e-3:
        return np.full_like(gray, 128)
    return cv2.convertScaleAbs(gray, alpha=40.0 / s, beta=128.0 - m * 40.0 / s)


def per_frame(ctx, frame, key: str, make_tracker, step=None):
    """The answer of a per-clip tracker for ``frame``, computed once whoever asks first.

    Several detectors call this for every frame, in order; the first caller steps the tracker
    (``make_tracker()``, kept in ``ctx.shared[key]``; ``step(tracker, frame)``, by default
    ``tracker.step(frame)``) and caches its answer in ``frame.cache[key]``,
    the others read it. Detectors in different lanes (threads) may call it: a per-clip lock
    makes one of them compute each frame, and since every lane goes through the frames in
    order, the tracker still sees them in order."""
    m = frame.cache.get(key, _MISSING)
    if m is not _MISSING:
        return m
    # one lock per clip (setdefault is atomic; a Lock is built only until one is stored)
    lock = ctx.shared.get(f"{key}_lock") or ctx.shared.setdefault(f"{key}_lock", threading.Lock())
    with lock:
        m = frame.cache.get(key, _MISSING)
        if m is _MISSING:
            tracker = ctx.shared.get(key)
            if tracker is None:
                tracker = ctx.shared[key] = make_tracker()
            m = frame.cache[key] = step(tracker, frame) if step else tracker.step(frame)
    return m


_MISSING = object()


def frame_motion(ctx, frame):
    """Motion from the previous frame of the clip to ``frame`` (None for the first frame), from
    the clip's one ``MotionTracker`` (see ``per_frame``)."""
    return per_frame(ctx, frame, "motion", MotionTracker)


class MotionTracker:
    """Tracks corners forward from frame to frame (re-detected when too few survive), so each
    frame costs one pyramidal Lucas-Kanade pass and, now and then, one corner detection."""

    def __init__(self, side: int = MOTION_SIDE):
        self.side = side
        self.prev_img: np.ndarray | None = None
        self.prev_pts: np.ndarray | None = None

    def step(self, frame) -> PairMotion | None:
        img = normalised(small_gray(frame, self.side))
        prev_img, pts = self.prev_img, self.prev_pts
        self.prev_img = img
        if prev_img is None or prev_img.shape != img.shape:
            self.prev_pts = _detect(img)
            return None
        if pts is None or len(pts) < _FEATURES["maxCorners"] // 3:
            pts = _detect(prev_img)
        m, survivors = _estimate(prev_img, img, pts)
        # carry the tracked inliers forward; top up from a fresh detection when they thin out
        self.prev_pts = survivors if survivors is not None and len(survivors) >= _FEATURES["maxCorners"] // 3 \
            else _detect(img)
        return m


def _detect(img: np.ndarray) -> np.ndarray | None:
    return cv2.goodFeaturesToTrack(img, mask=None, **_FEATURES)


def _failed(n: int) -> PairMotion:
    return PairMotion(IDENTITY, False, n, 0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _estimate(g0: np.ndarray, g1: np.ndarray, p0) -> tuple[PairMotion, np.ndarray | None]:
    h, w = g0.shape
    if p0 is None or len(p0) < 8:
        return _failed(0 if p0 is None else len(p0)), None
    p1, st, _ = cv2.calcOpticalFlowPyrLK(g0, g1, p0, None, **_LK)
    good = st.ravel() == 1
    a, b = p0[good].reshape(-1, 2), p1[good].reshape(-1, 2)
    n = len(p0)
    if len(a) < 8:
        return _failed(n), None
    M, inl = cv2.estimateAffinePartial2D(a, b, method=cv2.RANSAC, ransacReprojThreshold=1.0,
                                         maxIters=200, confidence=0.99)
    if M is None:
        return _failed(n), None
    inl = inl.ravel().astype(bool)
    k = int(inl.sum())
    proj = a[inl] @ M[:, :2].T + M[:, 2]
    if k:
        e = proj - b[inl]
        r = np.sqrt((e * e).sum(axis=1))
        resid = float(np.partition(r, k // 2)[k // 2])  # median (np.median costs ~20x more here)
    else:
        resid = 0.0
    scale = float(np.hypot(M[0, 0], M[1, 0]))
    angle = float(np.degrees(np.arctan2(M[1, 0], M[0, 0])))
    c = np.array([w / 2.0, h / 2.0])
    moved = M[:, :2] @ c + M[:, 2] - c
    ok = k >= 8 and k >= 0.3 * n
    inside = b[inl]
    inside = inside[(inside[:, 0] >= 0) & (inside[:, 0] < w) & (inside[:, 1] >= 0) & (inside[:, 1] < h)]
    m = PairMotion(M.astype(np.float64), ok, n, k, float(moved[0] / w), float(moved[1] / h), scale, angle, resid)
    return m, inside.reshape(-1, 1, 2).astype(np.float32) if ok else None


def scale_matrix(M: np.ndarray, factor: float) -> np.ndarray:
    """``M`` (in one image's pixels) for an image ``factor`` times as large."""
    out = M.copy()
    out[:, 2] *= factor
    return out
