"""Reading a file's Content Credentials with c2pa-python into the ``provenance`` contract block
(status model: see ``audit.provenance``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError
from .codes import (CREDENTIAL, EXPIRED_CODES, INTEGRITY, UNKNOWN, UNTRUSTED_CODES, UNVERIFIED,  # noqa: F401
                    classes_of, code_class)
from .identity import identities
from .layout import BMFF_MIMES, layout

TRUSTED, VALID, INVALID, ABSENT, ERROR = "trusted", "valid", "invalid", "absent", "error"
STATUSES = (TRUSTED, VALID, INVALID, ABSENT, ERROR)

# Digital source types that disclose generation by AI (IPTC NewsCodes).
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia",
                   "compositeSynthetic")

# c2pa's verdict as our status, for when a failure code says nothing we can classify.
_C2PA_STATES = {"trusted": TRUSTED, "valid": VALID, "invalid": INVALID}

NO_TRUST = ("trusted cannot be established: no trust list is configured (run `sora-audit trust update`, "
            "or pass --trust-anchors / --allowed-list); the signature and hashes were still checked")


@dataclass(frozen=True)
class TrustConfig:
    """What a verifier trusts, as texts handed to c2pa's Settings.

    ``anchors``: PEM root/intermediate certificates (concatenated); ``allowed``: PEM end-entity
    certificates trusted as they are; ``eku_config``: accepted extended key usages, one OID a
    line (c2pa's ``trust_config`` format). ``sources`` says where each came from (paths).
    """

    anchors: str = ""
    allowed: str = ""
    eku_config: str = ""
    sources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def configured(self) -> bool:
        return bool(self.anchors.strip() or self.allowed.strip())

    def settings(self) -> dict[str, Any]:
        trust: dict[str, str] = {}
        if self.anchors.strip():
            trust["trust_anchors"] = self.anchors
        if self.allowed.strip():
            trust["allowed_list"] = self.allowed
        if self.eku_config.strip():
            trust["trust_config"] = self.eku_config
        # verify_timestamp_trust: a timestamp's TSA chain is checked against these same anchors
        # (c2pa-rs has no separate TSA anchor setting); pinned on, whatever the library default.
        d: dict[str, Any] = {"verify": {"verify_trust": True, "verify_timestamp_trust": True}}
        if trust:
            d["trust"] = trust
        return d

    @classmethod
    def from_files(cls, anchors: Iterable[str | Path] = (), allowed: str | Path | None = None,
                   eku_config: str | Path | None = None) -> "TrustConfig":
        """Read the files (PEM anchors concatenated). Raises ``ConfigError`` naming a bad file."""
        srcs: list[str] = []
        texts = []
        for a in anchors:
            texts.append(_read_pem(a, "trust anchors"))
            srcs.append(f"anchors:{a}")
        allowed_text = ""
        if allowed:
            allowed_text = _read_pem(allowed, "allowed list")
            srcs.append(f"allowed:{allowed}")
        eku = ""
        if eku_config:
            eku = _read_text(eku_config, "trust config")
            srcs.append(f"trust_config:{eku_config}")
        return cls("\n".join(t.strip() + "\n" for t in texts), allowed_text, eku, tuple(srcs))


def _read_text(path: str | Path, what: str) -> str:
    from ..files import config_file

    config_file(path, f"{what} file")  # a FIFO would block the read
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, f"{what} file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(path, f"cannot read {what} file ({e})") from None


def _read_pem(path: str | Path, what: str) -> str:
    text = _read_text(path, what)
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ConfigError(path, f"{what} file holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return text


def _context(trust: TrustConfig | None):
    import c2pa

    if trust is None or not trust.configured:
        return None
    return c2pa.Context.from_dict(trust.settings())


# ---------------------------------------------------------------------------------------------
# reading


def empty_block(status: str, *, trust: TrustConfig | None, note: str | None = None) -> dict[str, Any]:
    return {
        "status": status, "issuer": None, "common_name": None, "claim_generator": None,
        "claim_generator_info": [], "claim_version": None, "digital_source_type": None,
        "ai_disclosure": False, "signed_at": None, "tsa": None, "alg": None, "title": None,
        "actions": [], "ingredients": [], "manifest_count": 0, "codes": [], "code_classes": {},
        "identities": [], "c2pa_state": None,
        "validation": {"active": [], "ingredients": []},
        "trust": {"configured": bool(trust and trust.configured),
                  "sources": list(trust.sources) if trust else []},
        "note": note,
    }


def verify(path: str | Path, trust: TrustConfig | None = None, *, fragments: Iterable[str | Path] = ()) -> dict:
    """The ``provenance`` contract block of ``path`` (MP4/MOV, JPEG, PNG, WebP...). Never raises
    for a bad file: an unparseable one gives status ``error`` with the library's message.

    ``fragments``: for a fragmented clip, ``path`` is the init segment and these are its
    fragments in order, verified together (see ``verify_fragmented``).
    """
    frags = [Path(f) for f in fragments]
    if frags:
        from .fragments import verify_fragmented  # the fragments module builds on this one

        return verify_fragmented(Path(path), frags, trust)
    from ..files import what_is

    p = Path(path)
    kind = what_is(p)
    if kind == "missing":
        return empty_block(ERROR, trust=trust, note=f"{p}: no such file")
    if kind is not None:  # a FIFO or device is never opened: reading it would block or never end
        return empty_block(ERROR, trust=trust, note=f"{p}: is {kind}, not a regular file")
    block = _verify_file(p, trust)
    if mime_of(p) in BMFF_MIMES:
        try:
            block["layout"] = layout(p)
        except OSError as e:
            block["layout"] = {"problem": f"the box layout could not be read ({e})"}
    return block


def _verify_file(p: Path, trust: TrustConfig | None) -> dict:
    import c2pa

    try:
        reader = _open_reader(p, trust)
    except c2pa.C2paError.ManifestNotFound:
        return empty_block(ABSENT, trust=trust, note="no C2PA manifest (no JUMBF data) in the file")
    except FileNotFoundError:
        return empty_block(ERROR, trust=trust, note=f"{p}: no such file")
    except (c2pa.C2paError, OSError, ValueError) as e:
        return empty_block(ERROR, trust=trust, note=f"{p}: the manifest could not be read: {_c2pa_message(e)}")
    except Exception as e:  # the native library on a hostile file must cost one clip, not the batch
        return empty_block(ERROR, trust=trust, note=f"{p}: the manifest could not be read ({type(e).__name__}: {e})")
    try:
        with reader:
            block = _block(reader, trust)
    except Exception as e:
        return empty_block(ERROR, trust=trust, note=f"{p}: the manifest could not be interpreted ({type(e).__name__}: {e})")
    from .fragments import is_init_segment

    if block["status"] == INVALID and is_init_segment(p):
        # Its media lives in fragment files: the hash over it alone cannot match. Not tampering.
        block.update(status=ERROR, init_segment_only=True,
                     note=f"{p}: the init segment of a fragmented MP4, without its fragments: the media hash "
                     "cannot be checked. Verify it with its fragments (sora-audit provenance INIT --fragment FILE...)")
    return block


def _c2pa_message(e: Exception) -> str:
    """The library's message (it starts with its error kind, e.g. "Other: ..."), made printable:
    it may quote bytes of a hostile file."""
    text = str(e) or type(e).__name__.lstrip("_")
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:300]


def mime_of(p: Path) -> str:
    from .signing import mime_of as _m  # lazily: signing imports cryptography

    return _m(p)


def _open_reader(p: Path, trust: TrustConfig | None):
    import c2pa

    ctx = _context(trust)
    if not p.exists():
        raise FileNotFoundError(p)
    fmt = mime_of(p)
    fh = p.open("rb")
    try:
        if ctx is not None:
            return c2pa.Reader(fmt, fh, context=ctx)
        return c2pa.Reader(fmt, fh)
    except Exception:
        fh.close()
        raise


def _items(results: dict, kinds=("failure", "informational", "success")) -> list[dict]:
    out = []
    for kind in kinds:
        for it in results.get(kind) or []:
            out.append({"code": it.get("code"), "kind": kind, "explanation": it.get("explanation"),
                        "url": it.get("url")})
    return out


def is_credential_code(code: str) -> bool:
    """Whether ``code`` is about the signer's credential (trust, expiry, revocation, timestamp)."""
    return code_class(code) == CREDENTIAL


def classify(failures: Iterable[str], successes: Iterable[str], state: str | None = None) -> str:
    """Our status from a manifest's failure and success codes (``codes.code_class`` says what
    each failure is about) and c2pa's own verdict ``state``:

    - an integrity failure: ``invalid``
    - else a failure no rule classifies, or one the validator could not check: c2pa's verdict
      decides (``valid`` when there is none), we do not guess
    - else ``trusted`` when the signer is trusted and its credential has no failure, ``valid``
      otherwise. A CAWG identity assertion's failures do not count here (see ``identity``).
    """
    classes = set(classes_of(failures).values())
    if INTEGRITY in classes:
        return INVALID
    if classes & {UNKNOWN, UNVERIFIED}:
        return _C2PA_STATES.get(str(state).lower(), VALID)
    if CREDENTIAL not in classes and "signingCredential.trusted" in set(successes):
        return TRUSTED
    return VALID


def _dedup(seq: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for s in seq:
        if s:
            seen.setdefault(s, None)
    return list(seen)


def _block(reader, trust: TrustConfig | None) -> dict[str, Any]:
    results = reader.get_validation_results() or {}
    manifest = reader.get_active_manifest() or {}
    fails = {it.get("code") for it in (results.get("activeManifest") or {}).get("failure") or []}
    # The signer certificate's validity is only in c2pa's crJSON report, a larger document:
    # read it when the date is worth saying (an expired certificate).
    validity = _cert_validity(reader, manifest.get("label")) if fails & EXPIRED_CODES else None
    return block_from(reader.get_validation_state(), results, json.loads(reader.json()), manifest, trust,
                      cert_validity=validity)


def _cert_validity(reader, label: str | None) -> dict | None:
    """``{"not_before", "not_after"}`` of the active manifest's signing certificate, or None."""
    try:
        report = json.loads(reader.crjson())
    except Exception:  # an older library without crJSON, or a report it cannot write
        return None
    for m in report.get("manifests") or []:
        if m.get("label") == label:
            v = ((m.get("signature") or {}).get("certificateInfo") or {}).get("validity") or {}
            if v.get("notAfter"):
                return {"not_before": v.get("notBefore"), "not_after": v.get("notAfter")}
    return None


def block_from(state: str | None, results: dict, store: dict, manifest: dict,
               trust: TrustConfig | None, *, cert_validity: dict | None = None) -> dict[str, Any]:
    """The block from what c2pa's Reader returns: ``get_validation_state()``,
    ``get_validation_results()``, ``json()`` (parsed) and ``get_active_manifest()`` (and the
    signing certificate's validity, from its crJSON report). Kept apart from the reading so
    recorded results of real files can be checked against our status logic."""
    active = results.get("activeManifest") or {}
    fail_codes = _dedup(it.get("code") for it in active.get("failure") or [])
    ok_codes = _dedup(it.get("code") for it in active.get("success") or [])
    status = classify(fail_codes, ok_codes, state)
    sig = manifest.get("signature_info") or {}
    actions = _actions(manifest)
    dst = next((a["digitalSourceType"] for a in actions if a.get("digitalSourceType")), None)
    cgi = manifest.get("claim_generator_info") or []
    ingredients, ing_validation = _ingredients(manifest, results)
    b = empty_block(status, trust=trust)
    b.update({
        "issuer": sig.get("issuer"),
        "common_name": sig.get("common_name"),
        "claim_generator": manifest.get("claim_generator") or _generator_name(cgi),
        "claim_generator_info": cgi,
        "claim_version": manifest.get("claim_version"),
        "digital_source_type": dst,
        "ai_disclosure": bool(dst and dst.rsplit("/", 1)[-1] in AI_SOURCE_TYPES),
        "signed_at": sig.get("time"),
        "tsa": _tsa(sig),
        "alg": sig.get("alg"),
        "cert_serial_number": sig.get("cert_serial_number"),
        "hard_binding": _hard_binding(manifest, active),
        "title": manifest.get("title"),
        "label": manifest.get("label"),
        "actions": actions,
        "ingredients": ingredients,
        "manifest_count": len(store.get("manifests") or {}),
        "codes": fail_codes,
        "code_classes": classes_of(fail_codes),
        "timestamp_trusted": "timeStamp.trusted" in ok_codes,
        "cert_validity": cert_validity,
        "identities": identities(manifest, active),
        "c2pa_state": state,
        "validation": {"active": _items(active), "ingredients": ing_validation},
        "note": None if (trust and trust.configured) or status != VALID else NO_TRUST,
    })
    return b


def _hard_binding(manifest: dict, active: dict) -> dict | None:
    """The hash assertion binding the manifest to the file: its label (``c2pa.hash.bmff.v3``,
    ``c2pa.hash.data``...) and whether it is a Merkle map (per-fragment / per-chunk hashes)
    rather than one hash over the file (None when the library does not list its data: it lists
    BMFF hashes, not data hashes of images)."""
    for a in manifest.get("assertions") or []:
        label = str(a.get("label", ""))
        if label.startswith("c2pa.hash."):
            return {"label": label, "merkle": bool((a.get("data") or {}).get("merkle"))}
    for it in _items(active):  # else from the validation entry that checked it
        parts, url = (it.get("code") or "").split("."), it.get("url") or ""
        if len(parts) > 2 and parts[0] == "assertion" and parts[1].endswith("Hash") and "/c2pa.hash." in url:
            return {"label": url.rsplit("/", 1)[-1], "merkle": None}
    return None


def _generator_name(cgi: list) -> str | None:
    if not cgi:
        return None
    first = cgi[0] or {}
    name = first.get("name")
    return f"{name} {first['version']}" if name and first.get("version") else name


def _tsa(sig: dict) -> str | None:
    # c2pa-python reports the time of a trusted timestamp; the authority's name is not in the
    # summary, so what is there is kept (c2pa-rs versions differ in the keys they expose).
    for key in ("timestamp_authority", "tsa", "time_authority"):
        if sig.get(key):
            return str(sig[key])
    return None


def _actions(manifest: dict) -> list[dict]:
    out = []
    for a in manifest.get("assertions") or []:
        if not str(a.get("label", "")).startswith("c2pa.actions"):
            continue
        for act in (a.get("data") or {}).get("actions") or []:
            agent = act.get("softwareAgent")
            if isinstance(agent, dict):
                agent = agent.get("name")
            out.append({"action": act.get("action"), "software_agent": agent,
                        "digitalSourceType": act.get("digitalSourceType"), "when": act.get("when")})
    return out


def _ingredients(manifest: dict, results: dict) -> tuple[list[dict], list[dict]]:
    """Each ingredient's own status, from the validation recorded when it was added plus the
    deltas found now (``ingredientDeltas``)."""
    deltas: dict[str, list[dict]] = {}
    for d in results.get("ingredientDeltas") or []:
        deltas.setdefault(str(d.get("ingredientAssertionURI", "")).rsplit("/", 1)[-1], []).extend(
            _items(d.get("validationDeltas") or {}, kinds=("failure", "informational")))
    out, validation = [], []
    for ing in manifest.get("ingredients") or []:
        vr = (ing.get("validation_results") or {}).get("activeManifest") or {}
        items = _items(vr, kinds=("failure", "informational"))
        items += deltas.get(ing.get("label") or "", [])
        items += [{"code": s.get("code"), "kind": "failure", "explanation": s.get("explanation"), "url": s.get("url")}
                  for s in ing.get("validation_status") or [] if s.get("code")]
        fails = _dedup(i["code"] for i in items if i["kind"] == "failure")
        if ing.get("active_manifest") or ing.get("manifest_data"):
            st = classify(fails, ["signingCredential.trusted"] if not fails else [])
            st = VALID if st == TRUSTED else st  # trust of an ingredient is the signer's own claim
        else:
            st = ABSENT
        out.append({"title": ing.get("title"), "relationship": ing.get("relationship"), "format": ing.get("format"),
                    "status": st, "codes": fails})
        validation.append({"title": ing.get("title"), "label": ing.get("label"), "items": items})
    return out, validation
