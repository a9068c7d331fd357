"""The top-level box layout of an MP4/MOV file: what its boxes account for, and what is left over.

Players and C2PA readers stop at the last box they understand; bytes after it are never shown
and, in an unsigned file, never checked: content can hide there (a second file appended, 20 GB
of zeros that make a 3.6 KB clip cost a minute of hashing). A file cut short is the opposite: a
box claims more bytes than the file has. Both are read from the box headers alone, by seeking
from header to header (a few reads, whatever the file's size).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

# MIME types (``reading.mime_of``) whose files are ISO BMFF (MP4, MOV, M4V, HEIF...).
BMFF_MIMES = ("video/mp4", "video/quicktime", "video/x-m4v", "audio/mp4", "image/heic", "image/heif", "image/avif")
# Box types are four characters from this set (ISO/IEC 14496-12 uses printable codes; QuickTime
# adds the copyright sign, 0xA9).
_TYPE_CHARS = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.\xa9")


# Boxes an MP4/MOV file starts with; anything else first means the file is not one.
_FIRST = {b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"sidx", b"moof"}


def _plausible(typ: bytes) -> bool:
    return len(typ) == 4 and all(c in _TYPE_CHARS for c in typ)


def layout(path: str | Path) -> dict[str, Any]:
    """``{file_bytes, boxes_bytes, boxes, trailing_bytes, missing_bytes, problem}`` of an ISO
    BMFF file, in bytes. ``boxes_bytes`` is where the last well-formed top-level box ends;
    ``trailing_bytes`` what follows it that is not a box; ``missing_bytes`` how many bytes the
    last box claims beyond the end of the file (cut short). ``problem`` says either in words
    (None when the boxes tile the file exactly)."""
    p = Path(path)
    total = p.stat().st_size
    off, count, problem = 0, 0, None
    missing = 0
    with p.open("rb") as fh:
        while off < total:
            fh.seek(off)
            head = fh.read(16)
            if len(head) < 8:
                break
            size, typ = struct.unpack(">I4s", head[:8])
            hdr = 8
            if size == 1:
                if len(head) < 16:
                    break
                size, hdr = struct.unpack(">Q", head[8:16])[0], 16
            elif size == 0 and _plausible(typ):
                size = total - off  # "to the end of the file": the last box by definition
            if size < hdr or not _plausible(typ) or (count == 0 and typ not in _FIRST):
                break
            if off + size > total:
                missing = off + size - total
                problem = (f"the file is cut short: box '{_name(typ)}' at offset {off} claims {size} bytes, "
                           f"{missing} more than the file holds")
                off = total
                count += 1
                break
            off += size
            count += 1
    trailing = total - off
    if trailing and count == 0:
        problem = "no ISO BMFF box at the start of the file: not an MP4/MOV"
    elif trailing:
        problem = (f"{trailing} bytes after the last top-level box (offset {off}) are not part of the clip: "
                   "players and C2PA readers skip them, and content can hide there")
    return {"file_bytes": total, "boxes_bytes": off if not missing else total, "boxes": count,
            "trailing_bytes": trailing if count else 0, "missing_bytes": missing, "problem": problem}


def _name(typ: bytes) -> str:
    return typ.decode("latin-1")
