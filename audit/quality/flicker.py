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

    def feed(self, frame) -> None:
        motion = frame_motion(self.ctx, frame)
        prev, self.prev = self.prev, frame
        if prev is None:
            return
        # VBench's formula, on the colour copies of about VBENCH_SIDE px, for side-by-side comparison.
        a, b = small_bgr(prev, VBENCH_SIDE), small_bgr(frame, VBENCH_SIDE)
        self.vb_sum += cv2.norm(b, a, cv2.NORM_L1) / b.size
        self.vb_n += 1
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
        # a 3 x 3 grid of regions: mean luma change of each over its valid pixels (one resize of
        # the stacked [luma change, luma level, valid] planes)
        vf = mask.astype(np.float32) * (1.0 / 255.0)
        luma = cv2.transform(cv2.add(b, aligned, dtype=cv2.CV_32F), _HALF_Y)
        stack = cv2.merge([diff[..., 3] * vf, luma * vf, vf])
        cells3 = cv2.resize(stack, (GRID, GRID), interpolation=cv2.INTER_AREA)
        d_cells, l_cells, m_cells = cells3[..., 0], cells3[..., 1], cells3[..., 2]
        ok = m_cells >= 0.5
        cells = np.where(ok, 100.0 * d_cells / np.maximum(l_cells, MIN_LEVEL * np.maximum(m_cells, 1e-6)), 0.0)
        out[4:] = cells.ravel()
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
            data = {"score": None, "threshold": {"warn": warn, "fail": fail}, "curve": curve([], []),
                    "vbench_temporal_flickering": vbench, "pairs_measured": n}
            return DetectorResult(data)
        fps = self.ctx.media.fps or (n / max(self.ts[-1] - self.ts[0], 1e-6))
        d = np.array(self.changes)                       # pairs x channels, in % per pair
        traj = np.cumsum(d, axis=0)                      # brightness trajectory, in %
        slow = gaussian_lowpass(traj, sigma_for_cutoff(float(pol["cutoff_hz"]), fps))
        fast = traj - slow                               # the oscillating part: flicker
        window = max(2, int(round(float(pol["window_s"]) * fps)))
        per_channel = [windowed_rms_peak(fast[:, j], window) for j in range(fast.shape[1])]
        colour = max(per_channel[:4], key=lambda p: p[0])
        region = max(per_channel[4:], key=lambda p: p[0])
        # a flickering region must stand out from the whole frame's; counted at half weight
        # so a moving object's edges (imperfect flow) do not dominate.
        score, start = max(colour, (region[0] * 0.5, region[1]), key=lambda p: p[0])
        per_frame = np.abs(fast[:, :4]).max(axis=1)
        valid = np.array(self.valid)
        per_frame[~valid] = np.nan
        exposure = float(slow[-1, 3] - slow[0, 3])
        t0 = self.ts[start]
        t1 = self.ts[min(start + window, n) - 1]
        data = {
            "score": round(score, 4),
            "threshold": {"warn": warn, "fail": fail},
            "scale": "peak windowed RMS of the motion-compensated brightness/colour oscillation, % of mean level",
            "curve": curve(self.ts, per_frame),
            "vbench_temporal_flickering": vbench,
            "luma": round(per_channel[3][0], 4),
            "colour": round(max(p[0] for p in per_channel[:3]), 4),
            "regional": round(region[0], 4),
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
