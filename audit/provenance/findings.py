"""Findings of a provenance block under the ``[provenance]`` policy section."""

from __future__ import annotations

from ..findings import FAIL, INFO, PROVENANCE, WARN, Finding
from .reading import (ABSENT, ERROR, EXPIRED_CODES, INVALID, NO_TRUST, TRUSTED, UNTRUSTED_CODES, VALID,
                      is_credential_code)


def findings_for(block: dict, pol: dict, path: str = "") -> list[Finding]:
    """Findings of one provenance block under the ``[provenance]`` policy section (requirements
    that also need the watermark are the cross-check's, in ``audit.provenance.detector``)."""
    st = block["status"]
    codes = block["codes"]
    where = f"{path}: " if path else ""
    ev = {"status": st, "c2pa_state": block.get("c2pa_state"), "codes": codes}
    out: list[Finding] = []
    if st == ERROR and block.get("init_segment_only"):
        out.append(Finding(PROVENANCE, WARN, "provenance.init_segment_only", f"{block.get('note')}.", ev))
        return out
    if st == ERROR:
        out.append(Finding(PROVENANCE, FAIL, "provenance.error",
                           f"{where}{block.get('note')}. The file's structure is broken or hostile; "
                           "do not trust it, and get the original from its source.", ev))
        return out
    if st == ABSENT:
        return out  # whether that matters is the requirement's business (the cross-check)
    if st == INVALID:
        bad = [c for c in codes if not is_credential_code(c)]
        out.append(Finding(PROVENANCE, FAIL, "provenance.invalid",
                           f"{where}the Content Credentials do not match the file ({', '.join(bad)}): it was "
                           "altered after signing, or the manifest was moved from another file.", ev))
    expired = [c for c in codes if c in EXPIRED_CODES]
    if expired:
        out.append(Finding(PROVENANCE, WARN, "provenance.credential_expired",
                           f"{where}the signing certificate had expired and no trusted timestamp proves it was "
                           "signed while valid (short-lived generator certificates need the timestamp "
                           "authority's anchors: `sora-audit trust update`). Not a sign of tampering.", ev))
    trusted_conf = block["trust"]["configured"]
    if st != TRUSTED and st != INVALID:
        if not trusted_conf:
            out.append(Finding(PROVENANCE, INFO, "provenance.untrusted", f"{where}{NO_TRUST}.", ev))
        elif expired:
            out.append(Finding(PROVENANCE, WARN, "provenance.untrusted",
                               f"{where}the signer ({block.get('issuer')} / {block.get('common_name')}) cannot be "
                               "trusted: its certificate had expired when checked, and no trusted timestamp "
                               "vouches for the signing time.", ev))
        else:
            out.append(Finding(PROVENANCE, WARN, "provenance.untrusted",
                               f"{where}the signer ({block.get('issuer')} / {block.get('common_name')}) does not "
                               "chain to a configured trust anchor nor is it on the allowed list.", ev))
    if block.get("fragment_gaps") and st != INVALID:
        out.append(Finding(PROVENANCE, WARN, "provenance.fragment_gap",
                           f"{where}fragments verified, but their sequence numbers have gaps: "
                           f"{'; '.join(block['fragment_gaps'])}. Verify the complete set.",
                           {"gaps": list(block["fragment_gaps"])}))
    for ing in block.get("ingredients") or []:
        bad = [c for c in ing["codes"] if c not in UNTRUSTED_CODES]
        if bad:
            out.append(Finding(PROVENANCE, WARN, "provenance.ingredient_invalid",
                               f"{where}ingredient {ing.get('title')!r} ({ing.get('relationship')}) has its own "
                               f"Content Credentials problems ({', '.join(bad)}); the clip's own manifest is "
                               "not affected.",
                               {"title": ing.get("title"), "relationship": ing.get("relationship"),
                                "status": ing["status"], "codes": ing["codes"]}))
    if st in (TRUSTED, VALID):
        out.extend(_policy_findings(block, pol, where))
    return out


def _policy_findings(block: dict, pol: dict, where: str) -> list[Finding]:
    out = []
    if pol.get("require_ai_disclosure") and not block.get("ai_disclosure"):
        out.append(Finding(PROVENANCE, WARN, "provenance.no_ai_disclosure",
                           f"{where}the manifest does not disclose AI generation (digital source type "
                           f"{block.get('digital_source_type') or 'none'}; expected trainedAlgorithmicMedia).",
                           {"digital_source_type": block.get("digital_source_type")}))
    allowed = [s.lower() for s in pol.get("allowed_issuers") or []]
    if allowed and (block.get("issuer") or "").lower() not in allowed:
        out.append(Finding(PROVENANCE, FAIL, "provenance.issuer_not_allowed",
                           f"{where}signed by {block.get('issuer')!r}, not one of the allowed issuers "
                           f"({', '.join(pol['allowed_issuers'])}).",
                           {"issuer": block.get("issuer"), "allowed": list(pol["allowed_issuers"])}))
    gens = [s.lower() for s in pol.get("allowed_claim_generators") or []]
    names = [str((g or {}).get("name", "")).lower() for g in block.get("claim_generator_info") or []]
    if block.get("claim_generator"):
        names.append(str(block["claim_generator"]).split()[0].lower())
    if gens and not set(names) & set(gens):
        out.append(Finding(PROVENANCE, FAIL, "provenance.generator_not_allowed",
                           f"{where}claim generator {block.get('claim_generator')!r} is not one of the allowed "
                           f"({', '.join(pol['allowed_claim_generators'])}).",
                           {"claim_generator": block.get("claim_generator"),
                            "allowed": list(pol["allowed_claim_generators"])}))
    return out
