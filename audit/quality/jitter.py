"""Jitter: geometry that conflicts between frames, jumping back and forth while the camera and
the rest of the picture move smoothly.

Built on the shared point tracks (``audit.quality.tracks``), at ``[drift] track_hz``. For each
tracked step the camera's motion (a homography with RANSAC) is taken out of every point's
displacement; hand-held shake is a camera motion and leaves nothing. The residuals are pooled in
a 6 x 4 grid (the median vector of a cell's points: water glints and leaves moving every which
way cancel, a region that moves as one does not) and summed step after step into each cell's
*position* (where the region is, camera removed). A region that jumps back and forth is out of
line with its neighbours in time: a cell's *deviation* at a step is the distance from its
position to the median (per axis) of its positions one step before, at and after it, px at 1280
px wide: the size of a back-and-forth jump, zero for a smooth motion in one direction (a walking
person, a turning head, a slow pan) and small for noise. It holds at any frame rate: a jump held
for two or three frames is still out of line with the positions around it.

Per step the ``[jitter] cell_percentile`` of the cells' deviations; ``score``: the
``[jitter] percentile`` of that over the shot's steps (a few bad frames are not jitter, a
shot-long conflict is), largest over the shots. The finding gives the time range of the steps
over the warn level and the region of the cells that jumped most there, in displayed pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..detectors import Detector, DetectorResult
from ..findings import FAIL, QUALITY, WARN, Finding
from .drift import PX_AT, cell_index, group_medians
from .signals import curve
from .tracks import frame_tracks

MIN_POINTS = 12
MIN_CELLS = 4


def percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile(x, q)`` (linear) of a 1-D array without NaN, in the same float64 steps
    (index (n - 1) * q / 100, numpy's two-sided lerp), so bit for bit the same value:
    numpy's general path costs ~0.1 ms a call on a couple of dozen cells, this a tenth."""
    v = np.sort(x)
    n = len(v)
    vi = (n - 1) * (q / 100)
    if vi >= n - 1:
        return float(v[-1])
    i = math.floor(vi)
    g = vi - i
    a, b = float(v[i]), float(v[i + 1])
    d = b - a
    return b - d * (1 - g) if g >= 0.5 else a + d * g


class JitterDetector(Detector):
    name = "jitter"
    slot = "metrics"
    order = 31
    lane = "drift"     # the same thread as drift: they share the point tracks

    def __init__(self, ctx):
        super().__init__(ctx)
        pol = ctx.policy.section("jitter")
        self.cell_pct = float(pol["cell_percentile"])
        self.pct = float(pol["percentile"])
        # the last three steps of the current run: (t, cell positions, measured cells)
        self.recent: list[tuple[float, np.ndarray, np.ndarray]] = []
        self.ts: list[float] = []
        self.vs: list[float] = []
        self.cells: list[np.ndarray] = []        # per step: each cell's deviation (NaN: unmeasured)
        self.size = (1, 1)
        self.scale = 1.0
        self.grid = (1, 1)
        self.display_scale = 1.0

    def feed(self, frame) -> None:
        s = frame_tracks(self.ctx, frame)
        if s is None:
            return
        if s.cut:
            self.recent = []
            return
        w, h = s.size
        self.size, self.scale = (w, h), PX_AT / w
        self.display_scale = frame.width * frame.scale / w
        if len(s.ids) < MIN_POINTS:
            self.recent = []
            return
        H, _ = cv2.findHomography(s.prev, s.cur, cv2.RANSAC, 0.7, maxIters=200)
        if H is None:
            self.recent = []
            return
        e = (s.cur - cv2.perspectiveTransform(s.prev.reshape(-1, 1, 2), H).reshape(-1, 2)) * self.scale
        cells, gx, gy = cell_index(s.cur, w, h)
        self.grid = (gx, gy)
        med, counts = group_medians(e, cells, gx * gy)
        ok = counts >= 3
        # a cell with too few points this step counts as still (its position carries on) and
        # the steps around it are not judged there
        pos = (self.recent[-1][1] if self.recent else np.zeros_like(med)) + np.where(ok[:, None], med, 0.0)
        self.recent = (self.recent + [(s.t, pos, ok)])[-3:]
        if len(self.recent) == 3:
            (_, p0, o0), (t1, p1, o1), (_, p2, o2) = self.recent
            mid = np.median(np.stack([p0, p1, p2]), axis=0)
            dev = np.hypot(*(p1 - mid).T)
            both = o0 & o1 & o2
            dev[~both] = np.nan
            if both.sum() >= MIN_CELLS:
                self.ts.append(t1)
                self.vs.append(percentile(dev[both], self.cell_pct))
                self.cells.append(dev.astype(np.float32))

    def _region(self, steps: np.ndarray) -> list[int]:
        """[x, y, w, h] in displayed pixels of the cells that jumped most over ``steps``."""
        gx, gy = self.grid
        tot = np.nansum(np.stack([self.cells[i] for i in steps]), axis=0)
        if tot.max() <= 0:
            return [0, 0, 0, 0]
        hot = np.flatnonzero(tot >= 0.5 * tot.max())
        xs, ys = hot % gx, hot // gx
        cw, ch = self.size[0] / gx, self.size[1] / gy
        f = self.display_scale
        return [int(xs.min() * cw * f), int(ys.min() * ch * f),
                int((xs.max() - xs.min() + 1) * cw * f), int((ys.max() - ys.min() + 1) * ch * f)]

    def finish(self) -> DetectorResult:
        from .shots import split

        pol = self.ctx.policy.section("jitter")
        warn, fail = float(pol["warn"]), float(pol["fail"])
        base = {"threshold": {"warn": warn, "fail": fail},
                "scale": f"p{self.pct:g} over the shot's steps of how far picture regions jump out of line with "
                         "their positions a step before and after (camera removed), px at 1280 px wide"}
        shots = self.ctx.shared.get("shots") or []
        per_shot: list = [None] * max(1, len(shots))
        best, best_steps = None, None
        v = np.asarray(self.vs)
        for k, _, pos in split(shots, self.ts, pairs=True):
            if len(pos) < 3:
                continue
            score = float(np.percentile(v[pos], self.pct))
            if k < len(per_shot):
                prev = per_shot[k]["jitter"] if per_shot[k] else -1.0
                per_shot[k] = {"jitter": round(max(score, prev), 3)}
            if best is None or score > best:
                best, best_steps = score, pos
        data = {"score": None if best is None else round(best, 4), **base,
                "curve": curve(self.ts, self.vs), "per_shot": per_shot}
        findings = []
        if best is not None and best >= warn:
            hot = best_steps[v[best_steps] >= warn]
            hot = hot if len(hot) else best_steps
            t0, t1 = float(self.ts[hot[0]]), float(self.ts[hot[-1]])
            region = self._region(hot)
            findings.append(Finding(
                QUALITY, FAIL if best >= fail else WARN, "quality.jitter",
                f"Jitter {best:.1f} px (at 1280 px wide; warn {warn:g}, fail {fail:g}) from {t0:.2f} to {t1:.2f} s "
                f"in the region x={region[0]} y={region[1]} {region[2]}x{region[3]} px: shapes jump back and forth "
                "between frames while the camera and their surroundings move smoothly.",
                {"score": round(best, 4), "range": [round(t0, 3), round(t1, 3)], "region": region},
            ))
        data["region"] = findings[0].evidence["region"] if findings else None
        return DetectorResult(data, tuple(findings))


DETECTORS = [JitterDetector]
