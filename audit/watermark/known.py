"""Marks shipped with the package (``marks/``, origin in ``marks/README.md``), searched by
default: ``[watermark] known = ["sora"]``.

Each known mark is searched only at the heights it is drawn at, as shares of the active
picture's short side (a user's template is searched over the policy's ``min_height`` to
``max_height``): fewer sizes, fewer chance matches, less work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MARKS_DIR = Path(__file__).resolve().parent / "marks"


@dataclass(frozen=True)
class KnownMark:
    name: str
    file: str
    min_height: float   # share of the active picture's short side
    max_height: float


# Sora 2's mark is about 5-8 % of the picture's short side (marks/README.md), and 3-4 % where a
# 16:9 picture was reframed; margins either side.
KNOWN = {
    "sora": KnownMark("sora", "sora.png", 0.03, 0.10),
}


def known_mark(name: str) -> KnownMark:
    """The shipped mark called ``name``; KeyError naming the known ones otherwise."""
    try:
        return KNOWN[name]
    except KeyError:
        raise KeyError(f"unknown mark {name!r} in [watermark] known (shipped: {', '.join(sorted(KNOWN))})") from None


def mark_path(mark: KnownMark) -> Path:
    return MARKS_DIR / mark.file
