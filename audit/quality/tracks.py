"""Point tracks shared by drift and jitter: corners followed from frame to frame, computed once.

``frame_tracks(ctx, frame)`` advances one ``PointTracker`` per clip (kept in ``ctx.shared``,
the answer cached on the frame like ``audit.quality.motion.frame_motion``; a per-clip lock
makes it safe across lanes). Frames closer than ``1 / [drift] track_hz`` to the last tracked
one are skipped (None), so the cost is bounded whatever the frame rate.

Tracking: Shi-Tomasi corners on a contrast-normalised grey copy of about ``SIDE`` px, pyramidal
Lucas-Kanade forward and backward; a point survives only when the backward track lands within
``FB_MAX`` px of where it started (textureless walls, shirts, water glints and occlusions fail
that test, which is what makes dense flow invent motion there). Lost points are replaced by new
corners away from the live ones, so the set stays spread over the picture. Every point keeps a
stable id; consumers keep what they need per id.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .motion import normalised, per_frame, small_gray

SIDE = 256            # analysis copy: 320 x 180 for a 640 px analysis frame
TARGET = 220          # live points kept
MIN_DIST = 8          # px between corners at SIDE
FB_MAX = 0.5          # px: forward-backward disagreement that drops a point
_LK = dict(winSize=(11, 11), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03))


@dataclass(frozen=True)
class TrackStep:
    """One tracked step, from the previously tracked frame to this one.

    ``ids``/``prev``/``cur``: points followed across the step (float32 N x 2, px of the
    ``size`` copy). ``new_ids``/``new_pts``: corners added on this frame. ``cut``: the
    step crosses a hard cut (``prev`` then means nothing; every id is new). ``size``: (w, h)."""

    t: float
    index: int
    ids: np.ndarray
    prev: np.ndarray
    cur: np.ndarray
    new_ids: np.ndarray
    new_pts: np.ndarray
    cut: bool
    size: tuple[int, int]


def frame_tracks(ctx, frame) -> TrackStep | None:
    """The tracked step ending at ``frame`` (None when this frame is not tracked), from the
    clip's one ``PointTracker`` (computed once per frame: ``motion.per_frame``). Every caller
    must go through the frames in order."""
    from .shots import is_cut

    def step(tracker, f):
        # asked on every frame (the shot tracker's cut test needs each frame in order)
        return tracker.step(small_gray(f, SIDE), f.t, f.index, is_cut(ctx, f))

    return per_frame(ctx, frame, "tracks", lambda: PointTracker(float(ctx.policy.section("drift")["track_hz"])), step)


class PointTracker:
    def __init__(self, hz: float = 15.0):
        self.step_s = 1.0 / hz if hz > 0 else 0.0
        self.next_t: float | None = None
        self.img: np.ndarray | None = None
        self.pts = np.zeros((0, 2), np.float32)
        self.ids = np.zeros(0, np.int64)
        self.next_id = 0
        self.pending_cut = False

    def step(self, gray: np.ndarray, t: float, index: int, cut: bool = False) -> TrackStep | None:
        self.pending_cut |= cut
        if self.next_t is not None and t + 1e-6 < self.next_t:
            return None
        self.next_t = t + self.step_s * 0.999 if self.next_t is None else max(self.next_t + self.step_s, t)
        img = normalised(gray)
        h, w = img.shape
        cut, self.pending_cut = self.pending_cut or self.img is None or self.img.shape != img.shape, False
        empty = np.zeros((0, 2), np.float32)
        if cut:
            ids, prev, cur = np.zeros(0, np.int64), empty, empty
            self.pts, self.ids = empty, np.zeros(0, np.int64)
        else:
            ids, prev, cur = self._follow(self.img, img)
        new_ids, new_pts = self._top_up(img)
        self.img = img
        return TrackStep(t, index, ids, prev, cur, new_ids, new_pts, cut, (w, h))

    def _follow(self, a: np.ndarray, b: np.ndarray):
        h, w = b.shape
        if len(self.pts) == 0:
            return self.ids, self.pts, self.pts
        p0 = self.pts.reshape(-1, 1, 2)
        p1, st, _ = cv2.calcOpticalFlowPyrLK(a, b, p0, None, **_LK)
        back, st2, _ = cv2.calcOpticalFlowPyrLK(b, a, p1, None, **_LK)
        fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
        q = p1.reshape(-1, 2)
        keep = (st.ravel() == 1) & (st2.ravel() == 1) & (fb < FB_MAX) & \
               (q[:, 0] >= 1) & (q[:, 0] < w - 1) & (q[:, 1] >= 1) & (q[:, 1] < h - 1)
        ids, prev, cur = self.ids[keep], self.pts[keep], q[keep].astype(np.float32)
        self.ids, self.pts = ids, cur
        return ids, prev, cur

    def _top_up(self, img: np.ndarray):
        need = TARGET - len(self.pts)
        if need < TARGET // 8:
            return np.zeros(0, np.int64), np.zeros((0, 2), np.float32)
        mask = np.full(img.shape, 255, np.uint8)
        for x, y in self.pts:
            cv2.circle(mask, (int(x), int(y)), MIN_DIST, 0, -1)
        p = cv2.goodFeaturesToTrack(img, maxCorners=need, qualityLevel=0.01, minDistance=MIN_DIST,
                                    blockSize=5, mask=mask)
        if p is None:
            return np.zeros(0, np.int64), np.zeros((0, 2), np.float32)
        p = p.reshape(-1, 2).astype(np.float32)
        ids = np.arange(self.next_id, self.next_id + len(p), dtype=np.int64)
        self.next_id += len(p)
        self.pts = np.concatenate([self.pts, p])
        self.ids = np.concatenate([self.ids, ids])
        return ids, p
