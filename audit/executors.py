"""Executors run ``audit_clip`` over a batch: in this process, or in a pool of worker processes.

Every executor runs the same function on the same ``AuditTask`` and yields ``(index, clip_dict)``
as clips finish, so results do not depend on where a clip was audited. A worker that dies (a
segfault in a native decoder, the OOM killer) costs only the clip it was auditing: the pool is
rebuilt, the clips that were in flight are retried one at a time, and a clip that kills its
worker again gets an ``error`` verdict with a ``runtime.worker_crashed`` finding.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator, Sequence

from . import contract
from .findings import FAIL, RUNTIME, Finding
from .pipeline import AuditTask, audit_clip

AuditFn = Callable[[AuditTask], dict]


def crashed_clip(task: AuditTask, detail: str) -> dict:
    """The contract dict of a clip whose worker died while auditing it."""
    f = Finding(
        RUNTIME,
        FAIL,
        "runtime.worker_crashed",
        f"{task.path}: the worker process auditing this clip died ({detail}). The file may crash "
        "the decoder; audit it alone with --jobs 0 to see the native error.",
        {"detail": detail},
    )
    return contract.clip_dict(
        path=task.path, verdict="error", source=task.source, media=None, blocks={}, metrics={}, findings=[f]
    )


def pin_threads(threads: int = 1) -> None:
    """A worker process that may use ``threads`` cores for one clip at a time.

    FFmpeg's decoder gets ``threads`` frame threads; with more than one, the clip is decoded on
    a thread of its own, ahead of the detectors (``media.PREFETCH``), and from
    ``pipeline.LANES_MIN_CORES`` on, detector lanes run beside each other (``pipeline.SIDE_LANES``;
    on 2 cores they cost more than they save); with one, everything runs on one thread.
    OpenCV always runs on one thread: our own threads are the parallelism, and its thread pool on
    our small analysis frames (<= 640 px) cost CPU for no speed (measured on the 12 s 720p clip of
    benchmarks/bench_quality.py: 2.8 -> 2.2 CPU s, and less wall time too, on 2 cores).

    Run in every worker process (the local pool's initializer, ``audit.dask_worker.PinThreads``):
    ``--jobs N`` uses N cores, one clip per core. Left alone, every worker's decoder would start
    a thread per core and N workers would fight over the same cores; and one clip on several
    threads costs more CPU than on one (hand-offs, frame threads: benchmarks/bench_executors.py
    prints both). Results do not change: decoding is exact, OpenCV's results do not depend on its
    threads, and lanes give the same JSON as one thread (tested).
    """
    import cv2

    from . import media, pipeline

    threads = max(1, threads)
    media.DECODE_THREADS = threads
    media.PREFETCH = 8 if threads > 1 else 0
    pipeline.SIDE_LANES = threads >= pipeline.LANES_MIN_CORES
    cv2.setNumThreads(1)


class InlineExecutor:
    """Audits in this process, one clip after the other (``--jobs 0``: for debugging)."""

    def __init__(self, fn: AuditFn = audit_clip):
        self.fn = fn

    def run(self, tasks: Sequence[AuditTask]) -> Iterator[tuple[int, dict]]:
        for i, t in enumerate(tasks):
            yield i, self.fn(t)


class LocalExecutor:
    """A pool of ``jobs`` worker processes on this machine (``--jobs N``): N cores, one clip per
    core. A batch of fewer clips than ``jobs`` gets fewer workers, and they share the spare cores
    as threads (one clip with ``--jobs 4`` decodes and analyses on 4 threads)."""

    def __init__(self, jobs: int, fn: AuditFn = audit_clip, threads: int | None = None):
        self.jobs = max(1, jobs)
        self.fn = fn
        self.threads = threads  # per worker; None: jobs // workers
        # forkserver: workers start from a clean process, not a copy of a threaded parent.
        self._ctx = multiprocessing.get_context("forkserver")

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=self._ctx,
                                   initializer=pin_threads, initargs=(self.threads or max(1, self.jobs // workers),))

    def run(self, tasks: Sequence[AuditTask]) -> Iterator[tuple[int, dict]]:
        pending = list(range(len(tasks)))
        breaks = {i: 0 for i in pending}
        while pending:
            suspects = yield from self._round(tasks, pending)
            pending = []
            for i in suspects:
                breaks[i] += 1
            # A clip in flight during two pool crashes is retried alone, so the culprit is found
            # and the innocent ones still get audited.
            yield from self._isolate(tasks, [i for i in suspects if breaks[i] >= 2])
            pending = [i for i in suspects if breaks[i] < 2]

    def _round(self, tasks: Sequence[AuditTask], indexes: list[int]):
        """Submit ``indexes`` to a fresh pool; yield results; return the clips lost to a crash."""
        pool = self._pool(min(self.jobs, len(indexes)))
        futures: dict[Future, int] = {pool.submit(self.fn, tasks[i]): i for i in indexes}
        suspects: list[int] = []
        try:
            not_done = set(futures)
            while not_done and not suspects:
                # short waits: the main thread stays responsive to Ctrl-C (see audit.sora.generate)
                done, not_done = wait(not_done, timeout=0.25, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        res = fut.result()
                    except BrokenProcessPool:
                        suspects.append(futures[fut])
                        continue
                    yield futures[fut], res
            if suspects:
                suspects.extend(futures[f] for f in not_done)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return sorted(set(suspects))

    def _isolate(self, tasks: Sequence[AuditTask], suspects: list[int]) -> Iterator[tuple[int, dict]]:
        for i in suspects:
            pool = self._pool(1)
            try:
                yield i, pool.submit(self.fn, tasks[i]).result()
            except BrokenProcessPool as e:
                yield i, crashed_clip(tasks[i], f"worker exited abruptly: {e}")
            finally:
                pool.shutdown(wait=True, cancel_futures=True)


def make_executor(jobs: int, fn: AuditFn = audit_clip, kind: str = "local", scheduler: str | None = None, log=None):
    """``kind == "dask"``: a Dask cluster (``scheduler`` address, or a LocalCluster of ``jobs``
    workers); otherwise ``jobs == 0``: inline, else a process pool of ``jobs`` workers."""
    if kind == "dask":
        from .dask_executor import DaskExecutor  # lazily: dask is an optional extra

        return DaskExecutor(scheduler=scheduler, workers=jobs, fn=fn, log=log)
    return InlineExecutor(fn) if jobs == 0 else LocalExecutor(jobs, fn)
