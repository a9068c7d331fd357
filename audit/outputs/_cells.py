"""How any value of the JSON contract is shown in a cell of the HTML report: the one renderer.

Scalars become text; a nested object becomes a small key/value table, a list of objects a small
table with one column per key, a list of scalars a comma-separated line. No cell ever shows raw
JSON. The template draws the result with the ``value`` macro (``_macros.html.j2``); nothing here
escapes text (Jinja2's autoescape does).
"""

from __future__ import annotations

import math
from typing import Any

EMPTY = "—"
MAX_ITEMS = 10      # rows of a list-of-objects table, items of a list line, before "and N more"
MAX_COLS = 8
MAX_DEPTH = 3       # deeper than this a value is flattened to "key: value; ..." text


def show(v: Any) -> str:
    """A scalar as text (numbers to 4 significant digits); containers as plain text, no braces."""
    if v is None:
        return EMPTY
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {show(x)}" for k, x in v.items()) or EMPTY
    if isinstance(v, (list, tuple)):
        return ", ".join(show(x) for x in v) if v else "none"
    return str(v)


def is_empty(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, (list, tuple, dict)) and not v)


def cell(v: Any, depth: int = 0) -> str | dict:
    """Text for a scalar, else ``{"kind": "kv" | "table" | "list", ...}`` for the template."""
    if isinstance(v, dict):
        if not v:
            return EMPTY
        if depth >= MAX_DEPTH:
            return show(v)
        return {"kind": "kv", "rows": [(str(k), cell(x, depth + 1)) for k, x in v.items()]}
    if isinstance(v, (list, tuple)):
        if not v:
            return "none"
        more = max(0, len(v) - MAX_ITEMS)
        head = list(v[:MAX_ITEMS])
        if all(not isinstance(x, (dict, list, tuple)) for x in head):
            return ", ".join(show(x) for x in head) + (f" … and {more} more" if more else "")
        if all(isinstance(x, (list, tuple)) and all(not isinstance(y, (dict, list, tuple)) for y in x) for x in head):
            # ranges and track rows ([t0, t1], [t, x, y, w, h]): one short line each
            return "; ".join("(" + ", ".join(show(y) for y in x) + ")" for x in head) + (
                f" … and {more} more" if more else "")
        if depth >= MAX_DEPTH:
            return show(head)
        if all(isinstance(x, dict) for x in head):
            cols = list(dict.fromkeys(k for x in head for k in x))[:MAX_COLS]
            return {"kind": "table", "cols": [str(c) for c in cols],
                    "rows": [[cell(x.get(c), depth + 1) if c in x else "" for c in cols] for x in head], "more": more}
        return {"kind": "list", "items": [cell(x, depth + 1) for x in head], "more": more}
    return show(v)


def kv_rows(items, keep: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """Rows of a key/value table; keys whose value is empty (null, "", [] or {}) are gathered in
    one last row ("none": their names) instead of a row of dashes each. ``keep``: keys shown
    even when empty."""
    rows, unset = [], []
    for k, v in items:
        if is_empty(v) and k not in keep:
            unset.append(str(k))
        else:
            rows.append((k, cell(v)))
    if unset:
        rows.append(("none", ", ".join(unset)))
    return rows
