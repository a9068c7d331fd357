"""Why a provenance block has its status, in one sentence for people (CLI and HTML report).

Our ``status`` and c2pa's own verdict (``c2pa_state``) can differ on purpose: c2pa calls a
manifest ``Invalid`` when its signer is untrusted or its certificate expired, while we keep such
an intact manifest ``valid`` (not tampering, see ``audit.provenance``). Printed side by side
without the reason, "valid (c2pa: Invalid)" reads as a contradiction; this says why.
"""

from __future__ import annotations

from typing import Any

from .reading import ABSENT, ERROR, EXPIRED_CODES, INVALID, TRUSTED, UNTRUSTED_CODES, VALID

_CREDENTIAL_REASONS = (
    (UNTRUSTED_CODES, "the credential is untrusted"),
    (EXPIRED_CODES, "the signing certificate had expired"),
    ({"signingCredential.revoked"}, "the signing certificate was revoked"),
)


def _reasons(codes: list[str]) -> list[str]:
    out = []
    for group, words in _CREDENTIAL_REASONS:
        hit = [c for c in codes if c in group]
        if hit:
            out.append(f"{words} ({', '.join(hit)})")
    rest = [c for c in codes if not any(c in g for g, _ in _CREDENTIAL_REASONS)]
    if rest:
        out.append("of " + ", ".join(rest))
    return out


def explain(block: Any) -> str:
    """``"valid: content intact; c2pa says Invalid because the credential is untrusted
    (signingCredential.untrusted)"``, and the like for every status."""
    if not isinstance(block, dict):
        return "not checked"
    st = block.get("status") or "unknown"
    codes = [str(c) for c in block.get("codes") or [] if not isinstance(c, dict)]
    c2pa = block.get("c2pa_state")
    if st == ABSENT:
        return "absent: no Content Credentials (no C2PA manifest in the file)"
    if st == ERROR:
        return "error: the file or its manifest could not be read" + (f" ({block['note']})" if block.get("note") else "")
    if st == INVALID:
        return ("invalid: the content or the claim does not match its signature (altered after signing)"
                + (f": {', '.join(codes)}" if codes else ""))
    if st == TRUSTED:
        return "trusted: content intact and the signer is trusted (a configured anchor or the allowed list)"
    if st == VALID:
        text = "valid: content intact"
        reasons = _reasons(codes)
        if c2pa and str(c2pa).lower() != VALID:
            text += f"; c2pa says {c2pa} because " + " and ".join(reasons or ["the credential is not established"])
        elif reasons:
            text += "; not trusted: " + " and ".join(reasons)
        elif (block.get("trust") or {}).get("configured") is False:
            text += "; not trusted: no trust list is configured"
        return text
    return str(st)
