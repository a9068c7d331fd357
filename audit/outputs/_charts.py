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
CHAR_PX = 5.6            # mean width of a character of the charts' 10 px font
ROW_LABEL_CHARS = 18     # a timeline row's label fits the 110 px left of the bars
BUCKET_PX = 4            # curve decimation: at most 2 points per this many pixels


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(float(v)) else None


def nice_step(span: float, n: int = 4) -> float:
    """A 1, 2 or 5 times a power of ten step cutting ``span`` into about ``n`` parts."""
    raw = span / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))


def _clean(v: float, step: float) -> float:
    """``v`` rounded to the step's decimals: 0.30000000000000004 -> 0.3, -0.0 -> 0.0."""
    digits = max(0, -math.floor(math.log10(step)) + 1)
    return round(v, digits) + 0.0


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values (1-2-5 steps) inside [lo, hi]."""
    if hi <= lo:
        return [lo]
    step = nice_step(hi - lo, n)
    first = math.ceil(lo / step - 1e-9)
    return [_clean(k * step, step) for k in range(first, math.floor(hi / step + 1e-9) + 1)]


def nice_axis(lo: float, hi: float, n: int = 4, nonnegative: bool = False) -> tuple[float, float, list[float]]:
    """An axis [lo', hi'] widened to round values, with its ticks (1-2-5 steps). ``nonnegative``:
    the quantity cannot be below 0, so the axis never goes there."""
    if nonnegative:
        lo = max(0.0, lo)
    if hi - lo < 1e-12:
        pad = abs(hi) * 0.5 or 1.0
        lo, hi = (max(0.0, lo - pad) if nonnegative else lo - pad), hi + pad
    step = nice_step(hi - lo, n)
    a, b = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    if nonnegative:
        a = max(0.0, a)
    ticks = [_clean(k * step, step) for k in range(round(a / step), round(b / step) + 1)]
    return _clean(a, step), _clean(b, step), ticks


def spread(ys: Sequence[float], gap: float, top: float, bottom: float) -> list[float]:
    """Label positions (SVG y, growing downwards) as near as possible to ``ys`` but at least
    ``gap`` apart and inside [top, bottom], in the input's order: labels of close thresholds
    are pushed apart instead of being drawn on top of each other."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    pos = [min(max(ys[i], top), bottom) for i in order]
    for k in range(1, len(pos)):                 # push down
        pos[k] = max(pos[k], pos[k - 1] + gap)
    if pos and pos[-1] > bottom:                 # then back up from the bottom
        pos[-1] = bottom
        for k in range(len(pos) - 2, -1, -1):
            pos[k] = min(pos[k], pos[k + 1] - gap)
    out = [0.0] * len(ys)
    for k, i in enumerate(order):
        out[i] = round(pos[k], 1)
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
        "thresholds": _threshold_labels(th, Y),
        "yticks": [{"y": Y(v), "label": fmt(v)} for v in nice_ticks(lo, hi)],
        "xticks": _xticks([(X(t), fmt(t)) for t in nice_ticks(0.0, t_max, 6)], PAD_L, W - PAD_R),
        "vmax": fmt(max(vals)),
        "marks": [{"x": X(float(t)), "label": f"{label} at {float(t):.2f} s"}
                  for t, label in marks if _num(t) is not None and 0.0 <= float(t) <= t_max],
    }


def _xticks(ticks: list[tuple[float, str]], x0: float, x1: float) -> list[dict]:
    """Time labels under the axis: the one at the left edge starts there (centred, it would run
    into the lowest value label of the y axis), the one at the right edge ends there."""
    return [{"x": x, "label": lab, "anchor": "start" if x <= x0 + 1 else ("end" if x >= x1 - 1 else "middle")}
            for x, lab in ticks]


LABEL_GAP = 11          # px between two threshold labels' baselines (10 px text)


def _threshold_labels(th: dict[str, float], Y) -> list[dict]:
    """Threshold lines, each with its label's baseline ``ly`` just above the line, nudged so
    that no two labels overlap and none leaves the plot."""
    items = sorted(th.items(), key=lambda kv: kv[1])
    ys = [Y(x) for _, x in items]
    ly = spread([y - 2 for y in ys], LABEL_GAP, PAD_T + 9, H - PAD_B - 2)
    return [{"name": k, "value": fmt(x), "y": y, "ly": l} for (k, x), y, l in zip(items, ys, ly)]


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
            w = round(max(1.0, (x1 - x0) * (e - s) / d), 1)
            text = str(b.get("label") or "")
            drawn.append({"x": round(xs, 1), "w": w,
                          # drawn inside the bar only when it fits there: never over the next bar's label
                          "label": text if w >= 6 + CHAR_PX * len(text) else "", "cls": b.get("cls") or "bar",
                          "title": f"{b.get('label') or ''} {s:.2f}-{e:.2f} s".strip()})
        out.append({"label": label if len(label) <= ROW_LABEL_CHARS else label[:ROW_LABEL_CHARS - 1] + "…",
                    "y": y, "bars": drawn})
    h = PAD_T + len(rows) * (TL_H + 6) + PAD_B
    return {"w": W, "h": h, "x0": x0, "x1": x1, "rows": out, "bar_h": TL_H, "axis_y": h - PAD_B + 2,
            "xticks": _xticks([(round(x0 + (x1 - x0) * t / d, 1), fmt(t)) for t in nice_ticks(0.0, d, 6)], x0, x1)}
