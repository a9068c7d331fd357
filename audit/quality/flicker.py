"""Temporal flicker, measured after motion compensation.

VBench's ``temporal_flickering`` is (255 - mean |frame_t - frame_t-1|) / 255: any motion counts
as flicker, so a pan "flickers" as much as a strobe. Here motion is removed first:

1. the global motion of each frame pair (``audit.quality.motion``: similarity fit, RANSAC) aligns the
   previous frame on the current one, then DIS dense optical flow (OpenCV, ultrafast preset, on
   contrast-normalised images so a brightness jump does not read as motion) absorbs what the
   global model cannot (objects moving, non-rigid warp);
2. what is left is the change of brightness and colour: the median of (current - aligned
   previous) per channel, over the pixels both frames show, in percent of the mean level, for
   the whole frame and for each cell of a 3 x 3 grid (a flickering region);
3. these per-pair changes are summed into a brightness trajectory, and a Gaussian low-pass
   (half power at ``[flicker] cutoff_hz``) splits it into slow exposure change (a fade, auto
   exposure: reported, not flicker) and the oscillating part, which is flicker.

Scale of ``score``: the largest RMS, over any ``window_s`` window, of the oscillating brightness
(or colour channel) residual, in percent of the mean level. 0 is perfectly stable; an
alternating +-2 % brightness in the decoded frames scores about 2 (an encoder may smooth away
smaller alternations: they are then not in the video either). Clean clips stay below ~0.4.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..detectors import Detector, DetectorResult
from ..findings import FAIL, QUALITY, WARN, Finding
from .motion import frame_motion, normalised, scale_matrix, small_bgr, small_gray
from .shots import is_repeat, split
from .signals import curve, gaussian_lowpass, sigma_for_cutoff, windowed_rms_peak

SIDE = 80           # analysis long side for the photometric residual (flicker is low-frequency)
GRID = 3
VBENCH_SIDE = 320   # VBench's temporal_flickering, computed alongside for comparison
MIN_LEVEL = 20.0    # levels below this (near black) are not divided by: percent of ~0 is noise
# BGR -> B, G, R, luma (BT.601), for cv2.transform
_BGRY = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.114, 0.587, 0.299]], np.float32)
_HALF_Y = _BGRY[3:] * 0.5   # half the luma of a sum of two frames: their mean luma
_KERNEL = np.ones((3, 3), np.uint8)
DENSE_BELOW = 0.9   # inlier ratio of the global model below which DIS dense flow is added


class FlickerDetector(Detector):
    name = "flicker"
    slot = "metrics"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.prev = None
        self.ts: list[float] = []
        self.changes: list[np.ndarray] = []   # per pair: [B, G, R, Y, cells...] change in %
        self.valid: list[bool] = []
        self.vb_sum = 0.0
        self.vb_n = 0
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._base = None
        self._ones = None
        self.dense_pairs = 0
        self.repeats = 0
        self.vb_prev = None

    def feed(self, frame) -> None:
        motion = frame_motion(self.ctx, frame)
        if self.vb_prev is not None:
            # VBench's formula (every frame, as VBench reads them), on the colour copies of about
            # VBENCH_SIDE px, for side-by-side comparison
            a, b = small_bgr(self.vb_prev, VBENCH_SIDE), small_bgr(frame, VBENCH_SIDE)
            self.vb_sum += cv2.norm(b, a, cv2.NORM_L1) / b.size
            self.vb_n += 1
        self.vb_prev = frame
        if is_repeat(self.ctx, frame):
            # a repeated frame is the previous picture again: measuring it would give a zero
            # change and then a double step, an uneven cadence that reads as oscillation
            self.repeats += 1
            return
        prev, self.prev = self.prev, frame
        if prev is None:
            return
        self.ts.append(frame.t)
        change = self._pair_change(prev, frame, motion) if motion is not None and motion.ok else None
        self.valid.append(change is not None)
        self.changes.append(change if change is not None else np.zeros(4 + GRID * GRID))

    def _grid(self, h: int, w: int) -> np.ndarray:
        if self._base is None or self._base.shape[:2] != (h, w):
            self._base = np.indices((h, w), np.float32)[::-1].transpose(1, 2, 0).copy()
        return self._base

    def _pair_change(self, prev, cur, m) -> np.ndarray | None:
        a, b = small_bgr(prev, SIDE), small_bgr(cur, SIDE)
        h, w = b.shape[:2]
        M = scale_matrix(m.matrix, w / small_gray(cur).shape[1])
        warped = cv2.warpAffine(a, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpAffine(self._full(h, w), M, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        # Dense flow from the current frame to the aligned previous one, brightness removed:
        # absorbs what the global model cannot (moving objects, non-rigid warp).
        # Only where needed: when the global model leaves a share of the points unexplained.
        if m.inlier_ratio < DENSE_BELOW:
            g0 = normalised(cv2.cvtColor(b, cv2.COLOR_BGR2GRAY))
            g1 = normalised(cv2.cvtColor(warped, cv2.COLOR_BGR2GRAY))
            grid = self._grid(h, w) + self._dis.calc(g0, g1, None)
            aligned = cv2.remap(warped, grid, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            mask = cv2.remap(mask, grid, None, cv2.INTER_NEAREST, borderValue=0)
            self.dense_pairs += 1
        else:
            aligned = warped
        mask = cv2.erode(mask, _KERNEL)
        valid = np.flatnonzero(mask)
        if len(valid) < 0.3 * h * w:
            return None
        # the change of B, G, R and luma, as one 4-channel float plane (luma is linear in B, G, R)
        diff = cv2.transform(cv2.subtract(b, aligned, dtype=cv2.CV_32F), _BGRY)
        bgr = np.add(cv2.mean(b, mask=mask)[:3], cv2.mean(aligned, mask=mask)[:3]) / 2.0
        level = np.maximum(np.append(bgr, bgr @ _BGRY[3]), MIN_LEVEL)
        out = np.empty(4 + GRID * GRID)
        # medians over every other valid pixel (same answer, half the work); np.partition picks
        # the middle of each channel in one call (np.median's bookkeeping costs more here)
        sel = diff.reshape(-1, 4).take(valid[::2], axis=0).T.copy()
        k = sel.shape[1] // 2
        out[:4] = 100.0 * np.partition(sel, k, axis=1)[:, k] / level
        # a 3 x 3 grid of regions: the median luma change of each over its valid pixels, against
        # its mean level. A median, not a mean: a hand or an animal moving inside a region (not
        # fully absorbed by the flow, or with no dense flow at all when the global model explains
        # most points) changes a minority of its pixels a lot, a flicker changes all of them.
        luma = cv2.transform(cv2.add(b, aligned, dtype=cv2.CV_32F), _HALF_Y)
        dy = diff[..., 3]
        ys = np.linspace(0, h, GRID + 1).astype(int)
        xs = np.linspace(0, w, GRID + 1).astype(int)
        m = mask > 0
        # flat pixels: motion changes a pixel by its gradient times the displacement, a flicker
        # changes every pixel; the flatter half of each region carries the flicker, not the motion
        gy = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY)
        grad = cv2.absdiff(cv2.dilate(gy, _KERNEL), cv2.erode(gy, _KERNEL))
        for r in range(GRID):
            for c in range(GRID):
                cm = m[ys[r]:ys[r + 1], xs[c]:xs[c + 1]]
                k = int(cm.sum())
                if k < 0.5 * cm.size:
                    out[4 + r * GRID + c] = 0.0
                    continue
                gc = grad[ys[r]:ys[r + 1], xs[c]:xs[c + 1]]
                cm = cm & (gc <= np.partition(gc[cm], k // 2)[k // 2])
                k = int(cm.sum())
                vals = dy[ys[r]:ys[r + 1], xs[c]:xs[c + 1]][cm]
                lvl = float(luma[ys[r]:ys[r + 1], xs[c]:xs[c + 1]][cm].mean())
                out[4 + r * GRID + c] = 100.0 * float(np.partition(vals, k // 2)[k // 2]) / max(lvl, MIN_LEVEL)
        return out

    def _full(self, h: int, w: int) -> np.ndarray:
        if self._ones is None or self._ones.shape != (h, w):
            self._ones = np.full((h, w), 255, np.uint8)
        return self._ones

    def finish(self) -> DetectorResult:
        pol = self.ctx.policy.section("flicker")
        warn, fail = float(pol["warn"]), float(pol["fail"])
        n = len(self.changes)
        vbench = round((255.0 - self.vb_sum / self.vb_n) / 255.0, 5) if self.vb_n else None
        if n < 2:
            # every frame repeats the one before (a still): nothing oscillates
            data = {"score": 0.0 if self.repeats else None, "threshold": {"warn": warn, "fail": fail}, "curve": curve([], []),
                    "vbench_temporal_flickering": vbench, "pairs_measured": n}
            return DetectorResult(data)
        fps = self.ctx.media.fps or (n / max(self.ts[-1] - self.ts[0], 1e-6))
        d = np.array(self.changes)                       # pairs x channels, in % per pair
        valid = np.array(self.valid)
        sigma = sigma_for_cutoff(float(pol["cutoff_hz"]), fps)
        window = max(2, int(round(float(pol["window_s"]) * fps)))
        shots = self.ctx.shared.get("shots") or []
        fast = np.full_like(d, np.nan)
        slow = np.zeros_like(d)
        # Per shot, transitions left out: a cut is never flicker, a fade is not flicker. Each
        # piece gets its own brightness trajectory (changes summed), split by a Gaussian
        # low-pass into slow exposure change and the oscillating part, which is flicker.
        pieces = [(k, pos) for k, _, pos in split(shots, self.ts, pairs=True) if len(pos) >= 3]
        for _, pos in pieces:
            traj = np.cumsum(d[pos], axis=0)
            low = gaussian_lowpass(traj, sigma)
            slow[pos] = low
            fast[pos] = traj - low
        best = (0.0, 0, 0, "luma")                       # score, piece, start, channel kind
        per_shot: list[float | None] = [None] * max(1, len(shots))
        per_channel = np.zeros(fast.shape[1])
        for p, (k, pos) in enumerate(pieces):
            peaks = [windowed_rms_peak(fast[pos, j], window) for j in range(fast.shape[1])]
            per_channel = np.maximum(per_channel, [q[0] for q in peaks])
            colour = max(peaks[:4], key=lambda q: q[0])
            region = max(peaks[4:], key=lambda q: q[0])
            # a flickering region must stand out from the whole frame's; counted at half weight
            # so a moving object's edges (imperfect flow) do not dominate.
            sc, st = max(colour, (region[0] * 0.5, region[1]), key=lambda q: q[0])
            per_shot[k] = round(max(per_shot[k] or 0.0, sc), 4)
            if sc > best[0]:
                best = (sc, p, st, "")
        score = best[0]
        if pieces:
            pos = pieces[best[1]][1]
            start = int(pos[min(best[2], len(pos) - 1)])
            stop = int(pos[min(best[2] + window, len(pos)) - 1])
        else:
            start = stop = 0
        per_frame = np.abs(fast[:, :4]).max(axis=1)
        per_frame[~valid] = np.nan
        region_peak = float(per_channel[4:].max()) if len(per_channel) > 4 else 0.0
        exposure = float(max((slow[pos[-1], 3] - slow[pos[0], 3] for _, pos in pieces), key=abs, default=0.0))
        t0 = self.ts[start]
        t1 = self.ts[stop]
        data = {
            "score": round(score, 4),
            "threshold": {"warn": warn, "fail": fail},
            "scale": "peak windowed RMS of the motion-compensated brightness/colour oscillation, % of mean level",
            "curve": curve(self.ts, per_frame),
            "vbench_temporal_flickering": vbench,
            "luma": round(float(per_channel[3]), 4),
            "colour": round(float(per_channel[:3].max()), 4),
            "regional": round(region_peak, 4),
            "per_shot": per_shot,
            "repeated_frames_skipped": self.repeats,
            "exposure_change_pct": round(exposure, 3),
            "pairs_measured": int(valid.sum()),
            "pairs_skipped": int((~valid).sum()),
            "pairs_dense_flow": self.dense_pairs,
        }
        findings = []
        if score >= warn:
            sev = FAIL if score >= fail else WARN
            findings.append(Finding(
                QUALITY, sev, "quality.flicker",
                f"Flicker {score:.2f} (threshold warn {warn:g}, fail {fail:g}; % of brightness) peaking "
                f"{t0:.2f}-{t1:.2f} s: brightness or colour oscillates from frame to frame after motion is removed.",
                {"score": round(score, 4), "range": [round(t0, 3), round(t1, 3)],
                 "vbench_temporal_flickering": vbench},
            ))
        return DetectorResult(data, tuple(findings))


DETECTORS = [FlickerDetector]
