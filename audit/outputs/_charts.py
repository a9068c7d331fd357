"""Geometry of the report's inline SVG charts: numbers in, coordinates out.

Only numbers cross into the SVG attributes built here; every label is rendered by the Jinja2
template (autoescaped). Times are seconds, chart sizes are SVG user units (CSS pixels).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

W, H = 520, 130          # line chart size
PAD_L, PAD_R, PAD_T, PAD_B = 44, 8, 8, 20
TL_H = 18                # height of one timeline row
BUCKET_PX = 4            # curve decimation: at most 2 points per this many pixels


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(float(v)) else None


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out, v = [], first
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def is_curve(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("t"), list) and isinstance(v.get("v"), list)


def line_chart(curve: dict, duration: float | None, thresholds: dict[str, float] | None = None,
               marks: Sequence[tuple[float, str]] = ()) -> dict | None:
    """A line chart of ``{"t": [...], "v": [...]}`` with horizontal threshold lines and vertical
    ``marks`` ((time in s, label): shot boundaries).

    Nulls break the line. Returns None when there is nothing to draw."""
    pts = [(t, v) for t, v in zip(curve.get("t", []), curve.get("v", [])) if _num(t) is not None]
    vals = [_num(v) for _, v in pts if _num(v) is not None]
    if not vals:
        return None
    th = {k: x for k, x in (thresholds or {}).items() if _num(x) is not None}
    t_max = max([_num(duration) or 0.0] + [float(t) for t, _ in pts]) or 1.0
    lo = min([0.0, *vals, *th.values()])
    lo = lo * 1.1 if lo < 0 else lo
    hi = max([*vals, *th.values()]) * 1.1 if max([*vals, *th.values()]) > 0 else 1.0
    if hi <= lo:
        hi = lo + 1.0
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def X(t: float) -> float:
        return round(PAD_L + pw * t / t_max, 1)

    def Y(v: float) -> float:
        return round(PAD_T + ph * (1 - (v - lo) / (hi - lo)), 1)

    segs, cur = [], []
    for t, v in pts:
        if _num(v) is None:
            if cur:
                segs.append(cur)
            cur = []
        else:
            cur.append((X(float(t)), Y(float(v))))
    if cur:
        segs.append(cur)
    lines = [[f"{x},{y}" for x, y in decimate(seg)] for seg in segs]
    return {
        "w": W, "h": H, "x0": PAD_L, "x1": W - PAD_R, "y0": PAD_T, "y1": H - PAD_B,
        "lines": [" ".join(seg) for seg in lines],
        "dots": [p for seg in lines if len(seg) == 1 for p in seg],
        "thresholds": [{"name": k, "value": fmt(x), "y": Y(x)} for k, x in sorted(th.items(), key=lambda kv: kv[1])],
        "yticks": [{"y": Y(v), "label": fmt(v)} for v in nice_ticks(lo, hi)],
        "xticks": [{"x": X(t), "label": fmt(t)} for t in nice_ticks(0.0, t_max, 6)],
        "vmax": fmt(max(vals)),
        "marks": [{"x": X(float(t)), "label": f"{label} at {float(t):.2f} s"}
                  for t, label in marks if _num(t) is not None and 0.0 <= float(t) <= t_max],
    }


def decimate(seg: list[tuple[float, float]], px: float = BUCKET_PX) -> list[tuple[float, float]]:
    """At most two points (the lowest and the highest, in time order) per ``px`` pixels of x:
    the drawn line looks the same, a one-frame spike survives, and a long clip's chart stays
    a few KB however many frames it has."""
    if len(seg) <= 2 * (W - PAD_L - PAD_R) / px:
        return seg
    out: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    key = None
    for p in seg + [(math.inf, 0.0)]:
        k = math.floor(p[0] / px) if math.isfinite(p[0]) else None
        if bucket and k != key:
            lo = min(bucket, key=lambda q: -q[1])   # SVG y grows downwards: lowest value, largest y
            hi = min(bucket, key=lambda q: q[1])
            out.extend(sorted({lo, hi}, key=lambda q: q[0]) if lo != hi else [lo])
            bucket = []
        bucket.append(p)
        key = k
    return out


def merge_times(ts: Iterable[float], step: float) -> list[list[float]]:
    """Join sample times into [start, end) ranges when consecutive ones are <= 1.5 steps apart."""
    out: list[list[float]] = []
    for t in sorted(ts):
        if out and t - out[-1][1] <= 0.5 * step + 1e-6:
            out[-1][1] = t + step
        else:
            out.append([t, t + step])
    return out


def timeline(rows: Sequence[tuple[str, Sequence[dict]]], duration: float) -> dict:
    """Rows of labelled bars: ``rows`` = [(row label, [{"start", "end", "label", "cls"}])]."""
    x0, x1 = 110, W - PAD_R
    d = duration if duration and duration > 0 else max(
        [float(b["end"]) for _, bars in rows for b in bars if _num(b.get("end")) is not None] or [1.0])
    out = []
    for i, (label, bars) in enumerate(rows):
        y = PAD_T + i * (TL_H + 6)
        drawn = []
        for b in bars:
            s, e = _num(b.get("start")), _num(b.get("end"))
            if s is None or e is None:
                continue
            s, e = max(0.0, min(s, d)), max(0.0, min(e, d))
            xs = x0 + (x1 - x0) * s / d
            drawn.append({"x": round(xs, 1), "w": round(max(1.0, (x1 - x0) * (e - s) / d), 1),
                          "label": b.get("label") or "", "cls": b.get("cls") or "bar",
                          "title": f"{b.get('label') or ''} {s:.2f}-{e:.2f} s".strip()})
        out.append({"label": label, "y": y, "bars": drawn})
    h = PAD_T + len(rows) * (TL_H + 6) + PAD_B
    return {"w": W, "h": h, "x0": x0, "x1": x1, "rows": out, "bar_h": TL_H, "axis_y": h - PAD_B + 2,
            "xticks": [{"x": round(x0 + (x1 - x0) * t / d, 1), "label": fmt(t)} for t in nice_ticks(0.0, d, 6)]}
