"""Conformance: the clip against what was requested (seconds, size, fps, audio).

Runs after the decode pass (it needs the decoded duration and frame count), only when the
request is known: a sidecar ``<clip>.json`` or the generation job's record. Sizes are compared
as displayed (rotation applied): a 1280x720 stream with a 90 degree display matrix shows as
720x1280.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..findings import CONFORMANCE, Finding
from . import Detector, DetectorResult


class ConformanceDetector(Detector):
    name = "conformance"
    slot = "conformance"
    wants_frames = False
    order = 95

    def finish(self) -> DetectorResult:
        src, info = self.ctx.source, self.ctx.media
        if src is None:
            return DetectorResult(None)
        pol = self.ctx.policy.section("conformance")
        sev = pol["severity"]
        if sev not in ("warn", "fail", "info"):
            raise ConfigError(self.ctx.policy.source, f"conformance.severity must be warn, fail or info, got {sev!r}")
        shown = (info.width, info.height)  # final_info(): as displayed, rotation applied
        checks: list[dict] = []
        findings: list[Finding] = []

        def check(key: str, requested, measured, ok: bool, message: str) -> None:
            checks.append({"check": key, "requested": requested, "measured": measured, "ok": ok})
            if not ok:
                findings.append(Finding(CONFORMANCE, sev, f"conformance.{key}", message,
                                        {"requested": requested, "measured": measured}))

        if src.seconds is not None:
            tol = float(pol["duration_tolerance_s"])
            d = round(info.duration_s, 3)
            check("duration", src.seconds, d, abs(d - float(src.seconds)) <= tol,
                  f"Duration {d:.2f} s, but {float(src.seconds):g} s were requested (tolerance {tol:g} s).")
        if src.size and pol["check_size"]:
            try:
                w, h = (int(x) for x in str(src.size).lower().split("x"))
            except ValueError:
                checks.append({"check": "size", "requested": src.size, "measured": None, "ok": None})
            else:
                check("size", f"{w}x{h}", f"{shown[0]}x{shown[1]}", shown == (w, h),
                      f"Size {shown[0]}x{shown[1]} (as displayed), but {w}x{h} was requested.")
        if src.fps is not None:
            tol = float(pol["fps_tolerance"])
            check("fps", src.fps, round(info.fps, 3), abs(info.fps - float(src.fps)) <= tol,
                  f"Frame rate {info.fps:.3f} fps, but {float(src.fps):g} fps was requested.")
        if src.audio is not None and pol["check_audio"]:
            want = bool(src.audio)
            check("audio", want, info.has_audio, info.has_audio == want,
                  "No audio track, but audio was requested." if want else "An audio track, but no audio was requested.")
        return DetectorResult({"checks": checks, "ok": all(c["ok"] is not False for c in checks)}, tuple(findings))


DETECTORS = [ConformanceDetector]
