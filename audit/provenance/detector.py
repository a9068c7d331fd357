"""Content Credentials of the clip file (``audit.provenance.reading``), and the gate's provenance
requirement: a manifest, the visible watermark, both, either, or nothing (``[provenance] require``).
"""

from __future__ import annotations

from ..detectors import Detector, DetectorResult
from ..findings import FAIL, INFO, PROVENANCE, RUNTIME, WARN, Finding
from .findings import findings_for
from .reading import TRUSTED, VALID, verify

REQUIRES = ("any", "manifest", "watermark", "both", "none")


class ProvenanceDetector(Detector):
    name = "provenance"
    slot = "provenance"
    wants_frames = False   # reads the file once; the decode pass is not needed
    order = 0
    without_media = True   # also runs on a file that cannot be decoded (pipeline._file_only)

    def finish(self) -> DetectorResult:
        block = verify(self.ctx.path, self.ctx.options.trust)
        pol = dict(self.ctx.policy.section("provenance"))
        return DetectorResult(block, tuple(findings_for(block, pol)))


def _watermark_covers(wm, min_coverage: float) -> bool | None:
    """True/False when a watermark check ran; None when its block is missing (check not run)."""
    if not wm:
        return None
    return bool(wm.get("present")) and float(wm.get("coverage") or 0.0) >= min_coverage


def require_signal(ctx, blocks, metrics) -> list[Finding]:
    """``[provenance] require``: which provenance signals a clip must carry (docs/contract.md)."""
    pol = ctx.policy.section("provenance")
    req = pol.get("require", "any")
    if req not in REQUIRES or pol.get("unmet") not in ("warn", "fail"):
        # Policy files are validated for types; the value is checked here, where it is used.
        return [Finding(PROVENANCE, FAIL, "provenance.policy_invalid",
                        f"[provenance] require = {req!r} (one of {', '.join(REQUIRES)}) / unmet = "
                        f"{pol.get('unmet')!r} (warn or fail): fix the policy file.", {"require": req})]
    prov = blocks.get("provenance")
    if not prov:
        return []  # the provenance check did not run (disabled, or crashed: reported as such)
    status = prov.get("status")
    manifest_ok = status in (TRUSTED, VALID)
    wm = _watermark_covers(blocks.get("watermark"), float(pol.get("watermark_min_coverage", 0.95)))
    ev = {"require": req, "manifest_status": status, "watermark_over_clip": wm}
    wm_text = {True: "the visible watermark covers the clip", False: "the visible watermark does not cover the clip",
               None: "no watermark check ran"}[wm]
    need_manifest = req in ("manifest", "both") or (req == "any" and not wm)
    need_watermark = req in ("watermark", "both")
    # A clip that could not be audited (runtime failure) gets the verdict "error"; an unmet
    # requirement is still reported, as a warning, so it does not hide that.
    unaudited = any(f.category == RUNTIME and f.severity == FAIL for f in ctx.shared.get("findings", ()))
    unmet = FAIL if pol.get("unmet") == "fail" and not unaudited else WARN
    if unaudited:
        ev["clip_not_fully_audited"] = True
    out = []
    if status == "absent":
        sev = unmet if need_manifest else INFO
        why = {"any": f"and {wm_text}: no provenance signal at all", "manifest": "and the policy requires one",
               "both": "and the policy requires one"}.get(req, f"({wm_text}; not required)")
        if req == "any" and wm:
            why = f"but {wm_text}, which the policy accepts instead"
        out.append(Finding(PROVENANCE, sev, "provenance.absent",
                           f"No Content Credentials (C2PA manifest) in the file, {why}. A re-encode or a "
                           "platform upload strips them: audit the original download.", ev))
    elif need_manifest and not manifest_ok and status not in ("invalid", "error"):
        out.append(Finding(PROVENANCE, unmet, "provenance.absent",
                           f"No usable Content Credentials (status {status}) and {wm_text}.", ev))
    if need_watermark and not wm:
        out.append(Finding(PROVENANCE, unmet, "provenance.watermark_required",
                           f"The policy requires the visible watermark over the whole clip; {wm_text}.", ev))
    return out


DETECTORS = [ProvenanceDetector]
CROSS_CHECKS = [require_signal]
