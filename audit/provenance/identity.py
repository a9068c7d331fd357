"""CAWG identity assertions (``cawg.identity``): who vouches for the content, how, and whether
their credential is trusted, as the Content Credentials Verify site shows them.

An identity assertion is a named actor's own signature over some of the manifest's assertions
(Creator Assertions Working Group, identity assertion 1.x). Two ways to sign it:

- ``x509``: an X.509 certificate (``sig_type`` ``cawg.x509.cose``); who = the certificate's
  subject (common name, organisation), as c2pa reports it in the assertion's ``signature_info``.
- ``ica``: identity claims aggregation (``cawg.identity_claims_aggregation``): a verifiable
  credential from an aggregator (its ``issuer`` DID) listing identities it verified (social
  media accounts, document checks, affiliations...).

Its validation codes (``cawg.*``) are c2pa's, reported on the assertion's URL; they say
nothing about the content's hashes (see ``codes``).
"""

from __future__ import annotations

from typing import Any

from .codes import FAILURE, IDENTITY, SUCCESS, UNKNOWN, code_class

X509, ICA = "x509", "ica"
METHODS = {"cawg.x509.cose": X509, "cawg.identity_claims_aggregation": ICA}
METHOD_WORDS = {X509: "X.509 certificate", ICA: "identity claims aggregation"}
TRUSTED_CODES = {"cawg.x509.credential.trusted", "cawg.ica.credential_valid"}
# Identity statuses: the credential is trusted; it is not (or cannot be) established; the
# assertion's own signature or structure fails.
ID_TRUSTED, ID_UNTRUSTED, ID_INVALID = "trusted", "untrusted", "invalid"


def is_identity_label(label: str) -> bool:
    """``cawg.identity``, and its further instances ``cawg.identity__1``..."""
    return label == "cawg.identity" or label.startswith("cawg.identity__")


def _label_of(url: str | None) -> str | None:
    last = (url or "").rsplit("/", 1)[-1]
    return last if is_identity_label(last) else None


def _text(v: Any) -> str | None:
    return str(v) if v not in (None, "") else None


def _verified(data: dict) -> list[dict]:
    out = []
    for v in data.get("verifiedIdentities") or []:
        if not isinstance(v, dict):
            continue
        provider = v.get("provider") if isinstance(v.get("provider"), dict) else {}
        out.append({"type": _text(v.get("type")), "name": _text(v.get("name")), "username": _text(v.get("username")),
                    "uri": _text(v.get("uri")), "provider": _text(provider.get("name") or provider.get("id"))})
    return out


def _who(data: dict) -> dict[str, Any]:
    """Method, name, organisation and details of one assertion's ``data`` (as c2pa decodes it)."""
    payload = data.get("signer_payload") if isinstance(data.get("signer_payload"), dict) else None
    asset = data.get("c2paAsset") if isinstance(data.get("c2paAsset"), dict) else None
    sig_type = (payload or asset or {}).get("sig_type")
    method = METHODS.get(str(sig_type)) if sig_type else None
    roles = [str(r) for r in ((payload or asset or {}).get("role") or [])]
    if method == X509 or (payload and data.get("signature_info")):
        si = data.get("signature_info") or {}
        return {"sig_type": sig_type, "method": method or X509, "name": _text(si.get("common_name")),
                "organization": _text(si.get("issuer")), "roles": roles, "issuer": None,
                "verified_identities": [], "cert_serial_number": _text(si.get("cert_serial_number"))}
    if method == ICA or "verifiedIdentities" in data:
        ids = _verified(data)
        names = [i["name"] or i["username"] for i in ids if i["name"] or i["username"]]
        orgs = [i["provider"] for i in ids if i["type"] == "cawg.affiliation" and i["provider"]]
        return {"sig_type": sig_type, "method": ICA, "name": ", ".join(names) or None,
                "organization": ", ".join(orgs) or None, "roles": roles, "issuer": _text(data.get("issuer")),
                "verified_identities": ids, "cert_serial_number": None}
    return {"sig_type": sig_type, "method": method, "name": None, "organization": None, "roles": roles,
            "issuer": None, "verified_identities": [], "cert_serial_number": None}


def identities(manifest: dict, active: dict) -> list[dict]:
    """One entry per identity assertion of the active manifest: who, how, and its status from the
    ``cawg.*`` codes reported on it (``active``: the active manifest's validation results)."""
    found: dict[str, dict] = {}
    for a in manifest.get("assertions") or []:
        label = str(a.get("label", ""))
        if is_identity_label(label):
            data = a.get("data") if isinstance(a.get("data"), dict) else {}
            found[label] = {"label": label, **_who(data)}
    codes: dict[str, dict[str, list[str]]] = {}
    for kind in (SUCCESS, "informational", FAILURE):
        for it in active.get(kind) or []:
            code = str(it.get("code") or "")
            label = _label_of(it.get("url"))
            if label is None and not code.startswith("cawg."):
                continue
            # A cawg code on no identity assertion's URL belongs to the first one (or a new entry).
            label = label or next(iter(found), "cawg.identity")
            found.setdefault(label, {"label": label, **_who({})})
            codes.setdefault(label, {}).setdefault(kind, []).append(code)
    out = []
    for label, ident in found.items():
        c = codes.get(label, {})
        fails = list(dict.fromkeys(c.get(FAILURE, [])))
        ok = set(c.get(SUCCESS, []))
        classes = {code: code_class(code) for code in fails}
        # Within an identity assertion every failure is the assertion's business: a code of no
        # known class counts as the assertion failing, never as the content's.
        if any(v in (IDENTITY, UNKNOWN) for v in classes.values()):
            status = ID_INVALID
        elif fails or not ok & TRUSTED_CODES:
            status = ID_UNTRUSTED
        else:
            status = ID_TRUSTED
        out.append({**ident, "status": status, "trusted": status == ID_TRUSTED, "codes": fails,
                    "informational": list(dict.fromkeys(c.get("informational", [])))})
    return out


def describe(ident: dict) -> str:
    """``"EBU / European Broadcasting Union (X.509 certificate)"``: who, and how they signed."""
    who = " / ".join(dict.fromkeys(x for x in (ident.get("name"), ident.get("organization")) if x))
    if ident.get("method") == ICA and ident.get("issuer"):
        who = f"{who or 'unnamed identities'}, vouched for by {ident['issuer']}"
    how = METHOD_WORDS.get(ident.get("method") or "", ident.get("sig_type") or "unknown signature type")
    return f"{who or 'an unnamed signer'} ({how})"
