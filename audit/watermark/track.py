"""A watermark search's samples joined over time: what each analysed frame stands for, the
stretches without the mark, and the positions it held."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Sample:
    """One analysed frame. ``seen``: True / False, or None when undecidable (template-free,
    static shot). ``box``: x, y, w, h in displayed pixels."""

    t: float
    seen: bool | None
    score: float | None = None
    box: tuple[int, int, int, int] | None = None
    mark: int | None = None   # template index (``WatermarkDetector.marks``) that matched



def span(samples: list[Sample], i: int, duration: float) -> tuple[float, float]:
    """The stretch of clip time sample ``i`` stands for: half-way to its neighbours, the first
    from 0, the last to the end."""
    s = samples[i]
    a = 0.0 if i == 0 else (samples[i - 1].t + s.t) / 2
    b = max(duration, s.t) if i == len(samples) - 1 else (s.t + samples[i + 1].t) / 2
    return a, b


def spans(samples: list[Sample], duration: float) -> list[tuple[float, float]]:
    """``span`` of every sample."""
    return [span(samples, i, duration) for i in range(len(samples))]


def coverage(samples: list[Sample], spans: list[tuple[float, float]], duration: float) -> float:
    """Share of ``duration`` the samples showing the mark stand for (``spans``: theirs)."""
    return sum(b - a for s, (a, b) in zip(samples, spans) if s.seen) / duration if duration else 0.0


def gaps(samples: list[Sample], spans: list[tuple[float, float]], min_gap_s: float) -> list[list[float]]:
    """Runs of samples without the mark (at least one decided miss in the run)."""
    out = []
    run: list[int] = []
    for i, s in enumerate(samples + [Sample(float("inf"), True)]):
        if not s.seen:
            run.append(i)
            continue
        if run and any(samples[j].seen is False for j in run):
            a, b = spans[run[0]][0], spans[run[-1]][1]
            if b - a >= min_gap_s:
                out.append([round(a, 3), round(b, 3)])
        run = []
    return out


def segments(hits: list[Sample]) -> list[dict]:
    """Consecutive sightings at about the same place joined: one segment per position held."""
    segs: list[dict] = []
    for s in hits:
        x, y, w, h = s.box
        if segs:
            g = segs[-1]
            gx, gy, gw, gh = g["box"]
            if abs(x - gx) <= max(2, gw // 4) and abs(y - gy) <= max(2, gh // 4):
                g["t1"] = round(s.t, 3)
                g["n"] += 1
                continue
        segs.append({"t0": round(s.t, 3), "t1": round(s.t, 3), "box": [x, y, w, h], "n": 1})
    return segs
