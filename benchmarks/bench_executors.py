#!/usr/bin/env python3
"""Executors side by side on one batch, in one run: local --jobs 1, local --jobs 2, Dask 2 workers.

    python benchmarks/bench_executors.py [--clips 40] [--seconds 4] [--size 720x1280] [--rounds 3]

Renders ``--clips`` short clips (once, under benchmarks/out/executors/; by default what the Sora
API makes when asked for nothing else: 4 s at 720x1280; rendering 40 takes a few minutes the
first time), then audits the batch with ``LocalExecutor(1)``, ``LocalExecutor(2)`` and
``DaskExecutor`` on a LocalCluster of 2 worker processes, exactly as ``sora-audit check
--executor ... --jobs ...`` does: ``--jobs N`` is N cores, one clip per core (one thread each).
A fourth row, for reference, audits the batch one clip at a time in one worker that has both
cores (decoder and detector threads: what a lone clip gets). For each it prints the wall time
from start (pool / cluster start-up included) to the last clip, the time to shut the pool or
cluster down after it, throughput in clips/s, the steady throughput after the first result (start-up excluded), the
warm throughput once a quarter of the batch is done (every worker running), and the ratios
(targets: jobs 2 >= 1.8x jobs 1; Dask within 10% of the local pool at 2 workers). A sampler
thread reads the RSS of every worker process (the busy descendants of this process) while the batch
runs: per worker, RSS once a quarter of the batch is done and at the end (flat = no growth). It
also checks that every executor returned the same results (timings aside).

CPU seconds tell what the wall clock cannot on a shared machine: per executor, the CPU of its
worker processes (all of it, and the part spent before the first result: process start-up,
imports, cluster start) and of this driver process (which hosts the Dask scheduler of a
LocalCluster). ``--rounds R`` runs the three executors R times in alternating order (ABC, CBA,
...) and reports the median of each figure, so a change in the machine's load does not favour
one executor.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out" / "executors"


MOVES = ("static", "pan_left", "pan_right", "tilt_up", "zoom_in")


def _render_one(i: int, seconds: float, w: int, h: int, p: Path) -> None:
    from audit.synth import CameraSegment, ClipSpec, render

    m = MOVES[i % len(MOVES)]
    cam = () if m == "static" else (CameraSegment(m, 0, seconds, 0.04),)
    tmp = p.with_suffix(".tmp.mp4")
    render(ClipSpec(width=w, height=h, seconds=seconds, seed=i, camera=cam,
                    flicker_amp=0.04 if i % 7 == 3 else 0.0), tmp)
    tmp.replace(p)


def make_clips(n: int, seconds: float, w: int, h: int) -> list[Path]:
    """The batch, rendered once (in parallel) and kept."""
    from concurrent.futures import ProcessPoolExecutor

    OUT.mkdir(parents=True, exist_ok=True)
    paths = [OUT / f"c{i:03d}_{seconds:g}s_{w}x{h}.mp4" for i in range(n)]
    todo = [(i, p) for i, p in enumerate(paths) if not p.exists()]
    if todo:
        print(f"rendering {len(todo)} clips of {seconds:g} s {w}x{h} under {OUT} (once)...", flush=True)
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            for f in [pool.submit(_render_one, i, seconds, w, h, p) for i, p in todo]:
                f.result()
    return paths


class RssSampler:
    """Samples (clips done, pid, RSS) of this process's descendants every ``every`` seconds."""

    def __init__(self, every: float = 0.2):
        import psutil

        self.me = psutil.Process()
        self.every = every
        self.done = 0
        self.samples: list[tuple[int, int, int]] = []
        self.cpu: dict[int, float] = {}
        self.cpu_at_first: dict[int, float] = {}
        self.busiest_thread: dict[int, float] = {}  # pid -> CPU s of its busiest thread
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def _read_cpu(self) -> dict[int, float]:
        import psutil

        out = {}
        for p in self.me.children(recursive=True):
            try:
                ct = p.cpu_times()
            except psutil.Error:
                continue
            out[p.pid] = ct.user + ct.system
        return out

    def mark_first(self) -> None:
        """The first result is in: what every process used so far is start-up."""
        self.cpu_at_first = self._read_cpu()

    def _loop(self):
        import psutil

        while not self._stop.is_set():
            for p in self.me.children(recursive=True):
                try:
                    with p.oneshot():
                        rss = p.memory_info().rss
                        ct = p.cpu_times()
                        threads = p.threads()
                except psutil.Error:
                    continue
                if threads:
                    self.busiest_thread[p.pid] = max(t.user_time + t.system_time for t in threads)
                if rss:  # an exiting process reads 0
                    self.samples.append((self.done, p.pid, rss))
                self.cpu[p.pid] = ct.user + ct.system
            self._stop.wait(self.every)

    def workers(self, total: int) -> list[dict]:
        """Busy processes (the workers): RSS (MiB) at a quarter of the batch, at the end, and max."""
        if not self.cpu:
            return []
        busiest = max(self.cpu.values())
        rows = []
        for pid, cpu in sorted(self.cpu.items()):
            if cpu < 0.2 * busiest:
                continue  # forkserver, nanny, resource tracker
            s = [(d, r) for d, p, r in self.samples if p == pid]
            if not s:
                continue
            q = [r for d, r in s if d >= total // 4] or [s[0][1]]
            rows.append({"pid": pid, "cpu_s": round(cpu, 2), "cpu_startup_s": round(self.cpu_at_first.get(pid, 0.0), 2),
                         "busiest_thread_cpu_s": round(self.busiest_thread.get(pid, 0.0), 2),
                         "rss_q1_mib": round(q[0] / 2**20, 1),
                         "rss_end_mib": round(s[-1][1] / 2**20, 1), "rss_max_mib": round(max(r for _, r in s) / 2**20, 1)})
        return rows


def run_one(name: str, executor, tasks) -> dict:
    import psutil

    me = psutil.Process()
    results: dict[int, dict] = {}
    with RssSampler() as sampler:
        c0 = sum(me.cpu_times()[:2])
        t0 = time.perf_counter()
        first = None
        done_at: list[float] = []
        for i, res in executor.run(tasks):
            if first is None:
                first = time.perf_counter() - t0
                sampler.mark_first()
            results[i] = res
            sampler.done += 1
            done_at.append(time.perf_counter() - t0)
        # the generator has returned: the pool or cluster is shut down
        close = time.perf_counter() - t0 - done_at[-1]
        wall = done_at[-1]
        driver_cpu = sum(me.cpu_times()[:2]) - c0
    n = len(tasks)
    assert sorted(results) == list(range(n)), f"{name}: clips lost or duplicated"
    workers = sampler.workers(n)
    children_cpu = sum(sampler.cpu.values())  # workers + nannies, forkserver, resource tracker
    cpu = sum(w["cpu_s"] for w in workers)
    startup = sum(w["cpu_startup_s"] for w in workers)
    return {
        "name": name, "wall_s": wall, "close_s": close, "first_s": first, "clips_per_s": n / wall,
        "steady_clips_per_s": (n - 1) / (wall - first) if wall > first else float("nan"),
        # warm: from the moment a quarter of the batch is done (every worker started long before)
        "warm_clips_per_s": (n - n // 4) / (wall - done_at[n // 4 - 1]) if n >= 8 else float("nan"),
        "worker_cpu_s": cpu, "worker_startup_cpu_s": startup,
        # after the first result: per clip (the first clip's own CPU counts as start-up)
        "worker_cpu_per_clip_s": (cpu - startup) / (n - 1) if n > 1 else float("nan"),
        "driver_cpu_s": driver_cpu, "children_cpu_s": children_cpu,
        "workers": workers, "results": [results[i] for i in range(n)],
    }


def _median_run(runs: list[dict]) -> dict:
    """Median of every figure over the rounds; workers and results from the median-wall round."""
    out = dict(sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2])
    for k in ("wall_s", "close_s", "first_s", "clips_per_s", "steady_clips_per_s", "warm_clips_per_s", "worker_cpu_s", "worker_startup_cpu_s",
              "worker_cpu_per_clip_s", "driver_cpu_s", "children_cpu_s"):
        out[k] = statistics.median(r[k] for r in runs)
    out["all_results"] = [r["results"] for r in runs]
    return out


def _comparable(results: list[dict]) -> str:
    return json.dumps([{k: v for k, v in r.items() if k != "timings"} for r in results], sort_keys=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each clip (s; the API's shortest is 4)")
    ap.add_argument("--size", default="720x1280", help="WxH of each clip (the API's default is 720x1280)")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each executor, in alternating order")
    ap.add_argument("--no-reference", action="store_true", help="skip the one-worker-with-every-core row")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    rounds = max(1, args.rounds)

    from audit.dask_executor import DaskExecutor
    from audit.executors import LocalExecutor
    from audit.pipeline import AuditTask

    clips = make_clips(args.clips, args.seconds, w, h)
    tasks = [AuditTask(str(p)) for p in clips]
    load = os.getloadavg()
    cores = os.cpu_count() or 1
    print(f"{len(tasks)} clips of {args.seconds:g} s {w}x{h}; {cores} CPUs; "
          f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    makers = [
        ("local --jobs 1", lambda: LocalExecutor(1)),
        ("local --jobs 2", lambda: LocalExecutor(2)),
        ("dask LocalCluster 2 workers", lambda: DaskExecutor(workers=2, log=lambda m: None)),
    ]
    if not args.no_reference:
        makers.append((f"reference: 1 worker, {cores} threads", lambda: LocalExecutor(1, threads=cores)))
    by_name: dict[str, list[dict]] = {name: [] for name, _ in makers}
    for rnd in range(rounds):
        order = makers if rnd % 2 == 0 else makers[::-1]
        for name, make in order:
            r = run_one(name, make(), tasks)
            by_name[name].append(r)
            print(f"round {rnd + 1}: {name}: {r['wall_s']:.2f} s wall, {r['worker_cpu_s']:.1f} worker CPU s",
                  flush=True)
    runs = [_median_run(by_name[name]) for name, _ in makers]
    same = len({_comparable(res) for r in runs for res in r["all_results"]}) == 1
    print()
    print(f"Medians of {rounds} round(s). Wall: from start to the last clip's result (start-up "
          "included); shut-down after it is its own column.")
    print()
    print("| executor | wall s | shut-down s | first clip s | clips/s | steady clips/s | warm clips/s | vs jobs 1 "
          "| worker CPU s | of which start-up | worker CPU s / clip after the first | driver CPU s "
          "| all child processes CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = runs[0]["clips_per_s"]
    for r in runs:
        print(f"| {r['name']} | {r['wall_s']:.2f} | {r['close_s']:.2f} | {r['first_s']:.2f} | {r['clips_per_s']:.2f} | "
              f"{r['steady_clips_per_s']:.2f} | {r['warm_clips_per_s']:.2f} | {r['clips_per_s'] / base:.2f}x | "
              f"{r['worker_cpu_s']:.1f} | {r['worker_startup_cpu_s']:.1f} | {r['worker_cpu_per_clip_s']:.3f} | "
              f"{r['driver_cpu_s']:.1f} | {r['children_cpu_s']:.1f} |")
    j2, dk = runs[1], runs[2]
    # Paired within each round (the executors of one round ran back to back): a machine whose
    # speed drifts between rounds moves both sides of a ratio alike.
    names = [name for name, _ in makers]
    per_round = [(by_name[names[0]][i]["wall_s"] / by_name[names[1]][i]["wall_s"],
                  by_name[names[1]][i]["wall_s"] / by_name[names[2]][i]["wall_s"]) for i in range(rounds)]
    print()
    print("per round, paired (throughput ratios): jobs 2 / jobs 1 " + ", ".join(f"{a:.2f}x" for a, _ in per_round)
          + f" (median {statistics.median(a for a, _ in per_round):.2f}x, target >= 1.8x); dask / jobs 2 "
          + ", ".join(f"{b:.2f}x" for _, b in per_round)
          + f" (median {statistics.median(b for _, b in per_round):.2f}x, target >= 0.90x)")
    print("from the medians of the table:")
    print(f"jobs 2 / jobs 1: {j2['clips_per_s'] / base:.2f}x (target >= 1.8x); steady "
          f"{j2['steady_clips_per_s'] / runs[0]['steady_clips_per_s']:.2f}x; warm "
          f"{j2['warm_clips_per_s'] / runs[0]['warm_clips_per_s']:.2f}x")
    print(f"dask 2 workers / local jobs 2: {dk['clips_per_s'] / j2['clips_per_s']:.2f}x (target >= 0.90x); steady "
          f"{dk['steady_clips_per_s'] / j2['steady_clips_per_s']:.2f}x; warm "
          f"{dk['warm_clips_per_s'] / j2['warm_clips_per_s']:.2f}x; worker CPU per clip after the first "
          f"{dk['worker_cpu_per_clip_s'] / j2['worker_cpu_per_clip_s']:.2f}x; fixed cost (wall at the same "
          f"throughput as jobs 2) {dk['wall_s'] - len(tasks) / j2['clips_per_s']:+.2f} s")
    if len(runs) > 3:
        ref = runs[3]
        print(f"jobs 2 / {ref['name']}: {j2['clips_per_s'] / ref['clips_per_s']:.2f}x; worker CPU per clip "
              f"{ref['worker_cpu_per_clip_s']:.3f} s threaded vs {runs[0]['worker_cpu_per_clip_s']:.3f} s on one "
              f"thread (a clip's threads overlap but cost CPU: hand-offs, frame threads)")
    print("cores kept busy (CPU of every child process and of this driver / wall): " + "; ".join(
        f"{r['name']} {(r['children_cpu_s'] + r['driver_cpu_s']) / r['wall_s']:.2f}" for r in runs))
    print(f"same results from every executor (timings aside): {same}")
    print()
    print("Per worker, the median-wall round of each executor:")
    print()
    print("| executor | worker pid | cpu s | cpu s before the first result | busiest thread cpu s "
          "| RSS at 1/4 of batch MiB | RSS at end MiB | RSS max MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        for w in r["workers"]:
            print(f"| {r['name']} | {w['pid']} | {w['cpu_s']} | {w['cpu_startup_s']} | {w['busiest_thread_cpu_s']} | "
                  f"{w['rss_q1_mib']} | {w['rss_end_mib']} | {w['rss_max_mib']} |")
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
