"""Findings of a provenance block under the ``[provenance]`` policy section."""

from __future__ import annotations

from ..findings import FAIL, INFO, PROVENANCE, WARN, Finding
from .codes import CREDENTIAL, EXPIRED_CODES, INTEGRITY, UNKNOWN, UNTRUSTED_CODES, UNVERIFIED, classes_of
from .identity import ID_INVALID, ID_UNTRUSTED, describe
from .reading import ABSENT, ERROR, INVALID, NO_TRUST, TRUSTED, VALID


def findings_for(block: dict, pol: dict, path: str = "") -> list[Finding]:
    """Findings of one provenance block under the ``[provenance]`` policy section (requirements
    that also need the watermark are the cross-check's, in ``audit.provenance.detector``)."""
    st = block["status"]
    codes = block["codes"]
    where = f"{path}: " if path else ""
    ev = {"status": st, "c2pa_state": block.get("c2pa_state"), "codes": codes}
    out: list[Finding] = _layout_findings(block, where)
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
    classes = block.get("code_classes") or classes_of(codes)
    bad = [c for c in codes if classes.get(c) == INTEGRITY]
    if st == INVALID and bad:
        out.append(Finding(PROVENANCE, FAIL, "provenance.invalid",
                           f"{where}the Content Credentials do not match the file ({', '.join(bad)}): it was "
                           "altered after signing, or the manifest was moved from another file.", ev))
    elif st == INVALID:
        unjudged = ", ".join(c for c in codes if classes.get(c) in (UNKNOWN, UNVERIFIED))
        out.append(Finding(PROVENANCE, FAIL, "provenance.invalid",
                           f"{where}c2pa judges the Content Credentials {block.get('c2pa_state')} over codes this tool "
                           f"cannot judge itself ({unjudged}: not classified, or not checked); its verdict stands.", ev))
    out.extend(_unclassified(block, classes, where, ev))
    expired = [c for c in codes if c in EXPIRED_CODES]
    if expired:
        out.append(Finding(PROVENANCE, WARN, "provenance.credential_expired",
                           f"{where}the signing certificate had expired and no trusted timestamp proves it was "
                           "signed while valid (short-lived generator certificates need the timestamp "
                           "authority's anchors: `sora-audit trust update`). Not a sign of tampering.", ev))
    trusted_conf = block["trust"]["configured"]
    signer_doubts = [c for c in codes if classes.get(c) == CREDENTIAL]
    if st != TRUSTED and st != INVALID and (signer_doubts or not trusted_conf):
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
    out.extend(_identity_findings(block, where))
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


def _layout_findings(block: dict, where: str) -> list[Finding]:
    """What the file's top-level boxes (``layout``) say beside the manifest: bytes after the last
    box (``provenance.trailing_data``), or a box that runs past the end (``provenance.cut_short``)."""
    lay = block.get("layout") or {}
    out = []
    if lay.get("trailing_bytes"):
        n = int(lay["trailing_bytes"])
        out.append(Finding(PROVENANCE, WARN, "provenance.trailing_data",
                           f"{where}{n} bytes ({_size(n)}) follow the last top-level box (offset "
                           f"{lay.get('boxes_bytes')}): they are not part of the clip, players and C2PA readers skip "
                           "them, and content can hide there. Get the original file from its source.",
                           {"trailing_bytes": n, "offset": lay.get("boxes_bytes"), "file_bytes": lay.get("file_bytes")}))
    if lay.get("missing_bytes"):
        out.append(Finding(PROVENANCE, WARN, "provenance.cut_short",
                           f"{where}{lay.get('problem')}: the file was cut off (an interrupted download or copy).",
                           {"missing_bytes": int(lay["missing_bytes"]), "file_bytes": lay.get("file_bytes")}))
    return out


def _size(n: int) -> str:
    for unit, f in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= f:
            return f"{n / f:.1f} {unit}"
    return f"{n} B"


def _unclassified(block: dict, classes: dict, where: str, ev: dict) -> list[Finding]:
    """A failure code no rule classifies, or one the validator could not check: said by name.
    The status then is c2pa's own verdict (``reading.classify``), which the finding repeats."""
    out = []
    verdict = block.get("c2pa_state") or "none"
    for code, cls in classes.items():
        if cls == UNKNOWN:
            out.append(Finding(PROVENANCE, WARN, "provenance.code_unclassified",
                               f"{where}c2pa reported the failure code {code!r}, which this version of sora-audit "
                               f"does not classify (content, credential or identity); the status follows c2pa's own "
                               f"verdict ({verdict}).", dict(ev, code=code)))
        elif cls == UNVERIFIED:
            out.append(Finding(PROVENANCE, WARN, "provenance.unverified",
                               f"{where}part of the Content Credentials could not be checked ({code}: a remote "
                               f"part not fetched, an unsupported algorithm or an error in the validator); the "
                               f"status follows c2pa's own verdict ({verdict}).", dict(ev, code=code)))
    return out


def _identity_findings(block: dict, where: str) -> list[Finding]:
    """One finding per CAWG identity assertion that is not trusted: its own signature fails
    (``identity_invalid``), or its credential is not established (``identity_untrusted``). The
    content's status does not depend on them."""
    out = []
    for ident in block.get("identities") or []:
        ev = {k: ident.get(k) for k in ("label", "method", "name", "organization", "issuer", "status", "codes")}
        who = describe(ident)
        codes = ", ".join(ident.get("codes") or []) or "no trust code"
        if ident.get("status") == ID_INVALID:
            out.append(Finding(PROVENANCE, WARN, "provenance.identity_invalid",
                               f"{where}the identity assertion of {who} fails its own check ({codes}): who vouches "
                               "for this content is not proven. The content itself may still be intact.", ev))
        elif ident.get("status") == ID_UNTRUSTED:
            # Untrusted only (no trust list holds it): information; expired or not valid for signing: a warning.
            plain = set(ident.get("codes") or []) <= {"cawg.x509.credential.untrusted", "cawg.ica.untrusted_issuer"}
            out.append(Finding(PROVENANCE, INFO if plain else WARN, "provenance.identity_untrusted",
                               f"{where}the identity assertion of {who} is intact, but its credential is not trusted "
                               f"({codes}): the name is the signer's own claim. Not a sign of tampering.", ev))
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
