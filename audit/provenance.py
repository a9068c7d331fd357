"""Content Credentials (C2PA): read a file's manifest with c2pa-python and say honestly what it is.

Status (``provenance.status``) separates integrity from credentials:

    trusted   an intact active manifest whose signer chains to a configured trust anchor
              (or is on the allowed list), with no failure code at all
    valid     intact (every hash and the claim signature match) but the credential is not
              established: untrusted signer, expired certificate without a trusted timestamp,
              no trust list configured... -- reported as findings, never as tampering
    invalid   the content or the claim does not match its signature (``assertion.*.mismatch``,
              ``claimSignature.mismatch``, missing or malformed required assertions): altered
    absent    no manifest
    error     the file or its manifest could not be parsed (e.g. hostile, over-nested boxes)

Problems inside ingredient manifests do not change the active manifest's status; they are kept
per ingredient and become ``provenance.ingredient_invalid`` findings. The library's own verdict
(``Trusted``/``Valid``/``Invalid``) and every status code with its explanation are kept verbatim
in ``c2pa_state`` and ``validation``.
"""

from __future__ import annotations

import bisect
import io
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import ConfigError
from .findings import FAIL, INFO, PROVENANCE, WARN, Finding

TRUSTED, VALID, INVALID, ABSENT, ERROR = "trusted", "valid", "invalid", "absent", "error"
STATUSES = (TRUSTED, VALID, INVALID, ABSENT, ERROR)

# Digital source types that disclose generation by AI (IPTC NewsCodes).
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia",
                   "compositeSynthetic")

# Failure codes about the signer's credential, not about the content or the claim: they leave
# an intact manifest ``valid``. Everything else in ``failure`` is an integrity failure.
CREDENTIAL_PREFIXES = ("signingCredential.", "timeStamp.")
CREDENTIAL_CODES = {"claimSignature.outsideValidity"}
EXPIRED_CODES = {"signingCredential.expired", "claimSignature.outsideValidity"}
UNTRUSTED_CODES = {"signingCredential.untrusted", "signingCredential.invalid"}

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
        "actions": [], "ingredients": [], "manifest_count": 0, "codes": [], "c2pa_state": None,
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
        return verify_fragmented(Path(path), frags, trust)
    import c2pa

    p = Path(path)
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
    if block["status"] == INVALID and is_init_segment(p):
        # Its media lives in fragment files: the hash over it alone cannot match. Not tampering.
        block.update(status=ERROR, init_segment_only=True,
                     note=f"{p}: the init segment of a fragmented MP4, without its fragments: the media hash "
                     "cannot be checked. Verify it with its fragments (sora-audit provenance INIT --fragment FILE...)")
    return block


# ---------------------------------------------------------------------------------------------
# fragmented MP4 (init segment + fragments)

# c2pa-rs's explanation when a manifest that hashes one whole file is checked one fragment at a
# time (its per-fragment check needs a Merkle map per fragment, which c2pa's fragmented signing
# writes; c2pa-python 0.38 can only sign the fragmented file whole).
WHOLE_FILE_HASH = "Hash value should not be present for a fragmented BMFF asset"
# What may stand before the first ``moof`` of a media segment (ISO/IEC 23009-1, CMAF).
SEGMENT_LEADERS = {b"styp", b"sidx", b"ssix", b"prft", b"emsg", b"free", b"skip", b"uuid"}
_SEVERITY = {TRUSTED: 0, VALID: 1, ABSENT: 2, INVALID: 3, ERROR: 4}


class FragmentError(ValueError):
    """A file given as an init segment or a fragment is not one (the message names the file)."""


def bmff_boxes(path: Path) -> list[tuple[bytes, int, int, int]]:
    """Top-level ISO BMFF boxes of ``path``: (type, offset, size, header size), read by seeking
    from header to header. Raises ``FragmentError`` naming the file when the boxes do not tile it."""
    out = []
    size_total = path.stat().st_size
    with path.open("rb") as fh:
        off = 0
        while off < size_total:
            fh.seek(off)
            head = fh.read(16)
            if len(head) < 8:
                raise FragmentError(f"{path}: {size_total - off} stray bytes at offset {off}, not an ISO BMFF box")
            size, typ = struct.unpack(">I4s", head[:8])
            hdr = 8
            if size == 1:
                if len(head) < 16:
                    raise FragmentError(f"{path}: box header cut at offset {off}")
                size, hdr = struct.unpack(">Q", head[8:16])[0], 16
            elif size == 0:
                size = size_total - off
            if size < hdr or off + size > size_total:
                raise FragmentError(f"{path}: box {typ!r} at offset {off} claims {size} bytes; the file "
                                    f"has {size_total - off} left: not an ISO BMFF file, or cut short")
            out.append((typ, off, size, hdr))
            off += size
    return out


def _moof_sequences(path: Path, boxes) -> list[int]:
    """The ``mfhd`` sequence number of every ``moof``, in file order."""
    seqs = []
    with path.open("rb") as fh:
        for typ, off, size, hdr in boxes:
            if typ != b"moof":
                continue
            fh.seek(off + hdr)
            body = fh.read(min(size - hdr, 1 << 16))
            i = 0
            while i + 8 <= len(body):
                csize, ctyp = struct.unpack(">I4s", body[i:i + 8])
                if csize < 8:
                    raise FragmentError(f"{path}: a box inside the moof at offset {off} is broken (size {csize})")
                if ctyp == b"mfhd" and i + 16 <= len(body):
                    seqs.append(struct.unpack(">I", body[i + 12:i + 16])[0])
                    break
                i += csize
            else:
                raise FragmentError(f"{path}: a moof box at offset {off} has no mfhd (fragment header)")
    return seqs


def check_fragment(path: Path) -> list[int]:
    """Raise ``FragmentError`` naming ``path`` unless it is a media segment of a fragmented MP4
    (``moof`` + ``mdat`` pairs, no ``moov``); returns its fragments' sequence numbers."""
    if not path.is_file():
        raise FragmentError(f"{path}: no such fragment file")
    if path.stat().st_size == 0:
        raise FragmentError(f"{path}: the fragment file is empty")
    boxes = bmff_boxes(path)
    types = [b[0] for b in boxes]
    if b"moov" in types or b"ftyp" in types:
        raise FragmentError(f"{path}: a whole MP4 or an init segment (it has {'moov' if b'moov' in types else 'ftyp'}), "
                            "not a fragment")
    if b"moof" not in types or b"mdat" not in types:
        raise FragmentError(f"{path}: not a fragment of a fragmented MP4 (no moof + mdat; top-level boxes: "
                            f"{', '.join(t.decode('latin1') for t in types[:6])})")
    first = types.index(b"moof")
    if any(t not in SEGMENT_LEADERS for t in types[:first]):
        raise FragmentError(f"{path}: unexpected box before the first moof: "
                            f"{', '.join(t.decode('latin1') for t in types[:first])}")
    return _moof_sequences(path, boxes)


class ConcatStream(io.RawIOBase):
    """Read-only, seekable view of several files one after the other (init + fragments), so the
    library reads them as the one file they were cut from, without copying them."""

    def __init__(self, paths: list[Path]):
        super().__init__()
        self._files = [p.open("rb") for p in paths]
        self._starts, total = [], 0
        for p in paths:
            self._starts.append(total)
            total += p.stat().st_size
        self._size, self._pos = total, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buf) -> int:
        mv, n = memoryview(buf).cast("B"), 0
        while n < len(mv) and self._pos < self._size:
            k = bisect.bisect_right(self._starts, self._pos) - 1
            end = self._starts[k + 1] if k + 1 < len(self._starts) else self._size
            fh = self._files[k]
            fh.seek(self._pos - self._starts[k])
            got = fh.readinto(mv[n:n + min(len(mv) - n, end - self._pos)])
            if not got:
                break
            n += got
            self._pos += got
        return n

    def write(self, b) -> int:  # c2pa's Stream wants the method; reading never calls it
        raise io.UnsupportedOperation("read-only")

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def verify_fragmented(init: Path, fragments: list[Path], trust: TrustConfig | None = None) -> dict:
    """Verify a fragmented MP4 given as its init segment plus its fragment files, in order.

    c2pa binds fragmented media in one of two ways, and both are handled:

    - ``per_fragment``: the manifest in the init segment holds a Merkle map, each fragment its
      proof (c2pa-rs ``sign_fragmented_files``, DASH/HLS packagers). Each fragment is checked
      with the init segment through c2pa's fragment reader (``Reader.with_fragment``); the
      worst fragment decides.
    - ``whole_file``: the fragmented file was signed whole (all c2pa-python 0.38 can sign) and
      cut into segments afterwards. c2pa then says the manifest's hash is a whole-file hash
      (``WHOLE_FILE_HASH``), and the segments are checked as the one file they form together.

    A file that is not an init segment or not a fragment, or fragments out of order, give status
    ``error`` with a note naming the file.
    """
    import c2pa

    def fail(note: str) -> dict:
        b = empty_block(ERROR, trust=trust, note=note)
        b.update(fragment_mode=None, fragments=[{"path": str(f)} for f in fragments])
        return b

    if not init.is_file():
        return fail(f"{init}: no such init segment file")
    if not is_init_segment(init):
        return fail(f"{init}: not the init segment of a fragmented MP4 (it needs a moov with mvex and no media); "
                    "give the init segment as PATH and the media segments with --fragment")
    seqs: list[list[int]] = []
    try:
        for f in fragments:
            seqs.append(check_fragment(f))
    except (FragmentError, OSError) as e:
        return fail(str(e))
    gaps = []
    last = None
    for f, s in zip(fragments, seqs):
        for n in s:
            if last is not None and n <= last:
                return fail(f"{f}: fragment sequence number {n} does not follow {last}: the fragments are out of "
                            "order or repeated (give them in playback order)")
            if last is not None and n != last + 1:
                gaps.append(f"{f}: sequence number {n} follows {last}: a fragment may be missing")
            last = n
    per: list[dict] = []
    whole = False
    ctx = _context(trust)
    for f in fragments:
        try:
            with init.open("rb") as first, init.open("rb") as main, f.open("rb") as frag:
                reader = c2pa.Reader(mime_of(init), first, context=ctx) if ctx else c2pa.Reader(mime_of(init), first)
                with reader:
                    reader.with_fragment(mime_of(init), main, frag)
                    per.append(_block(reader, trust))
        except c2pa.C2paError.ManifestNotFound:
            b = empty_block(ABSENT, trust=trust, note=f"{init}: no C2PA manifest in the init segment")
            b.update(fragment_mode=None, fragments=[{"path": str(f), "sequence": s} for f, s in zip(fragments, seqs)])
            return b
        except Exception as e:
            return fail(f"{f}: the fragment could not be verified with {init.name}: {_c2pa_message(e)}")
        # One whole-file hash for all: the first fragment says so, the others would repeat it.
        whole = any(WHOLE_FILE_HASH in (it.get("explanation") or "")
                    for it in per[-1]["validation"]["active"] if it["kind"] == "failure")
        if whole:
            break
    frag_info = [{"path": str(f), "sequence": s, "status": b["status"], "codes": b["codes"]}
                 for f, s, b in zip(fragments, seqs, per)]
    if whole:
        frag_info = [{"path": str(f), "sequence": s} for f, s in zip(fragments, seqs)]
        # Signed as one file: check the segments as the file they form.
        try:
            with ConcatStream([init, *fragments]) as stream:
                reader = c2pa.Reader(mime_of(init), stream, context=ctx) if ctx else c2pa.Reader(mime_of(init), stream)
                with reader:
                    block = _block(reader, trust)
        except Exception as e:
            return fail(f"{init}: the segments could not be verified together: {_c2pa_message(e)}")
        for fi in frag_info:
            fi.update(status=None, codes=[])  # one hash over all: no per-fragment verdict
        mode = "whole_file"
    else:
        block = max(per, key=lambda b: _SEVERITY[b["status"]])
        block = dict(block, codes=_dedup(c for b in per for c in b["codes"]))
        mode = "per_fragment"
    # Per fragment, each fragment proves itself: a left-out one is seen only as a gap in the
    # sequence numbers (in whole_file mode the hash over all fails too).
    block.update(fragment_mode=mode, fragments=frag_info, fragment_gaps=gaps)
    if gaps:
        block["note"] = "; ".join(gaps) + (f"; {block['note']}" if block.get("note") else "")
    return block


def is_init_segment(path: Path) -> bool:
    """A fragmented-MP4 init segment: a ``moov`` holding ``mvex`` and no media (``mdat``/``moof``)."""
    import struct

    try:
        with path.open("rb") as fh:
            data = fh.read(4 << 20)
    except OSError:
        return False
    tops, i = {}, 0
    while i + 8 <= len(data):
        size, typ = struct.unpack(">I4s", data[i:i + 8])
        if size == 1 and i + 16 <= len(data):
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
        elif size == 0:
            size = len(data) - i
        if size < 8:
            return False
        tops[typ] = (i, size)
        i += size
    if b"moov" not in tops or b"mdat" in tops or b"moof" in tops:
        return False
    off, size = tops[b"moov"]
    return b"mvex" in data[off:off + size]


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
    return code.startswith(CREDENTIAL_PREFIXES) or code in CREDENTIAL_CODES


def classify(failures: Iterable[str], successes: Iterable[str]) -> str:
    """Our status from an intact-or-not manifest's failure and success codes."""
    fails = list(failures)
    if any(not is_credential_code(c) for c in fails):
        return INVALID
    if not fails and "signingCredential.trusted" in set(successes):
        return TRUSTED
    return VALID


def _dedup(seq: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for s in seq:
        if s:
            seen.setdefault(s, None)
    return list(seen)


def _block(reader, trust: TrustConfig | None) -> dict[str, Any]:
    return block_from(reader.get_validation_state(), reader.get_validation_results() or {},
                      json.loads(reader.json()), reader.get_active_manifest() or {}, trust)


def block_from(state: str | None, results: dict, store: dict, manifest: dict,
               trust: TrustConfig | None) -> dict[str, Any]:
    """The block from what c2pa's Reader returns: ``get_validation_state()``,
    ``get_validation_results()``, ``json()`` (parsed) and ``get_active_manifest()``. Kept apart
    from the reading so recorded results of real files can be checked against our status logic."""
    active = results.get("activeManifest") or {}
    fail_codes = _dedup(it.get("code") for it in active.get("failure") or [])
    ok_codes = _dedup(it.get("code") for it in active.get("success") or [])
    status = classify(fail_codes, ok_codes)
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


# ---------------------------------------------------------------------------------------------
# findings


def findings_for(block: dict, pol: dict, path: str = "") -> list[Finding]:
    """Findings of one provenance block under the ``[provenance]`` policy section (requirements
    that also need the watermark are the cross-check's, in ``audit.detectors.provenance``)."""
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
