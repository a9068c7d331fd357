#!/usr/bin/env python3
"""Generation throughput against the local emulator: N jobs (create -> poll -> download) at
concurrency 1 and K, each job taking ``--job-seconds`` on the "provider". Shows that bounded
concurrency overlaps the provider's wait, and what the client + journal cost per job.

    python benchmarks/bench_generate.py            # 8 jobs of 1.0 s, concurrency 1 vs 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.sora.client import ClientConfig, VideosClient  # noqa: E402
from audit.sora.emulator import Emulator, EmulatorSettings  # noqa: E402
from audit.sora.generate import Generator  # noqa: E402
from audit.sora.jobs import JobStore  # noqa: E402
from audit.sora.providers import Secret, get_provider  # noqa: E402
from audit.sora.suite import Case  # noqa: E402


def one_run(n: int, concurrency: int, job_seconds: float) -> tuple[float, dict]:
    with Emulator(EmulatorSettings(job_seconds=job_seconds, poll_after_ms=100)) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        client = VideosClient(get_provider("emulator"), Secret("k"), ClientConfig(poll_interval=0.1),
                              base_url=emu.base_url)
        store = JobStore(Path(tmp) / "jobs.sqlite")
        store.new_run("bench", "bench", "sha", "emulator")
        gen = Generator(client, store, "bench", Path(tmp) / "bench", "emulator")
        case = Case("c", "A slow pan left", ("sora-2",), "1", "160x96", repeats=n)
        t = time.perf_counter()
        outs = gen.run_all(list((case, "sora-2", r) for r in range(1, n + 1)), concurrency)
        wall = time.perf_counter() - t
        assert all(o.clip is not None for o in outs), [str(o.error) for o in outs if o.error]
        store.close()
        client.close()
        return wall, dict(emu.counts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--job-seconds", type=float, default=1.0)
    a = ap.parse_args()
    w1, c1 = one_run(a.jobs, 1, a.job_seconds)
    wk, ck = one_run(a.jobs, a.concurrency, a.job_seconds)
    floor = a.jobs * a.job_seconds
    print(f"{a.jobs} jobs of {a.job_seconds:g} s (160x96, 1 s clips), emulator on 127.0.0.1")
    print(f"  concurrency 1: {w1:6.2f} s wall  ({w1 / a.jobs:.2f} s/job; provider time alone {floor:.1f} s); "
          f"creates {c1['creates']}, polls {c1['retrieves']}, downloads {c1['downloads']}")
    print(f"  concurrency {a.concurrency}: {wk:6.2f} s wall  ({wk / a.jobs:.2f} s/job); creates {ck['creates']}, "
          f"polls {ck['retrieves']}, downloads {ck['downloads']}")
    print(f"  speed-up x{w1 / wk:.2f} (same run)")


if __name__ == "__main__":
    main()
