"""Geometric drift: structure that slowly changes shape in a way no camera and no mover explains.

Built on the shared point tracks (``audit.quality.tracks``). The shot is cut into intervals of
``[drift] interval_s`` (shorter when the tracked points leave the picture). Over each interval
the points followed from its start to its end are fitted with the camera's motion: an affine
map, a homography when it explains clearly more points, or a fundamental matrix when the camera
has moved and it explains clearly more again (a moving camera over a scene with depth: parallax
obeys the epipolar constraint, so only the offset across the epipolar lines is left). What is
left over is each point's residual. Points whose residual exceeds ``gate_px`` (an independent
mover over that interval) are set aside, and the picture is cut into a 6 x 4 grid: a cell's
residual is the median of its points' when they agree (spread under ``spread_px`` plus half
the cell's motion); where they do not (water, foliage, a crowd), the cell says nothing.

Drift is what persists: per cell, the median residual *rate* over the shot's intervals (px per
second, a vector) less ``confidence_z`` standard errors of that median, times the shot's
duration: how far that part of the picture moved that no camera explains, in the same direction,
for most of the shot. A mover crosses a cell for a minority of the intervals and natural motion
changes direction: the median and its error bound leave them out. Only cells measured in at
least ``[drift] cell_share`` of the shot's intervals count (half of them when fewer than four
cells reach that): a cell that movers or leaving points keep emptying gets its median from the
few intervals it happened to be seen in, which is where most of the clean clips' spread was.
``score``: over the cells with support, the median of that displacement (px at 1280 px wide),
largest over the shots. On tripod
footage a warp of the whole picture growing to w px over the clip scores 0.2-0.3 w; a
deformation that comes and goes, or covers under half the picture, scores little (jitter and
the reference check see other failures).

When the reference image is known (``--reference`` or the request's), ``audit.quality.reference``
measures how far the first shot starts from and holds it (SSIM after alignment).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..detectors import Detector, DetectorResult
from ..findings import FAIL, QUALITY, WARN, Finding
from .motion import small_gray
from .reference import ReferenceCheck
from .signals import curve
from .tracks import SIDE, frame_tracks

GRID = (6, 4)          # cells across, down (swapped for portrait frames)
MIN_POINTS = 15        # points followed over an interval for it to count
MIN_CELLS = 4          # cells with support a shot needs for a score
PX_AT = 1280.0         # scores are px at this width (the injected warps' unit)
THRESH = 0.7           # px at the tracked copy: RANSAC inlier distance of the camera models
RICHER = 0.1           # share of the points a richer camera model must explain beyond a simpler one
RICHER_F = 0.3         # the same for the fundamental matrix (parallax) over the best of those two
PARALLAX_MIN = 2.0     # px at the tracked copy the median point must move for parallax to be considered


def camera_residual(pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """Residual displacement of each point (px, N x 2) after the camera's motion from ``pa`` to
    ``pb``, the 3 x 3 camera matrix fitted (for chaining), and the model that explained it:
    "A" (affine), "H" (homography) or "F" (fundamental matrix).

    The simplest model that explains nearly as many points as a richer one is kept: every
    degree of freedom a model has to spare also absorbs part of a real deformation (a
    homography bends to a smooth warp over the few cells that hold the points)."""
    n = len(pa)
    A, ma = cv2.estimateAffine2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=THRESH, maxIters=300)
    if A is None:
        return None, None, "-"
    M = np.vstack([A, [0.0, 0.0, 1.0]])
    best, inl, model = M, int(ma.sum()), "A"
    # A richer model is fitted only when it could still be chosen: it cannot explain more than
    # all n points, so once the simpler one explains n - RICHER * n the fit would be wasted
    # (each RANSAC call seeds its own generator, so skipping one changes no other result).
    if inl + RICHER * n < n:
        H, mh = cv2.findHomography(pa, pb, cv2.RANSAC, THRESH, maxIters=300)
        if H is not None and int(mh.sum()) > inl + RICHER * n:
            best, inl, model = H, int(mh.sum()), "H"
    moved = float(np.median(np.hypot(*(pb - pa).T)))
    if moved < PARALLAX_MIN or inl + RICHER_F * n >= n:
        return pb - cv2.perspectiveTransform(pa.reshape(-1, 1, 2), best).reshape(-1, 2), best, model
    F, mf = cv2.findFundamentalMat(pa, pb, cv2.FM_RANSAC, THRESH, 0.99)
    # Parallax: a moving camera over a scene with depth. The fundamental matrix has one more
    # degree of freedom per point (its depth), so it must explain clearly more to be chosen; a
    # static camera (no baseline, the median point moved under ``PARALLAX_MIN``) leaves it
    # degenerate: it would fit movers and deformations alike, so it is not tried.
    if F is not None and F.shape == (3, 3) and mf is not None and int(mf.sum()) > inl + RICHER_F * n:
        line = np.c_[pa, np.ones(n)] @ F.T
        norm = np.maximum(np.hypot(line[:, 0], line[:, 1]), 1e-9)
        d = (np.c_[pb, np.ones(n)] * line).sum(1) / norm
        return -d[:, None] * (line[:, :2] / norm[:, None]), best, "F"
    e = pb - cv2.perspectiveTransform(pa.reshape(-1, 1, 2), best).reshape(-1, 2)
    return e, best, model


def cell_index(p: np.ndarray, w: int, h: int) -> tuple[np.ndarray, int, int]:
    gx, gy = GRID if w >= h else GRID[::-1]
    cx = np.clip((p[:, 0] * gx / w).astype(int), 0, gx - 1)
    cy = np.clip((p[:, 1] * gy / h).astype(int), 0, gy - 1)
    return cy * gx + cx, gx, gy


def group_medians(e: np.ndarray, cells: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Median vector of ``e`` (N x 2) per cell and the cell's point count, in one sort per
    component (a per-cell ``np.median`` loop cost ~0.4 ms a frame): (n_cells x 2 with NaN for
    empty cells, n_cells counts)."""
    counts = np.bincount(cells, minlength=n_cells)
    out = np.full((n_cells, 2), np.nan)
    if len(e) == 0:
        return out, counts
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    for c in range(2):
        v = e[np.lexsort((e[:, c], cells)), c]
        out[has, c] = 0.5 * (v[lo] + v[hi])
    return out, counts


def cell_medians(e: np.ndarray, cells: np.ndarray, n_cells: int, gate: float | None, spread: float | None,
                 min_points: int = 3) -> np.ndarray:
    """Median residual vector per cell (n_cells x 2, NaN where a cell has too few points or
    they disagree). Points over ``gate`` px are left out first."""
    if gate is not None:
        ok = np.hypot(e[:, 0], e[:, 1]) < gate
        e, cells = e[ok], cells[ok]
    med, counts = group_medians(e, cells, n_cells)
    med[counts < min_points] = np.nan
    if spread is not None and len(e):
        # agreement relative to the motion: a cell that bends smoothly still moves as one, a
        # cell of water glints or leaves scatters as much as it moves
        dev = np.hypot(*(e - med[cells]).T)[:, None].repeat(2, axis=1)
        mdev, _ = group_medians(dev, cells, n_cells)
        bad = mdev[:, 0] > spread + 0.5 * np.hypot(med[:, 0], med[:, 1])
        med[bad] = np.nan
    return med


def persistent_displacement(rates: np.ndarray, durations: np.ndarray, min_share: float = 0.5,
                            z: float = 0.5) -> np.ndarray:
    """Per cell, how far it moved that no camera explains, in the same direction over the
    intervals: the median residual rate (a vector) times the total duration, less ``z``
    standard errors of that median (a lower confidence bound, floored at 0: a cell whose
    rates scatter from interval to interval, as movers, water and tracking noise do, has not
    shown a steady drift). px; NaN for cells measured in fewer than ``min_share`` of the
    intervals (or fewer than two)."""
    support = np.isfinite(rates[..., 0]).sum(axis=0)
    ok = support >= max(2, min_share * len(rates))
    out = np.full(rates.shape[1], np.nan)
    if ok.any():
        r = rates[:, ok]
        med = np.nanmedian(r, axis=0)
        dev = np.hypot(*(r - med[None]).transpose(2, 0, 1))
        sigma = 1.4826 * np.nanmedian(dev, axis=0)
        # the standard error of a median is ~1.25 sigma / sqrt(n)
        bound = np.hypot(med[:, 0], med[:, 1]) - z * 1.25 * sigma / np.sqrt(support[ok])
        out[ok] = np.maximum(bound, 0.0) * float(durations.sum())
    return out


def steady_displacement(rates: np.ndarray, durations: np.ndarray, z: float,
                        shares: tuple[float, ...]) -> np.ndarray:
    """``persistent_displacement`` over the cells measured in at least the first of ``shares``
    of the intervals; when fewer than ``MIN_CELLS`` cells have that support, the next share is
    tried (so a shot whose points come and go still gets a score). A cell seen in only half of
    the intervals is mostly one that movers or leaving points empty: its median rate comes from
    the intervals it happened to be seen in, which is where the clean clips' spread comes from."""
    disp = np.full(rates.shape[1], np.nan)
    for share in shares:
        disp = persistent_displacement(rates, durations, min_share=share, z=z)
        if np.isfinite(disp).sum() >= MIN_CELLS:
            break
    return disp


class DriftDetector(Detector):
    name = "drift"
    slot = "metrics"
    order = 30
    lane = "drift"     # its own thread (from 3 cores): with jitter, shares the point tracks

    def __init__(self, ctx):
        super().__init__(ctx)
        pol = ctx.policy.section("drift")
        self.interval_s = float(pol["interval_s"])
        self.keep = float(pol["keep_share"])
        self.gate = float(pol["gate_px"])
        self.spread = float(pol["spread_px"])
        self.z = float(pol["confidence_z"])
        self.shares = (float(pol["cell_share"]), 0.5)
        self.key: dict[int, np.ndarray] = {}       # id -> position at the interval's start
        self.key_t: float | None = None
        self.scale = 1.0                            # px of the tracked copy -> px at 1280 wide
        # per interval: end time, duration, cell residual rates (px at 1280 per s), model
        self.intervals: list[tuple[float, float, np.ndarray, str]] = []
        self.H_first_cur = np.eye(3)               # chained camera motion of the first shot
        self.first_shot = True
        self.refcheck = ReferenceCheck(ctx.reference)

    def feed(self, frame) -> None:
        s = frame_tracks(self.ctx, frame)
        if s is None:
            return
        w, h = s.size
        if self.key_t is None or s.cut:
            if self.key_t is None:
                self.scale = PX_AT / w
                self.refcheck.start(small_gray(frame, SIDE), s.t)
            else:
                self.first_shot = False
                self.refcheck.done = True
            self._restart(s)
            return
        alive = np.isin(s.ids, self.key_ids, assume_unique=True)
        close = s.t - self.key_t >= self.interval_s - 1e-6 or alive.sum() < self.keep * max(len(self.key), 1)
        if not close:
            return   # points found during an interval are followed from the next one
        if alive.sum() >= MIN_POINTS:
            pa = np.array([self.key[int(i)] for i in s.ids[alive]], np.float64)
            pb = s.cur[alive].astype(np.float64)
            e, H, model = camera_residual(pa, pb)
            dt = max(s.t - self.key_t, 1e-3)
            if e is not None:
                cells, gx, gy = cell_index(pb, w, h)
                med = cell_medians(e * self.scale, cells, gx * gy, self.gate, self.spread)
                self.intervals.append((s.t, dt, med / dt, model))
                if self.first_shot and H is not None:
                    self.H_first_cur = H @ self.H_first_cur
                    if self.refcheck.due(s.t):
                        self.refcheck.measure(s.t, small_gray(frame, SIDE), self.H_first_cur)
        self._restart(s)

    def _restart(self, s) -> None:
        self.key = {int(i): p for i, p in zip(s.ids, s.cur)}
        self.key.update({int(i): p for i, p in zip(s.new_ids, s.new_pts)})
        self.key_ids = np.fromiter(self.key, np.int64, len(self.key))   # asked on every tracked step
        self.key_t = s.t

    # -- after the pass ------------------------------------------------------------------------
    def _pieces(self) -> list[tuple[int, list[int]]]:
        """Interval positions grouped by shot (``ctx.shared["shots"]``; intervals reaching into
        a transition or across a boundary are left out)."""
        from .shots import split

        ts = [iv[0] for iv in self.intervals]
        starts = [iv[0] - iv[1] for iv in self.intervals]
        shots = self.ctx.shared.get("shots") or []
        groups: dict[int, list[int]] = {}
        for k, shot, pos in split(shots, ts):
            for p in pos:
                if shot is None or (starts[p] >= shot.start_s - 1e-6 and
                                    not any(a < ts[p] and b > starts[p] for a, b in shot.excluded)):
                    groups.setdefault(k, []).append(int(p))
        return sorted(groups.items())

    def finish(self) -> DetectorResult:
        pol = self.ctx.policy.section("drift")
        warn, fail = float(pol["warn"]), float(pol["fail"])
        base = {"threshold": {"warn": warn, "fail": fail},
                "scale": "median over the picture of the displacement no camera move explains that persists "
                         "over the shot, px at 1280 px wide"}
        ref = self.refcheck.block()
        n_shots = max(1, len(self.ctx.shared.get("shots") or []))
        per_shot: list = [None] * n_shots
        ts, vs = [], []
        best, best_at, cells_best = None, None, None
        for k, pos in self._pieces():
            if len(pos) < 3:
                continue
            rates = np.stack([self.intervals[p][2] for p in pos])
            durs = np.array([self.intervals[p][1] for p in pos])
            # the curve: the same measure over the shot so far (it grows when drift does)
            for j in range(3, len(pos) + 1):
                disp = steady_displacement(rates[:j], durs[:j], self.z, self.shares)
                ok = np.isfinite(disp)
                ts.append(self.intervals[pos[j - 1]][0])
                vs.append(float(np.median(disp[ok])) if ok.sum() >= MIN_CELLS else float("nan"))
            disp = steady_displacement(rates, durs, self.z, self.shares)
            ok = np.isfinite(disp)
            if ok.sum() < MIN_CELLS:
                continue
            score = float(np.median(disp[ok]))
            if k < n_shots:
                per_shot[k] = {"drift": round(score, 3), "cells": int(ok.sum()), "intervals": len(pos)}
            if best is None or score > best:
                # the range: from when the shot's drift first reached the warn level to its end
                shot_v = np.asarray(vs[len(vs) - (len(pos) - 2):], np.float64)
                shot_t = ts[len(ts) - (len(pos) - 2):]
                over = np.flatnonzero(np.nan_to_num(shot_v, nan=-1.0) >= warn)
                start = shot_t[over[0]] if len(over) else self.intervals[pos[0]][0] - self.intervals[pos[0]][1]
                best, best_at, cells_best = score, (start, self.intervals[pos[-1]][0]), int(ok.sum())
        models = [iv[3] for iv in self.intervals]
        data = {
            "score": None if best is None else round(best, 4), **base,
            "curve": curve(ts, vs),
            "intervals": len(self.intervals),
            "parallax_share": round(models.count("F") / len(models), 3) if models else 0.0,
            "cells": cells_best,
            "per_shot": per_shot,
            **ref,
        }
        findings = []
        if best is not None and best >= warn:
            findings.append(Finding(
                QUALITY, FAIL if best >= fail else WARN, "quality.drift",
                f"Geometric drift {best:.1f} px (at 1280 px wide; warn {warn:g}, fail {fail:g}) from "
                f"{best_at[0]:.2f} to {best_at[1]:.2f} s: the picture keeps bending the same way, which no camera "
                "move or moving subject explains.",
                {"score": round(best, 4), "range": [round(best_at[0], 3), round(best_at[1], 3)]},
            ))
        findings += list(self.refcheck.findings(float(pol["min_reference_ssim"])))
        return DetectorResult(data, tuple(findings))


DETECTORS = [DriftDetector]
