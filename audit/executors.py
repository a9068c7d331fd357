"""Executors run ``audit_clip`` over a batch: in this process, or in a pool of worker processes.

Every executor runs the same function on the same ``AuditTask`` and yields ``(index, clip_dict)``
as clips finish, so results do not depend on where a clip was audited. A worker that dies (a
segfault in a native decoder, the OOM killer) costs only the clip it was auditing: the pool is
rebuilt, the clips that were in flight are retried one at a time, and a clip that kills its
worker again gets an ``error`` verdict with a ``runtime.worker_crashed`` finding.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator, Sequence

from . import contract
from .findings import FAIL, RUNTIME, Finding
from .pipeline import AuditTask, audit_clip
from .remote import is_url

AuditFn = Callable[[AuditTask], dict]


def _error_clip(task: AuditTask, finding: Finding) -> dict:
    """The contract dict of a clip that got no audit, only ``finding``."""
    return contract.clip_dict(
        path=task.path, verdict="error", source=task.source, media=None, blocks={}, metrics={}, findings=[finding]
    )


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
    return _error_clip(task, f)


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
        self.progress: Callable[[int, str, dict], None] | None = None  # as LocalExecutor's

    def run(self, tasks: Sequence[AuditTask]) -> Iterator[tuple[int, dict]]:
        from . import pipeline

        for i, t in enumerate(tasks):
            if self.progress is not None:
                pipeline.REPORT = lambda kind, _i=i, **info: self.progress(_i, kind, info)
            try:
                yield i, self.fn(t)
            finally:
                pipeline.REPORT = None


class LocalExecutor:
    """A pool of ``jobs`` worker processes on this machine (``--jobs N``): N cores, one clip per
    core. A batch of fewer clips than ``jobs`` gets fewer workers, and they share the spare cores
    as threads (one clip with ``--jobs 4`` decodes and analyses on 4 threads).

    Each worker tells the parent, over a queue, when it starts a clip, the clip's duration and
    size once probed, and how far hashing a large file has gone (``pipeline.report``). From that
    the parent enforces the per-clip time limit (``[limits] clip_time_*``): a clip over it has
    its worker killed and gets ``runtime.timeout``; the pool is rebuilt and the clips that were in
    flight beside it are audited again (they were not at fault). ``progress(index, kind, info)``
    (optional) hears the same reports: the progress bar shows hashing of a huge file.

    Interrupted (Ctrl-C, or SIGTERM, which the CLI turns into the same ``KeyboardInterrupt``),
    the workers are terminated, not waited for: no process is left auditing after the run ends."""

    def __init__(self, jobs: int, fn: AuditFn = audit_clip, threads: int | None = None):
        self.jobs = max(1, jobs)
        self.fn = fn
        self.threads = threads  # per worker; None: jobs // workers
        self.progress: Callable[[int, str, dict], None] | None = None
        # forkserver: workers start from a clean process, not a copy of a threaded parent.
        self._ctx = multiprocessing.get_context("forkserver")

    def _pool(self, workers: int, events) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=self._ctx, initializer=_init_worker,
                                   initargs=(self.threads or max(1, self.jobs // workers), events))

    def run(self, tasks: Sequence[AuditTask]) -> Iterator[tuple[int, dict]]:
        pending = list(range(len(tasks)))
        breaks = {i: 0 for i in pending}
        while pending:
            suspects, innocent = yield from self._round(tasks, pending)
            for i in suspects:
                breaks[i] += 1
            # A clip in flight during two pool crashes is retried alone, so the culprit is found
            # and the innocent ones still get audited.
            for i in [i for i in suspects if breaks[i] >= 2]:
                lost, again = yield from self._round(tasks, [i])
                if lost or again:
                    yield i, crashed_clip(tasks[i], "worker exited abruptly twice")
            pending = sorted(set(innocent) | {i for i in suspects if breaks[i] < 2})

    def _round(self, tasks: Sequence[AuditTask], indexes: list[int]):
        """Submit ``indexes`` to a fresh pool; yield results. Returns (suspects, innocent): the
        clips in flight when a worker died, and those in flight when we killed one for its time."""
        # A SimpleQueue: a worker's put is written at once by its own thread (a Queue's feeder
        # thread might never get the GIL from a native call gone astray, and the parent would
        # never learn the clip started). Fresh per pool: a killed worker may leave its lock held.
        events = self._ctx.SimpleQueue()
        pool = self._pool(min(self.jobs, len(indexes)), events)
        futures: dict[Future, int] = {}
        clock = _Clock(tasks)
        suspects: list[int] = []
        timed_out: set[int] = set()
        finished = False
        try:
            # Submitting starts the workers: an interruption from here on kills them (finally),
            # but not in the middle of starting one (it would not be known to the pool yet).
            with _interrupts_deferred():
                for i in indexes:
                    futures[pool.submit(_audit_reported, self.fn, i, tasks[i])] = i
            not_done = set(futures)
            while not_done and not suspects:
                # short waits: the main thread stays responsive to Ctrl-C (see audit.sora.generate)
                done, not_done = wait(not_done, timeout=0.25, return_when=FIRST_COMPLETED)
                self._drain(events, clock)
                for fut in done:
                    i = futures[fut]
                    try:
                        res = fut.result()
                    except BrokenProcessPool:
                        if i not in timed_out:
                            suspects.append(i)
                        continue
                    clock.finished(i)
                    if i not in timed_out:  # (a result that beat the kill by a hair: already reported)
                        yield i, res
                for i, pid, limit in clock.overdue():
                    _kill(pid)
                    timed_out.add(i)
                    yield i, timeout_clip(tasks[i], limit, clock.elapsed(i))
            finished = True
        finally:
            if not finished:  # interrupted (KeyboardInterrupt, generator closed): stop the workers now
                _terminate(pool)
            pool.shutdown(wait=True, cancel_futures=True)
            events.close()
        if timed_out:
            # Every clip in flight beside the one we killed lost its worker too: audit it again.
            lost = sorted({futures[f] for f in not_done} | set(suspects))
            return [], [i for i in lost if i not in timed_out]
        if suspects:
            suspects.extend(futures[f] for f in not_done)
        return sorted(set(suspects)), []

    def _drain(self, events, clock: "_Clock") -> None:
        while True:
            try:
                if events.empty():
                    return
                pid, index, kind, info = events.get()
            except (OSError, EOFError, ValueError):
                return
            clock.heard(index, pid, kind, info)
            if self.progress is not None:
                try:
                    self.progress(index, kind, info)
                except Exception:
                    pass


class _Clock:
    """When each clip started in its worker, and its time limit from what the worker reported
    (``[limits]``: base + per media second x duration + per GB x size, at most ``clip_time_max_s``;
    in seconds)."""

    def __init__(self, tasks: Sequence[AuditTask]):
        self.tasks = tasks
        self.started: dict[int, tuple[int, float]] = {}   # index -> (pid, monotonic start)
        self.limit: dict[int, float] = {}

    def heard(self, index: int, pid: int, kind: str, info: dict) -> None:
        lim = self.tasks[index].options.policy.section("limits")
        base = float(lim.get("clip_time_base_s", 0) or 0)
        if kind == "start":
            self.started[index] = (pid, time.monotonic())
            size_gb = float(info.get("size_bytes") or 0) / 1e9
            self.limit[index] = base + float(lim.get("clip_time_per_gb_s", 0)) * size_gb
        elif kind == "probed" and index in self.limit:
            self.limit[index] += float(lim.get("clip_time_per_media_s", 0)) * max(0.0, float(info.get("duration_s") or 0))
        if index in self.limit:
            self.limit[index] = min(self.limit[index], float(lim.get("clip_time_max_s", float("inf"))))
        if base <= 0:
            self.limit.pop(index, None)  # no limit

    def finished(self, index: int) -> None:
        self.started.pop(index, None)
        self.limit.pop(index, None)

    def elapsed(self, index: int) -> float:
        return time.monotonic() - self.started[index][1] if index in self.started else 0.0

    def overdue(self) -> list[tuple[int, int, float]]:
        """(index, worker pid, limit s) of every clip running longer than its limit."""
        now = time.monotonic()
        out = [(i, pid, self.limit[i]) for i, (pid, t0) in self.started.items()
               if i in self.limit and now - t0 > self.limit[i]]
        for i, _, _ in out:
            self.limit.pop(i)
        return out


# -- in the worker process ------------------------------------------------------------------------
_EVENTS = None


def _init_worker(threads: int, events) -> None:
    """Initializer of every pool worker: its cores (``pin_threads``) and its line to the parent."""
    global _EVENTS
    pin_threads(threads)
    _EVENTS = events


def _audit_reported(fn: AuditFn, index: int, task: AuditTask) -> dict:
    """Run ``fn(task)`` in a worker, reporting its start (and, through ``pipeline.report``, its
    probe and hashing progress) to the parent, tagged with ``index`` and this process's id."""
    from . import pipeline

    pid = os.getpid()

    def send(kind: str, **info) -> None:
        if _EVENTS is not None:
            _EVENTS.put((pid, index, kind, info))

    try:
        size = os.stat(task.path).st_size if not is_url(task.path) else 0
    except OSError:
        size = 0
    send("start", size_bytes=size)
    pipeline.REPORT = send
    try:
        return fn(task)
    finally:
        pipeline.REPORT = None


@contextmanager
def _interrupts_deferred():
    """Ctrl-C or SIGTERM received inside the block is raised (``KeyboardInterrupt``) at its end.

    Starting a pool worker is a fork in the forkserver and a wait for its pid: interrupted in
    that wait, the pool never learns the child's pid and cannot kill it; the child then fails
    noisily once the parent has cleaned up. Starting workers takes milliseconds."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if got:
            raise KeyboardInterrupt


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass  # already gone


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's worker processes (on interruption: their clips are abandoned)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.kill()
        except Exception:
            pass


def timeout_clip(task: AuditTask, limit_s: float, elapsed_s: float) -> dict:
    """The contract dict of a clip stopped for taking longer than its time limit."""
    f = Finding(
        RUNTIME,
        FAIL,
        "runtime.timeout",
        f"{task.path}: auditing took longer than its limit of {limit_s:.0f} s ([limits] clip_time_*: base + "
        "per second of video + per GB); its worker was stopped and the batch went on. A file that makes "
        "the decoder spin, or a very long clip: raise the limit in the policy if it is genuine.",
        {"limit_s": round(limit_s, 1), "elapsed_s": round(elapsed_s, 1)},
    )
    return _error_clip(task, f)


def make_executor(jobs: int, fn: AuditFn = audit_clip, kind: str = "local", scheduler: str | None = None, log=None):
    """``kind == "dask"``: a Dask cluster (``scheduler`` address, or a LocalCluster of ``jobs``
    workers); otherwise ``jobs == 0``: inline, else a process pool of ``jobs`` workers."""
    if kind == "dask":
        from .dask_executor import DaskExecutor  # lazily: dask is an optional extra

        return DaskExecutor(scheduler=scheduler, workers=jobs, fn=fn, log=log)
    return InlineExecutor(fn) if jobs == 0 else LocalExecutor(jobs, fn)
