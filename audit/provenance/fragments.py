"""Fragmented MP4 (an init segment plus its media segments): checking the files are what they
claim to be, and verifying them together."""

from __future__ import annotations

import bisect
import io
import struct
from pathlib import Path

from .codes import classes_of
from .reading import (ABSENT, ERROR, INVALID, TRUSTED, VALID, TrustConfig, _block, _c2pa_message, _context,
                      _dedup, empty_block, mime_of)

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
    from ..files import what_is

    for f in fragments:  # a FIFO or device is never opened: reading it would block or never end
        kind = what_is(f)
        if kind is not None:
            return fail(f"{f}: no such fragment file" if kind == "missing" else f"{f}: is {kind}, not a regular file")
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
        codes = _dedup(c for b in per for c in b["codes"])
        block = dict(block, codes=codes, code_classes=classes_of(codes))
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
