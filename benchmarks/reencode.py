#!/usr/bin/env python3
"""Re-encoding stability of the drift and jitter scores (issue 21: "the same clip at CRF 18 and
28 scores within 10 %"), run by hand:

    python benchmarks/reencode.py --root /tmp/realset [--sets drift-16px,jitter-8px] [--crf 28]

Every clip of each injected set (written at CRF 18 by ``benchmarks/realset/make_injected.py``)
is re-encoded at ``--crf`` (libx264, same frames and timestamps, under ``<root>/crf<N>/<set>/``,
kept between runs), both are audited with the project's own ``audit_clip`` (cached like
``benchmarks/real_footage.py``), and the table gives per clip the two scores of the set's metric
and their relative change; then the median change, the share of clips within 10 %, the
10th/90th percentiles and the worst.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "realset"))
from inject import write_frames  # noqa: E402
from real_footage import audit_all, package_hash  # noqa: E402


def reencode(src: Path, out: Path, crf: int) -> Path:
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_name(out.stem + ".part.mp4")
        write_frames(src, part, lambda i, f: f, crf=crf)
        part.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("/tmp/realset"))
    ap.add_argument("--sets", default="drift-16px,jitter-8px")
    ap.add_argument("--crf", type=int, default=28)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    cache = a.root / "cache" / package_hash()
    cache.mkdir(parents=True, exist_ok=True)
    for name in a.sets.split(","):
        metric = name.split("-")[0]
        srcs = sorted((a.root / "injected" / name).glob("*.mp4"))
        if not srcs:
            print(f"{name}: no clips under {a.root / 'injected' / name} (run make_injected.py)", file=sys.stderr)
            continue
        print(f"{name}: re-encoding {len(srcs)} clips at CRF {a.crf}", file=sys.stderr, flush=True)
        outs = [reencode(s, a.root / f"crf{a.crf}" / name / s.name, a.crf) for s in srcs]
        recs = audit_all(srcs + outs, cache, a.jobs)
        changes = []
        print(f"\n{name} ({metric}.score)   CRF 18 -> {a.crf}")
        for s, o in zip(srcs, outs):
            x, y = recs[s].get(metric), recs[o].get(metric)
            ch = (y - x) / x if x and y is not None else None
            if ch is not None:
                changes.append(ch)
            print(f"  {s.stem:24s} {x if x is not None else '-':>8} {y if y is not None else '-':>8} "
                  f"{'' if ch is None else f'{ch:+7.1%}'}")
        if changes:
            q = statistics.quantiles(changes, n=10)
            within = sum(abs(c) <= 0.10 for c in changes)
            worst = max(changes, key=abs)
            print(f"  {len(changes)} clips: median change {statistics.median(changes):+.1%}, within 10 % "
                  f"{within}/{len(changes)}, p10 {q[0]:+.1%}, p90 {q[-1]:+.1%}, worst {worst:+.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
