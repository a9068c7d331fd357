"""Shots: hard cuts, fades and dissolves, found on the analysis frames every detector already sees.

Why not PySceneDetect as a library: it needs ``opencv-python`` (the GUI build), which replaces
our ``opencv-python-headless`` and wants libGL on the machine. Its published algorithms are
small, so they are followed here on the frames of our one decode pass, and
``benchmarks/shots_vs_scenedetect.py`` compares the two on real footage.

- **cuts** after PySceneDetect's ``AdaptiveDetector`` (HSV content change against the mean of
  its neighbours), and **fades and dissolves** as runs of frames that are blends of the
  pictures either side (``audit.quality.transitions``). Steps the global motion model joins and
  steps into or out of a short black run are never cuts; a black run of ``black_shot_s`` or more
  is a shot of its own.
- **repeated frames** (a frame identical to the one before, amid motion) and **dropped frames**
  (a gap in the frame timestamps, ``Frame.t``) are recorded for ``technical`` to report; the
  temporal metrics skip repeats (``is_repeat``) so uneven cadence does not read as flicker.

During the decode pass ``change``, ``is_cut`` and ``is_repeat`` answer live, once per frame
(cached like ``audit.quality.motion.frame_motion``, safe across lanes). ``ShotDetector`` runs
first (order 10): its ``finish`` stores the final list of ``Shot``s in ``ctx.shared["shots"]``
for every other detector's ``finish``; ``split`` cuts a metric's series into per-shot pieces
without the transitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..detectors import Detector, DetectorResult
from .motion import frame_motion, per_frame, small_bgr, small_gray
from .transitions import adaptive_cuts, blends

SIDE = 160            # content change on a copy of about this long side (PySceneDetect: ~256)
THUMB = (16, 9)       # thumbnails for fades/dissolves (w, h; swapped for portrait)
BOUNDARIES = ("start", "cut", "fade", "dissolve")


@dataclass(frozen=True)
class Shot:
    """One shot, ``[start_s, end_s)`` in seconds of the clip's frame times.

    ``boundary`` says how it begins ("start" for the first shot). ``transition`` is the time
    range of the fade or dissolve that leads into it (None for a cut or the start);
    ``excluded`` lists the parts of this shot that temporal metrics skip (the transitions at
    either end, a fade-in at the very start, a fade-out at the very end).
    ``start_frame``/``end_frame``: analysis-frame indices (end exclusive)."""

    start_s: float
    end_s: float
    boundary: str
    start_frame: int
    end_frame: int
    transition: tuple[float, float] | None = None
    excluded: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict:
        d = {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "boundary": self.boundary,
             "start_frame": self.start_frame, "end_frame": self.end_frame}
        if self.transition is not None:
            d["transition"] = [round(self.transition[0], 3), round(self.transition[1], 3)]
        if self.excluded:
            d["excluded"] = [[round(a, 3), round(b, 3)] for a, b in self.excluded]
        return d


# -- live, per frame ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FrameChange:
    """What changed from the previous analysis frame: ``content`` (PySceneDetect's score, 0-255
    levels), ``diff`` (mean absolute grey difference, levels, ~160 px), ``dt`` (s)."""

    content: float
    diff: float
    dt: float
    repeat: bool
    cut: bool


class ShotTracker:
    """Per-clip state behind ``change``: the previous frame's HSV planes and every frame's
    small record (a thumbnail of 432 bytes, a few floats)."""

    def __init__(self, pol):
        self.pol = pol
        self.prev_hsv = None
        self.prev_gray = None
        self.prev_t = None
        self.recent: list[float] = []      # content of the last distinct frames (live cut test)
        self.ts: list[float] = []
        self.index: list[int] = []
        self.content: list[float] = []     # NaN for the first frame and for repeats
        self.diff: list[float] = []
        self.luma: list[float] = []        # mean grey level (0-255) and its spread, for black frames
        self.spread: list[float] = []
        self.thumbs: list[np.ndarray] = []
        self.joined: list[bool] = []       # the global motion model joins this frame to the previous one
        self.moves: list[tuple[float, float, float]] = []

    def step(self, frame, motion) -> FrameChange | None:
        # a pair the global motion model joins is one continuous view, whatever changed
        self.joined.append(bool(motion is not None and motion.ok and motion.inlier_ratio >= 0.5))
        # the camera's move from the previous frame (shares of width/height, zoom), for telling
        # a camera move from a blend of two pictures
        self.moves.append((motion.dx, motion.dy, motion.scale) if motion is not None and motion.ok
                          else (0.0, 0.0, 1.0))
        bgr = small_bgr(frame, SIDE)
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        gray = small_gray(frame, SIDE)
        h, w = bgr.shape[:2]
        size = THUMB if w >= h else THUMB[::-1]
        self.thumb_shape = (size[1], size[0])
        self.thumbs.append(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA).reshape(-1))
        mean, std = cv2.meanStdDev(gray)
        self.luma.append(float(mean[0, 0]))
        self.spread.append(float(std[0, 0]))
        self.ts.append(frame.t)
        self.index.append(frame.index)
        prev_hsv, prev_gray, prev_t = self.prev_hsv, self.prev_gray, self.prev_t
        if prev_hsv is None or prev_hsv.shape != hsv.shape:
            self.prev_hsv, self.prev_gray, self.prev_t = hsv, gray, frame.t
            self.content.append(float("nan"))
            self.diff.append(float("nan"))
            return None
        diff = cv2.norm(gray, prev_gray, cv2.NORM_L1) / gray.size
        repeat = diff < float(self.pol["repeat_diff"])
        self.diff.append(diff)
        if repeat:
            # the repeat stands for the frame before it: changes are measured from that one
            self.content.append(float("nan"))
            return FrameChange(0.0, diff, frame.t - prev_t, True, False)
        content = float(np.mean(cv2.mean(cv2.absdiff(hsv, prev_hsv))[:3]))
        win = self.recent[-int(self.pol["window"]):]
        base = sum(win) / len(win) if win else 0.0
        cut = not self.joined[-1] and content >= float(self.pol["min_content"]) and (
            base < 1e-5 or content >= float(self.pol["adaptive_ratio"]) * base)
        self.recent = (self.recent + [content])[-8:]
        self.content.append(content)
        self.prev_hsv, self.prev_gray, self.prev_t = hsv, gray, frame.t
        return FrameChange(content, diff, frame.t - prev_t, False, cut)


def _step(ctx, frame) -> FrameChange | None:
    """This frame's change, from the clip's one ``ShotTracker`` (computed once per frame)."""
    return per_frame(ctx, frame, "shot_tracker", lambda: ShotTracker(ctx.policy.section("shots")),
                     lambda tracker, f: tracker.step(f, frame_motion(ctx, f)))


def change(ctx, frame) -> float:
    """Content change (0-255 levels, PySceneDetect's ``content_val``) from the previous
    distinct analysis frame; 0.0 for the first frame and for a repeated frame. Computed once per
    frame whoever asks first; every caller must go through the frames in order."""
    c = _step(ctx, frame)
    return c.content if c is not None else 0.0


def is_cut(ctx, frame) -> bool:
    """Live decision: a hard cut between the previous frame and ``frame`` (no look-ahead, so a
    very fast camera swing may fire; ``ctx.shared["shots"]`` after the pass is the final word)."""
    c = _step(ctx, frame)
    return bool(c is not None and c.cut)


def is_repeat(ctx, frame) -> bool:
    """``frame`` repeats the previous one (identical to within ``[shots] repeat_diff``): temporal
    metrics skip it, so a duplicated frame is not a pause followed by a double step."""
    c = _step(ctx, frame)
    return bool(c is not None and c.repeat)


# -- after the pass ----------------------------------------------------------------------------

def build_shots(tracker: ShotTracker, pol) -> list[Shot]:
    """The final shot list from the tracker's per-frame records."""
    n = len(tracker.ts)
    if n == 0:
        return []
    ts = np.asarray(tracker.ts, np.float64)
    idx = tracker.index
    content = np.asarray(tracker.content, np.float64)
    dt = float(np.median(np.diff(ts))) if n > 1 else 1 / 30
    end_t = float(ts[-1] + dt)
    h, w = tracker.thumb_shape
    trans = blends(np.stack(tracker.thumbs), np.asarray(tracker.luma), np.asarray(tracker.spread), ts, pol,
                   np.asarray(tracker.moves, np.float64), (h, w))
    dark = (np.asarray(tracker.luma) < float(pol["black_level"])) & (np.asarray(tracker.spread) < 8.0)
    short = np.zeros(n, bool)
    for a, b in _runs(dark):
        if (ts[b] + dt) - ts[a] < float(pol["black_shot_s"]) - 1e-6:
            short[a:b + 1] = True   # a black glitch, not a black shot of its own
    inside = np.zeros(n, bool)
    for a, b, _ in trans:
        inside[a:b + 1] = True
    # boundaries: (position of the first frame of the new shot, kind, transition range or None)
    bounds: list[tuple[int, str, tuple[int, int] | None]] = []
    # Not a cut: a pair the motion model joins (a frozen run ending, a fast but tracked move), or
    # a step into or out of black frames (those are black frames, reported by technical; fades
    # through black are found as fades).
    skip = np.asarray(tracker.joined) | short | np.r_[False, short[:-1]]
    for i in adaptive_cuts(content, ts, pol, skip):
        if not inside[i]:
            bounds.append((i, "cut", None))
    for a, b, kind in trans:
        if a == 0 or b >= n - 1:
            if kind != "fade":
                continue   # a "dissolve" from before the first frame: nothing to tell apart
            bounds.append((a if a == 0 else n - 1, "edge", (a, b)))   # fade-in at start / fade-out at end
            continue
        # a fade from black begins the shot at its first picture; a fade to black ends it at
        # the first black frame; a dissolve is split in the middle (PySceneDetect's fade_bias 0)
        pos = a + 1 if dark[a] and not dark[b] else b if dark[b] and not dark[a] else (a + b + 1) // 2
        bounds.append((pos, kind, (a, b)))
    bounds = _fade_pairs(sorted(bounds), tracker, pol)
    shots: list[Shot] = []
    pad = float(pol["transition_pad_s"])
    edges = [(0, "start", None)] + [x for x in bounds if x[1] != "edge" and x[0] > 0]
    edge_ranges = [x[2] for x in bounds if x[1] == "edge"] + _runs(short)
    for k, (i, kind, rng) in enumerate(edges):
        j = edges[k + 1][0] if k + 1 < len(edges) else n
        t0 = float(ts[i])
        t1 = float(ts[j]) if j < n else end_t
        excl = []
        for r in [rng, edges[k + 1][2] if k + 1 < len(edges) else None] + edge_ranges:
            if r is None:
                continue
            # padded: a transition's ends are known to a frame or two, and its last small steps
            # would still read as a change in the metrics
            ra = float(ts[r[0]]) - pad
            rb = (float(ts[r[1]]) if r[1] < n else end_t) + pad
            if rb > t0 and ra < t1:
                excl.append((max(ra, t0), min(rb, t1)))
        transition = (float(ts[rng[0]]), float(ts[rng[1]])) if rng else None
        shots.append(Shot(t0, t1, kind, idx[i], idx[j - 1] + 1, transition, tuple(sorted(set(excl)))))
    return shots


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) positions of each run of true values."""
    m = np.r_[False, mask, False].astype(np.int8)
    d = np.diff(m)
    return [(int(a), int(b) - 1) for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


def _fade_pairs(bounds, tracker, pol):
    """A fade out, black frames, a fade in: one boundary in the middle of the black."""
    out = []
    for b in bounds:
        if out and b[1] in ("fade", "cut") and out[-1][1] in ("fade", "cut") and (b[2] or out[-1][2]) \
                and tracker.ts[b[0]] - tracker.ts[out[-1][0]] < float(pol["min_shot_s"]):
            pa = out[-1][2] or (out[-1][0], out[-1][0])
            pb = b[2] or (b[0], b[0])
            rng = (min(pa[0], pb[0]), max(pa[1], pb[1]))
            out[-1] = ((rng[0] + rng[1] + 1) // 2, "fade", rng)
            continue
        out.append(b)
    return out


def split(shots, ts, pairs: bool = False) -> list[tuple[int, Shot, np.ndarray]]:
    """Cut a per-frame series at shot boundaries, leaving out transitions.

    ``shots``: ``ctx.shared["shots"]`` (or a context holding it); ``ts``: the series' frame
    times (s). Returns ``(shot index, shot, positions)`` for each contiguous piece of the
    series inside one shot and outside its excluded ranges. With ``pairs`` the series holds
    frame-pair values stamped with the later frame's time: the pair that reaches back across
    a boundary (stamped at the shot's first frame) is left out too."""
    if not isinstance(shots, (list, tuple)):
        shots = shots.shared.get("shots") or []
    ts = np.asarray(ts, np.float64)
    if not shots:
        return [(0, None, np.arange(len(ts)))] if len(ts) else []
    out = []
    eps = 1e-6
    for k, s in enumerate(shots):
        keep = (ts >= s.start_s - eps) & (ts < s.end_s - eps)
        if pairs and k > 0:
            keep &= ts > s.start_s + eps
        for a, b in s.excluded:
            keep &= ~((ts >= a - eps) & (ts <= b + eps))
        pos = np.flatnonzero(keep)
        for piece in np.split(pos, np.flatnonzero(np.diff(pos) > 1) + 1):
            if len(piece):
                out.append((k, s, piece))
    return out


def dropped(ts, pol) -> list[dict]:
    """Gaps in the frame times: ``{"t", "missing"}`` where an interval is longer than
    ``[shots] drop_gap`` times the median interval (frames missing before ``t``)."""
    ts = np.asarray(ts, np.float64)
    if len(ts) < 3:
        return []
    d = np.diff(ts)
    med = float(np.median(d))
    if med <= 0:
        return []
    gaps = np.flatnonzero(d > float(pol["drop_gap"]) * med)
    return [{"t": round(float(ts[i + 1]), 3), "missing": int(round(d[i] / med)) - 1} for i in gaps]


def repeats(tracker: ShotTracker, pol) -> list[float]:
    """Times of repeated frames amid motion: identical to the previous frame while the frames
    around them change by more than ``[shots] repeat_motion`` levels."""
    diff = np.asarray(tracker.diff, np.float64)
    out = []
    floor = float(pol["repeat_motion"])
    rep = diff < float(pol["repeat_diff"])
    for i in np.flatnonzero(rep):
        nxt = next((diff[j] for j in range(i + 1, min(i + 4, len(diff))) if not rep[j]), np.nan)
        prv = next((diff[j] for j in range(i - 1, max(i - 4, 0), -1) if not rep[j]), np.nan)
        if np.nanmax([nxt, prv, 0.0]) >= floor:
            out.append(round(float(tracker.ts[i]), 3))
    return out


class ShotDetector(Detector):
    """Runs first so every other detector's ``finish`` can read ``ctx.shared["shots"]``."""

    name = "shots"
    slot = "metrics"
    order = 10

    def feed(self, frame) -> None:
        _step(self.ctx, frame)

    def finish(self) -> DetectorResult:
        pol = self.ctx.policy.section("shots")
        tracker = self.ctx.shared.get("shot_tracker")
        shots = build_shots(tracker, pol) if tracker is not None else []
        self.ctx.shared["shots"] = shots
        if tracker is not None:
            self.ctx.shared["repeated_frames"] = repeats(tracker, pol)
            self.ctx.shared["dropped_frames"] = dropped(tracker.ts, pol)
        return DetectorResult([s.to_dict() for s in shots])


def per_shot_scores(ctx, blocks, metrics) -> list:
    """Copy each metric's per-shot score into ``metrics.shots[i][metric]``: its ``per_shot``
    list holds either the scores or dicts carrying the score under the metric's name (with
    details that stay in the metric's own block)."""
    shots = metrics.get("shots")
    if not isinstance(shots, list):
        return []
    for name, block in metrics.items():
        if name == "shots" or not isinstance(block, dict):
            continue
        per = block.get("per_shot")
        if isinstance(per, list) and len(per) == len(shots):
            for entry, v in zip(shots, per):
                entry[name] = v.get(name) if isinstance(v, dict) else v
    return []


DETECTORS = [ShotDetector]
CROSS_CHECKS = [per_shot_scores]
