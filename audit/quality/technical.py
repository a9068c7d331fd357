"""Technical faults: black frames, frozen runs and hard cuts, each with its time ranges.

- black: the frame's mean luma is below ``[technical] black_level`` and nearly uniform;
- frozen: consecutive frames identical to within ``freeze_diff`` (mean absolute difference in
  8-bit levels, on the motion model's 160 px grey copy) for at least ``freeze_min_s``: a repeated frame does not change at
  all, while grain, light and compression keep changing even a static shot a little. When every
  frame is the same picture the clip is reported as a still (info), not as frozen;
- cut: a shot boundary (hard cut, fade or dissolve) from ``audit.quality.shots``, the one source
  of shot boundaries every metric uses;
- repeated frames (a frame identical to the one before while the picture moves) and dropped
  frames (gaps in the frame timestamps), also found by ``audit.quality.shots``: an uneven
  cadence a viewer sees as a stutter.
"""

from __future__ import annotations

import cv2

from ..detectors import Detector, DetectorResult
from ..findings import INFO, QUALITY, WARN, Finding
from .motion import small_gray
from .signals import ranges_from_mask

class TechnicalDetector(Detector):
    name = "technical"
    slot = "metrics"
    order = 40

    def __init__(self, ctx):
        super().__init__(ctx)
        pol = ctx.policy.section("technical")
        self.black_level = float(pol["black_level"])
        self.freeze_diff = float(pol["freeze_diff"])
        self.ts: list[float] = []
        self.black: list[bool] = []
        self.frozen: list[bool] = []
        self.prev = None

    def feed(self, frame) -> None:
        gray = small_gray(frame)  # the motion model's small copy: no extra resize
        mean, std = cv2.meanStdDev(gray)
        self.ts.append(frame.t)
        self.black.append(float(mean[0, 0]) < self.black_level and float(std[0, 0]) < 6.0)
        if self.prev is None:
            self.frozen.append(False)
        else:
            diff = cv2.norm(gray, self.prev, cv2.NORM_L1) / gray.size
            self.frozen.append(diff < self.freeze_diff and not self.black[-1])
        self.prev = gray

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
        cuts = [{"t": round(s.start_s, 3), "boundary": s.boundary}
                 | ({"transition": [round(x, 3) for x in s.transition]} if s.transition else {})
                 for s in (self.ctx.shared.get("shots") or [])[1:]]
        repeated = _isolated(self.ctx.shared.get("repeated_frames") or [], frozen)
        dropped = self.ctx.shared.get("dropped_frames") or []
        data = {
            "still": still,
            "black_ranges": black,
            "frozen_ranges": frozen,
            "cuts": cuts,
            "repeated_frames": repeated,
            "dropped_frames": dropped,
            "black_s": round(sum(b - a for a, b in black), 3),
            "frozen_s": round(sum(b - a for a, b in frozen), 3),
            "cut_count": len(cuts),
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
        if cuts:
            at = ", ".join(f"{c['boundary']} at {c['t']:.2f} s" for c in cuts)
            findings.append(Finding(
                QUALITY, WARN, "quality.cut",
                f"Shot change{'s' if len(cuts) > 1 else ''} ({at}): the scene changes, "
                "which an image-to-video clip should not do.", {"cuts": cuts}))
        if repeated:
            findings.append(Finding(
                QUALITY, WARN, "quality.repeated_frames",
                f"{len(repeated)} repeated frame{'s' if len(repeated) > 1 else ''} amid motion (first at "
                f"{repeated[0]:.2f} s): the same picture shown twice, seen as a stutter.",
                {"times": repeated[:50], "count": len(repeated)}))
        if dropped:
            missing = sum(d["missing"] for d in dropped)
            findings.append(Finding(
                QUALITY, WARN, "quality.dropped_frames",
                f"About {missing} dropped frame{'s' if missing != 1 else ''} in {len(dropped)} gap"
                f"{'s' if len(dropped) > 1 else ''} of the frame timing (first before {dropped[0]['t']:.2f} s).",
                {"gaps": dropped[:50], "missing": missing}))
        return DetectorResult(data, tuple(findings))


def _isolated(times: list[float], frozen: list[list[float]]) -> list[float]:
    """Repeated frames outside reported frozen runs (those are reported as frozen)."""
    return [t for t in times if not any(a - 1e-6 <= t <= b + 1e-6 for a, b in frozen)]


def _fmt(ranges) -> str:
    return ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in ranges)


DETECTORS = [TechnicalDetector]
