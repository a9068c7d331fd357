"""Self-contained HTML pages of the history: a comparison, and trends over runs (inline SVG).

No script, no external asset: one file that opens anywhere. Every value from the database
(labels, model names, paths) is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from jinja2 import Environment, PackageLoader, select_autoescape

from . import __version__
from .outputs._charts import fmt, nice_axis

_ENV = Environment(loader=PackageLoader("audit", "templates"), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}" if abs(x) >= 1e-4 or x == 0 else f"{x:.2e}"
    return str(x)


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


_ENV.filters["num"] = _fmt
_ENV.filters["pct"] = _pct


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_compare_html(path: Path, data: Mapping[str, Any]) -> Path:
    html = _ENV.get_template("history_compare.html.j2").render(d=data, version=__version__)
    return _write(path, html)


# ---- trend charts -----------------------------------------------------------------------------

XLABEL_CHARS = 18        # a run's label under the axis, cut to this many characters
XLABEL_PX = 6.2 * XLABEL_CHARS + 8   # its width at 11 px, and a margin


def _short(label: str) -> str:
    return label if len(label) <= XLABEL_CHARS else label[:XLABEL_CHARS - 1] + "…"


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def svg_chart(title: str, xlabels: Sequence[str], series: Mapping[str, Sequence[float | None]],
              *, y_min: float | None = None, y_max: float | None = None, unit: str = "",
              width: int = 760, height: int = 240) -> dict[str, Any]:
    """Geometry of a line chart (one polyline per series, gaps where a value is missing), for the
    template to draw as inline SVG. ``xlabels``: one per run, oldest first."""
    left, right, top, bottom = 56, 16, 24, 48
    vals = [v for s in series.values() for v in s if v is not None and math.isfinite(v)]
    lo = y_min if y_min is not None else (min(vals) if vals else 0.0)
    hi = y_max if y_max is not None else (max(vals) if vals else 1.0)
    # round ticks (1-2-5 steps); a metric that never went below 0 gets no axis below 0
    lo, hi, ticks = nice_axis(lo, hi, 5, nonnegative=lo >= 0)
    n = len(xlabels)
    pw, ph = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (pw * (i + 0.5) / n if n else 0)

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    lines = []
    for k, (name, vs) in enumerate(series.items()):
        segs, cur, points = [], [], []
        for i, v in enumerate(vs):
            if v is None or not math.isfinite(v):
                if cur:
                    segs.append(cur)
                cur = []
                continue
            pt = (round(x(i), 1), round(y(v), 1))
            cur.append(pt)
            points.append({"x": pt[0], "y": pt[1], "v": v, "run": xlabels[i]})
        if cur:
            segs.append(cur)
        lines.append({"name": name, "color": PALETTE[k % len(PALETTE)], "points": points,
                      "paths": [" ".join(f"{a},{b}" for a, b in s) for s in segs]})
    every = max(1, math.ceil(n * XLABEL_PX / max(1, pw)))   # run labels thinned so they never overlap
    return {
        "title": title, "width": width, "height": height, "left": left, "top": top, "pw": pw, "ph": ph,
        "yticks": [{"y": round(y(t), 1), "label": fmt(t) + unit} for t in ticks],
        "xticks": [{"x": round(x(i), 1), "label": _short(lab)} for i, lab in enumerate(xlabels)
                   if (n - 1 - i) % every == 0],
        "lines": lines,
    }


def write_trend_html(path: Path, data: Mapping[str, Any], charts: Sequence[Mapping[str, Any]]) -> Path:
    html = _ENV.get_template("history_trend.html.j2").render(d=data, charts=charts, version=__version__)
    return _write(path, html)
