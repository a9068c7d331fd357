"""Technical faults: black frames, frozen runs and hard cuts, each with its time ranges.

- black: the frame's mean luma is below ``[technical] black_level`` and nearly uniform;
- frozen: consecutive frames identical to within ``freeze_diff`` (mean absolute difference in
  8-bit levels, at 128 px) for at least ``freeze_min_s``: a repeated frame does not change at
  all, while grain, light and compression keep changing even a static shot a little. When every
  frame is the same picture the clip is reported as a still (info), not as frozen;
- cut: the global motion model fails between two frames and their colour histograms differ
  (Bhattacharyya distance above ``cut_distance``): the scene changed at once.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..findings import INFO, QUALITY, WARN, Finding
from ..motion import frame_motion, small_bgr
from ..signals import ranges_from_mask
from . import Detector, DetectorResult

SIDE = 128


class TechnicalDetector(Detector):
    name = "technical"
    slot = "metrics"
    order = 40

    def __init__(self, ctx):
        super().__init__(ctx)
        pol = ctx.policy.section("technical")
        self.black_level = float(pol["black_level"])
        self.freeze_diff = float(pol["freeze_diff"])
        self.cut_distance = float(pol["cut_distance"])
        self.ts: list[float] = []
        self.black: list[bool] = []
        self.frozen: list[bool] = []
        self.cuts: list[dict] = []
        self.prev = None
        self.prev_hist = None

    def feed(self, frame) -> None:
        m = frame_motion(self.ctx, frame)
        img = small_bgr(frame, SIDE)
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        mean, std = cv2.meanStdDev(gray)
        self.ts.append(frame.t)
        self.black.append(float(mean[0, 0]) < self.black_level and float(std[0, 0]) < 6.0)
        hist = cv2.calcHist([img], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3)
        cv2.normalize(hist, hist)
        if self.prev is None:
            self.frozen.append(False)
        else:
            diff = cv2.norm(img, self.prev, cv2.NORM_L1) / img.size
            self.frozen.append(diff < self.freeze_diff and not self.black[-1])
            dist = cv2.compareHist(self.prev_hist, hist, cv2.HISTCMP_BHATTACHARYYA)
            motion_failed = m is not None and (not m.ok or m.inlier_ratio < 0.3)
            if motion_failed and dist > self.cut_distance and not (self.black[-1] or self.black[-2]):
                self.cuts.append({"t": round(frame.t, 3), "distance": round(float(dist), 3)})
        self.prev, self.prev_hist = img, hist

    def finish(self) -> DetectorResult:
        pol = self.ctx.policy.section("technical")
        n = len(self.ts)
        fps = self.ctx.media.fps or ((n - 1) / max(self.ts[-1] - self.ts[0], 1e-6) if n > 1 else 1.0)
        frame_s = 1.0 / fps
        black = ranges_from_mask(self.ts, self.black, frame_s)
        # a frozen flag marks a frame equal to the one before: the run starts one frame earlier
        frozen_mask = list(self.frozen)
        for i in range(1, n):
            if self.frozen[i] and not self.frozen[i - 1]:
                frozen_mask[i - 1] = True
        frozen = [r for r in ranges_from_mask(self.ts, frozen_mask, frame_s)
                  if r[1] - r[0] >= float(pol["freeze_min_s"]) - 1e-6]
        duration = max(self.ctx.media.duration_s or 0.0, n * frame_s)
        still = bool(frozen) and sum(b - a for a, b in frozen) >= 0.95 * duration
        if still:
            frozen = []  # every frame the same picture: a still, reported as such below
        data = {
            "still": still,
            "black_ranges": black,
            "frozen_ranges": frozen,
            "cuts": self.cuts,
            "black_s": round(sum(b - a for a, b in black), 3),
            "frozen_s": round(sum(b - a for a, b in frozen), 3),
            "cut_count": len(self.cuts),
        }
        findings = []
        if black:
            findings.append(Finding(
                QUALITY, WARN, "quality.black_frames",
                f"Black frames at {_fmt(black)} ({data['black_s']:.2f} s in all).", {"ranges": black}))
        if frozen:
            findings.append(Finding(
                QUALITY, WARN, "quality.frozen",
                f"Frozen picture (repeated frames) at {_fmt(frozen)} ({data['frozen_s']:.2f} s in all).",
                {"ranges": frozen}))
        if still:
            findings.append(Finding(
                QUALITY, INFO, "quality.still",
                "Every frame shows the same picture (no change at all from frame to frame): a still image "
                "encoded as video.", {}))
        if self.cuts:
            at = ", ".join(f"{c['t']:.2f} s" for c in self.cuts)
            findings.append(Finding(
                QUALITY, WARN, "quality.cut",
                f"Hard cut{'s' if len(self.cuts) > 1 else ''} at {at}: the scene changes at once, "
                "which an image-to-video clip should not do.", {"cuts": self.cuts}))
        return DetectorResult(data, tuple(findings))


def _fmt(ranges) -> str:
    return ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in ranges)


DETECTORS = [TechnicalDetector]
