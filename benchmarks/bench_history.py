#!/usr/bin/env python3
"""History at scale: storing runs, listing them, comparing two, charting a trend.

    python benchmarks/bench_history.py [--runs 200] [--clips 50]

Fills a fresh database with RUNS runs of CLIPS clips (2 models, 20 metrics and 2 findings a
clip, like a real suite), then times `store_run`, `list_runs`, `run_clips` + `compare` and
`trend_data`, and prints the figures and the database size. Numbers are synthetic; no clip
is decoded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit import comparison, history  # noqa: E402
from audit.commands.trend import trend_data  # noqa: E402
from audit.policy import load_policy  # noqa: E402


def fake_run(i: int, clips: int, rng: np.random.Generator) -> dict:
    cs = []
    for j in range(clips):
        model = ("sora-2", "sora-2-pro")[j % 2]
        flick = {f"m{k}": float(rng.normal(1, 0.1)) for k in range(17)}
        flick["score"] = float(abs(rng.normal(0.2, 0.05)))
        cs.append({
            "path": f"/suite/r{i}/c{j}.mp4", "verdict": "pass", "sha256": f"{i:032x}{j:032x}",
            "source": {"model": model, "case_id": f"case{j // 2}", "repeat": 0, "prompt": "p" * 80},
            "metrics": {"flicker": flick}, "watermark": {"coverage": 1.0, "confidence": 0.9},
            "findings": [{"category": "quality", "severity": "info", "code": f"quality.x{k}"} for k in range(2)],
        })
    return {"run_id": f"run-{i:05d}", "version": "bench", "clips": cs, "policy": {"sha256": "0"}, "exit_code": 0}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--clips", type=int, default=50)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "h.sqlite"
        conn = history.connect(db)
        t = time.perf_counter()
        for i in range(a.runs):
            history.store_run(conn, fake_run(i, a.clips, rng), label=f"nightly-{i}", stored_at=f"2026-01-01T{i:06d}")
        store = time.perf_counter() - t
        rows = a.runs * a.clips * (20 + 2)
        print(f"store_run: {a.runs} runs x {a.clips} clips in {store:.2f} s "
              f"({1000 * store / a.runs:.1f} ms a run, {rows / store:,.0f} metric+finding rows/s)")
        t = time.perf_counter()
        runs = history.list_runs(conn)
        print(f"list_runs ({len(runs)} runs): {1000 * (time.perf_counter() - t):.1f} ms")
        t = time.perf_counter()
        base, cand = history.resolve_run(conn, "nightly-0"), history.resolve_run(conn, f"nightly-{a.runs - 1}")
        cmp = comparison.compare(base, history.run_clips(conn, base["id"]), cand, history.run_clips(conn, cand["id"]),
                                 load_policy())
        print(f"compare (2 models x {len({r.metric for r in cmp.rows})} metrics, 2000 resamples): "
              f"{1000 * (time.perf_counter() - t):.0f} ms")
        t = time.perf_counter()
        trend_data(conn, "flicker.score", "model", 30)
        print(f"trend_data (30 newest runs): {1000 * (time.perf_counter() - t):.0f} ms")
        conn.close()
        size = sum(p.stat().st_size for p in Path(d).iterdir())
        print(f"database: {size / 1e6:.1f} MB ({size / (a.runs * a.clips):.0f} bytes a clip)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
