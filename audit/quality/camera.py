"""Camera motion over time, and whether it is what the prompt asked for.

From the global motion of each frame pair (``audit.quality.motion``: a similarity fitted with RANSAC,
so moving objects do not count) come four rates: pan (content shift in frame widths per
second), tilt (frame heights per second), zoom (relative scale change per second) and roll
(degrees per second). They are smoothed over ``[camera] smooth_s``, divided by their policy
thresholds, and each frame gets the label of the strongest (``static`` when none reaches its
threshold, ``complex`` when two do about equally). Runs of one label become segments;
segments shorter than ``min_segment_s`` are absorbed by their neighbours.

Labels name how the camera moves (docs/contract.md): content sliding right = the camera pans left.
"""

from __future__ import annotations

import math

import numpy as np

from ..detectors import Detector, DetectorResult
from ..findings import QUALITY, WARN, Finding
from .camera_prompt import expected_timeline, parse_camera
from .motion import frame_motion
from .signals import curve, gaussian_lowpass

_AXES = ("pan", "tilt", "zoom", "roll")


def _label(axis: str, value: float) -> str:
    if axis == "pan":
        return "pan_left" if value > 0 else "pan_right"   # content right => camera left
    if axis == "tilt":
        return "tilt_up" if value > 0 else "tilt_down"    # content down => camera up
    if axis == "zoom":
        return "zoom_in" if value > 0 else "zoom_out"
    return "roll"


class CameraDetector(Detector):
    name = "camera"
    slot = "metrics"
    order = 20

    def __init__(self, ctx):
        super().__init__(ctx)
        self.ts: list[float] = []
        self.rates: list[tuple[float, float, float, float]] = []
        self.ok: list[bool] = []
        self.prev_t: float | None = None

    def feed(self, frame) -> None:
        m = frame_motion(self.ctx, frame)
        prev_t, self.prev_t = self.prev_t, frame.t
        if m is None or prev_t is None:
            return
        dt = max(frame.t - prev_t, 1e-3)
        self.ts.append(frame.t)
        self.ok.append(m.ok)
        if m.ok:
            self.rates.append((m.dx / dt, m.dy / dt, math.log(max(m.scale, 1e-6)) / dt, m.angle / dt))
        else:
            self.rates.append((math.nan,) * 4)

    def finish(self) -> DetectorResult:
        pol = self.ctx.policy.section("camera")
        req = parse_camera(self.ctx.source.prompt if self.ctx.source else None)
        if not req and self.ctx.source and self.ctx.source.expected_camera:
            req = parse_camera(self.ctx.source.expected_camera.replace("_", " "))
        duration = self.ctx.media.duration_s or (self.ts[-1] if self.ts else 0.0)
        n = len(self.ts)
        if n < 2:
            return DetectorResult({"motion": None, "segments": [], "requested": [r.to_dict() for r in req] or None})
        r = np.array(self.rates, np.float64)
        bad = np.isnan(r).any(axis=1)
        r[bad] = 0.0  # a cut or an untrackable frame: no motion evidence
        fps = (n - 1) / max(self.ts[-1] - self.ts[0], 1e-6)
        sm = gaussian_lowpass(r, float(pol["smooth_s"]) * fps)
        thr = np.array([pol["pan"], pol["tilt"], pol["zoom"], pol["roll"]], np.float64)
        strength = np.abs(sm) / thr
        labels = []
        for i in range(n):
            order = np.argsort(-strength[i])
            a, b = order[0], order[1]
            if strength[i, a] < 1.0:
                labels.append("static")
            elif strength[i, b] >= 1.0 and strength[i, b] >= float(pol["complex_ratio"]) * strength[i, a]:
                labels.append("complex")
            else:
                labels.append(_label(_AXES[a], sm[i, a]))
        frame_s = 1.0 / fps
        ends = [t + frame_s for t in self.ts]       # the pair ending at frame i covers up to its end
        starts = [0.0] + ends[:-1]
        segs = _segments(starts, ends, labels, sm, float(pol["min_segment_s"]))
        total = sum(s["end_s"] - s["start_s"] for s in segs) or 1.0
        by_label: dict[str, float] = {}
        for s in segs:
            by_label[s["motion"]] = by_label.get(s["motion"], 0.0) + s["end_s"] - s["start_s"]
        top = max(by_label, key=by_label.get)
        overall = top if by_label[top] / total >= float(pol["overall_share"]) else "complex"
        data = {
            "motion": overall,
            "segments": segs,
            "requested": [x.to_dict() for x in req] or None,
            "thresholds": {"pan": thr[0], "tilt": thr[1], "zoom": thr[2], "roll": thr[3]},
            "curves": {
                "pan": curve(self.ts, sm[:, 0]),
                "tilt": curve(self.ts, sm[:, 1]),
                "zoom": curve(self.ts, sm[:, 2]),
                "roll": curve(self.ts, sm[:, 3], 3),
            },
            "untracked_pairs": int(bad.sum()),
        }
        findings = []
        if req:
            expected = expected_timeline(req, duration)
            data["expected"] = [{"start_s": a, "end_s": b, "motion": m} for a, b, m in expected]
            agree, checked = _agreement(self.ts, labels, expected, float(pol["boundary_s"]))
            data["agreement"] = round(agree, 3) if checked else None
            if checked and agree < float(pol["min_agreement"]):
                asked = ", ".join(f"{m} {a:.1f}-{b:.1f} s" for a, b, m in expected)
                seen = ", ".join(f"{s['motion']} {s['start_s']:.1f}-{s['end_s']:.1f} s" for s in segs)
                findings.append(Finding(
                    QUALITY, WARN, "quality.camera_mismatch",
                    f"Camera motion not as asked: the prompt asks for {asked}; measured {seen} "
                    f"({agree:.0%} of the time agrees, {float(pol['min_agreement']):.0%} needed).",
                    {"asked": data["expected"], "measured": segs, "agreement": round(agree, 3),
                     "prompt_words": [x.words for x in req]},
                ))
        return DetectorResult(data, tuple(findings))


def _segments(starts, ends, labels, sm, min_s: float) -> list[dict]:
    runs: list[list] = []  # [label, start, end, i0, i1]
    for i, lab in enumerate(labels):
        if runs and runs[-1][0] == lab:
            runs[-1][2], runs[-1][4] = ends[i], i + 1
        else:
            runs.append([lab, starts[i], ends[i], i, i + 1])
    # absorb short runs into the longer neighbour, shortest first
    while len(runs) > 1:
        k = min(range(len(runs)), key=lambda j: runs[j][2] - runs[j][1])
        if runs[k][2] - runs[k][1] >= min_s:
            break
        left = runs[k - 1] if k > 0 else None
        right = runs[k + 1] if k + 1 < len(runs) else None
        tgt = left if right is None or (left is not None and left[2] - left[1] >= right[2] - right[1]) else right
        if tgt is left:
            left[2], left[4] = runs[k][2], runs[k][4]
        else:
            right[1], right[3] = runs[k][1], runs[k][3]
        del runs[k]
        merged = [runs[0]]
        for r in runs[1:]:
            if r[0] == merged[-1][0]:
                merged[-1][2], merged[-1][4] = r[2], r[4]
            else:
                merged.append(r)
        runs = merged
    out = []
    for lab, a, b, i0, i1 in runs:
        axis = {"pan": 0, "tilt": 1, "zoom": 2, "roll": 3}.get(lab.split("_")[0])
        mag = float(np.abs(sm[i0:i1, axis]).mean()) if axis is not None else None
        out.append({"start_s": round(max(a, 0.0), 3), "end_s": round(b, 3), "motion": lab,
                    "magnitude": None if mag is None else round(mag, 4)})
    return out


def _agreement(ts, labels, expected, boundary_s: float) -> tuple[float, int]:
    """Share of frames (away from the requested boundaries) whose measured label is the one asked."""
    hit = n = 0
    for t, lab in zip(ts, labels):
        for a, b, m in expected:
            if a <= t < b or (t >= b and (a, b, m) == expected[-1]):
                near = any(abs(t - x) < boundary_s for x in (a, b) if 0 < x < expected[-1][1])
                if not near:
                    n += 1
                    hit += lab == m
                break
    return (hit / n if n else 0.0), n


DETECTORS = [CameraDetector]
