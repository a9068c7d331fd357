"""Why a provenance block has its status, in one sentence for people (CLI and HTML report).

Our ``status`` and c2pa's own verdict (``c2pa_state``) can differ on purpose: c2pa calls a
manifest ``Invalid`` when its signer is untrusted or its certificate expired, while we keep such
an intact manifest ``valid`` (not tampering, see ``audit.provenance``). Printed side by side
without the reason, "valid (c2pa: Invalid)" reads as a contradiction; this says why, in words:
"valid: intact; signer not on your trust lists; certificate expired 2026-01-01 with no trusted
timestamp (c2pa says Invalid for these, not for the content)".
"""

from __future__ import annotations

from typing import Any

from .codes import CREDENTIAL, INTEGRITY, UNKNOWN, UNVERIFIED, classes_of
from .identity import ID_INVALID, ID_UNTRUSTED, describe
from .reading import ABSENT, ERROR, INVALID, TRUSTED, VALID

# The signer's credential codes in words (in this order); a credential code not listed here is
# named as it is.
_CREDENTIAL_WORDS: tuple[tuple[str, str | None], ...] = (
    ("signingCredential.untrusted", "signer not on your trust lists"),
    ("signingCredential.invalid", "signer's certificate not valid for signing (its profile or key usage)"),
    ("signingCredential.expired", None),  # with its date: _expired
    ("signingCredential.ocsp.revoked", "signer's certificate revoked"),
    ("signingCredential.ocsp.unknown", "signer's certificate revocation status unknown"),
    ("claimSignature.outsideValidity", "signed outside the certificate's validity"),
    ("timeStamp.untrusted", "timestamp authority not on your trust lists"),
    ("timeStamp.mismatch", "timestamp does not match the claim"),
    ("timeStamp.malformed", "timestamp malformed"),
    ("timeStamp.outsideValidity", "timestamp outside the certificate's validity"),
)


def _expired(block: dict) -> str:
    """``certificate expired 2026-01-01 with no trusted timestamp`` (the date when known)."""
    after = str((block.get("cert_validity") or {}).get("not_after") or "")[:10]
    words = f"certificate expired {after}" if after else "certificate expired"
    if not block.get("timestamp_trusted"):
        words += " with no trusted timestamp"
    return words


def reasons(block: dict) -> list[str]:
    """What stands between an intact manifest and ``trusted``, each in a few words: the signer's
    credential, codes not checked or not classified, identity assertions, ingredients."""
    codes = [str(c) for c in block.get("codes") or [] if not isinstance(c, dict)]
    classes = block.get("code_classes") or classes_of(codes)
    out = []
    if (block.get("trust") or {}).get("configured") is False and block.get("status") != TRUSTED:
        out.append("no trust list configured")
    words = dict(_CREDENTIAL_WORDS)
    for code, text in _CREDENTIAL_WORDS:
        if code in codes and not (out and code == "signingCredential.untrusted"):  # (no list: said above)
            out.append(text or _expired(block))
    for code in codes:
        cls = classes.get(code)
        if cls == CREDENTIAL and code not in words:
            out.append(f"signer's credential: {code}")
        elif cls == UNVERIFIED:
            out.append(f"not checked: {code}")
        elif cls == UNKNOWN:
            out.append(f"unclassified code {code}")
    for ident in block.get("identities") or []:
        if ident.get("status") == ID_UNTRUSTED:
            out.append(f"identity {describe(ident)} not trusted")
        elif ident.get("status") == ID_INVALID:
            out.append(f"identity assertion of {describe(ident)} fails its own check")
    bad_ingredients = [i for i in block.get("ingredients") or [] if i.get("codes")]
    if bad_ingredients:
        out.append("an ingredient's own credentials have problems" if len(bad_ingredients) == 1
                   else f"{len(bad_ingredients)} ingredients' own credentials have problems")
    return out


def identity_line(ident: dict) -> str:
    """``"EBU / European Broadcasting Union (X.509 certificate), role creator: not trusted
    (cawg.x509.credential.untrusted)"``: a CAWG identity assertion as the Verify site shows it."""
    roles = ", ".join(ident.get("roles") or [])
    state = {"trusted": "trusted", ID_UNTRUSTED: "not trusted", ID_INVALID: "its own check fails"}.get(
        str(ident.get("status")), str(ident.get("status")))
    codes = ", ".join(ident.get("codes") or [])
    return (f"{describe(ident)}{f', role {roles}' if roles else ''}: {state}" + (f" ({codes})" if codes else ""))


def explain(block: Any) -> str:
    """``"valid: intact; signer not on your trust lists (c2pa says Invalid for these, not for
    the content)"``, and the like for every status."""
    if not isinstance(block, dict):
        return "not checked"
    st = block.get("status") or "unknown"
    c2pa = block.get("c2pa_state")
    differs = bool(c2pa) and str(c2pa).lower() != st
    if st == ABSENT:
        return "absent: no Content Credentials (no C2PA manifest in the file)"
    if st == ERROR:
        return "error: the file or its manifest could not be read" + (f" ({block['note']})" if block.get("note") else "")
    if st == INVALID:
        codes = [str(c) for c in block.get("codes") or []]
        classes = block.get("code_classes") or classes_of(codes)
        bad = [c for c in codes if classes.get(c) == INTEGRITY]
        unjudged = [c for c in codes if classes.get(c) in (UNKNOWN, UNVERIFIED)]
        if unjudged and not bad:  # c2pa's verdict over codes we cannot judge: said as such
            return f"invalid: c2pa says {c2pa or 'Invalid'} over codes this tool cannot judge: {', '.join(unjudged)}"
        return ("invalid: the content or the claim does not match its signature (altered after signing)"
                + (f": {', '.join(bad)}" if bad else ""))
    why = reasons(block)
    if st == TRUSTED:
        text = "trusted: intact and the signer is trusted (a configured anchor or the allowed list)"
    elif st == VALID:
        text = "valid: intact"
        if not why:
            why = ["the signer's credential is not established"] if differs else ["not trusted"]
    else:
        return str(st)
    text += "".join(f"; {r}" for r in why)
    if differs:
        text += f" (c2pa says {c2pa} for {'this' if len(why) == 1 else 'these'}, not for the content)"
    return text
