"""Text for a terminal: what the CLI prints about files and providers is shown, never obeyed.

A file name or a provider's message is untrusted text. Printed raw, an escape sequence in it
(``ESC ] 0 ; title BEL``, ``ESC [ 2 J``) retitles or clears the user's terminal, and square
brackets in it are Rich markup (``[/]`` raises ``MarkupError``, ``[link=...]`` makes a link).
``plain`` shows every control character as a Python-style escape (``\\x1b``), so the text stays
readable and inert; ``markup`` also escapes it for Rich markup. Use ``plain`` for ``print`` and
for Rich ``Text``/``markup=False`` columns, ``markup`` inside a string Rich parses as markup.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

# C0 controls (tab and newline included: a value printed on one line must stay on it), DEL,
# C1 controls (8-bit CSI/OSC), and Unicode's invisible direction overrides and isolates,
# which reorder what is displayed (a "clip.mp4" that is really "clip.exe\u202emp4").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_CONTROL_MULTILINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _shown(m: re.Match) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def plain(text: Any, multiline: bool = False) -> str:
    """``text`` as a string with every control character shown as an escape (``\\x1b``).
    ``multiline``: newlines are kept (a message of several lines), everything else escaped."""
    s = str(text)
    return (_CONTROL_MULTILINE if multiline else _CONTROL).sub(_shown, s)


def markup(text: Any, multiline: bool = False) -> str:
    """``plain(text)`` escaped for Rich markup: safe inside ``console.print(f"[bold]{...}[/]")``."""
    return escape(plain(text, multiline))
