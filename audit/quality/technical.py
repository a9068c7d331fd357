"""Technical faults: black frames, frozen runs and hard cuts, each with its time ranges.

- black: the frame's mean luma is below ``[technical] black_level`` and nearly uniform;
- frozen: consecutive frames identical to within ``freeze_diff`` (mean absolute difference in
  8-bit levels, on the motion model's 160 px grey copy) for at least ``freeze_min_s``: a repeated frame does not change at
  all, while grain, light and compression keep changing even a static shot a little. When every
  frame is the same picture the clip is reported as a still (info), not as frozen;
- cut: the global motion model fails between two frames and their colour histograms differ
  (Bhattacharyya distance above ``cut_distance``): the scene changed at once.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..detectors import Detector, DetectorResult
from ..findings import INFO, QUALITY, WARN, Finding
from .motion import frame_motion, small_bgr, small_gray
from .signals import ranges_from_mask

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
        self.prev_frame = None

    def feed(self, frame) -> None:
        m = frame_motion(self.ctx, frame)
        gray = small_gray(frame)  # the motion model's small copy: no extra resize
        mean, std = cv2.meanStdDev(gray)
        self.ts.append(frame.t)
        self.black.append(float(mean[0, 0]) < self.black_level and float(std[0, 0]) < 6.0)
        if self.prev is None:
            self.frozen.append(False)
        else:
            diff = cv2.norm(gray, self.prev, cv2.NORM_L1) / gray.size
            self.frozen.append(diff < self.freeze_diff and not self.black[-1])
            motion_failed = m is not None and (not m.ok or m.inlier_ratio < 0.3)
            if motion_failed and not (self.black[-1] or self.black[-2]):
                # colour histograms only for the rare pairs the motion model could not join
                dist = cv2.compareHist(_hist(self.prev_frame), _hist(frame), cv2.HISTCMP_BHATTACHARYYA)
                if dist > self.cut_distance:
                    self.cuts.append({"t": round(frame.t, 3), "distance": round(float(dist), 3)})
        self.prev, self.prev_frame = gray, frame

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


def _hist(frame) -> np.ndarray:
    h = cv2.calcHist([small_bgr(frame, SIDE)], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3)
    return cv2.normalize(h, h)


def _fmt(ranges) -> str:
    return ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in ranges)


DETECTORS = [TechnicalDetector]
