"""Audit a batch on a Dask cluster (``--executor dask``): one clip is one task.

The task is the same ``audit_clip(AuditTask)`` the local pool runs, so a clip's result does not
depend on where it was audited. Only the small ``AuditTask`` (a path or URL and the options)
goes to the scheduler and only the clip's contract dict comes back: every worker reads the clip
itself, from a shared file system or an fsspec URL.

Worker loss is Dask's job: when a worker dies mid-clip its tasks are rescheduled elsewhere, and a
task that was running on ``allowed-failures + 1`` dead workers comes back as ``KilledWorker``; we
turn that clip into an ``error`` verdict with a ``runtime.worker_crashed`` finding. The driver
collects results by task index, so no clip is lost or duplicated, and every output (JSON,
reports, history) is written by the driver.

``distributed`` is imported lazily: the base install does not need it.
"""

from __future__ import annotations

import logging
import secrets
import sys
from typing import Callable, Iterator, Sequence

from .errors import UsageError
from .executors import AuditFn, crashed_clip
from .pipeline import AuditTask, audit_clip

INSTALL_HINT = "install it with: pip install 'sora-audit[dask]'"
# A clip is tried on this many workers that die under it, plus one, before it is an error.
ALLOWED_FAILURES = 2

# Settings of the LocalCluster started for a run. Its scheduler and nannies live in this process
# and read them when the cluster starts.
LOCAL_CLUSTER_CONFIG = {
    # A worker holds only the clip it is auditing, so a crash does not count against clips that
    # were merely queued on it.
    "distributed.scheduler.worker-saturation": 1.0,
    # Dask sets MALLOC_TRIM_THRESHOLD_=65536 in workers; a fixed threshold turns off glibc's
    # dynamic mmap threshold, so every decoded frame buffer (> 128 KiB) is mmap'ed and unmapped
    # again: +40% CPU per clip in benchmarks/bench_executors.py. Memory stays flat without it
    # (frames are never kept).
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # The statistical profiler samples the auditing thread every 10 ms: ~15% more CPU per clip.
    "distributed.worker.profile.enabled": False,
    # Housekeeping every 20 ms (event-loop tick), 100 ms (memory monitor) and 500 ms (system
    # monitor) in the scheduler, every nanny and every worker: an idle 2-worker cluster used 0.10
    # core for it, 0.02 with these (measured). Memory is still watched every second; a worker
    # holds one clip, and the dashboard's graphs update less often.
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.tick.limit": "30s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def _distributed():
    try:
        import dask
        import distributed
    except ImportError as e:
        raise UsageError(f"--executor dask needs dask.distributed, which is not installed ({e}); {INSTALL_HINT}") from None
    return dask, distributed


class DaskExecutor:
    """Runs ``fn`` over the tasks on a Dask cluster and yields ``(index, clip_dict)`` as clips finish.

    ``scheduler``: address of a running scheduler (``tcp://host:port``); None starts a
    ``LocalCluster`` of ``workers`` single-threaded worker processes for the run. Worker-death
    retries (``allowed_failures``) and one-task-per-worker placement are set on that local
    cluster; a scheduler you run yourself uses its own ``distributed.scheduler.allowed-failures``
    and ``worker-saturation`` settings.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int = 2,
        fn: AuditFn = audit_clip,
        allowed_failures: int = ALLOWED_FAILURES,
        retries: int = 0,
        log: Callable[[str], None] | None = None,
        timeout_s: float = 10.0,
    ):
        _distributed()
        self.scheduler = scheduler
        self.workers = max(1, workers)
        self.fn = fn
        self.allowed_failures = allowed_failures
        self.retries = retries  # re-runs after an exception in the task (audit_clip never raises)
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.timeout_s = timeout_s
        self.dashboard_link: str | None = None
        self.pinned = False  # whether workers were set to one decoder / OpenCV thread each

    def _start(self):
        """(client, cluster or None). A scheduler that cannot be reached is a UsageError."""
        dask, distributed = _distributed()
        if self.scheduler:
            try:
                client = distributed.Client(self.scheduler, timeout=f"{self.timeout_s}s")
            except (OSError, TimeoutError, ValueError) as e:
                raise UsageError(
                    f"cannot reach the Dask scheduler at {self.scheduler} ({type(e).__name__}: {e}); "
                    "check the address and that the scheduler is running"
                ) from None
            return client, None
        with dask.config.set(LOCAL_CLUSTER_CONFIG | {"distributed.scheduler.allowed-failures": self.allowed_failures}):
            cluster = distributed.LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                scheduler_port=0, dashboard_address=":0", silence_logs=logging.ERROR,
            )
        try:
            client = distributed.Client(cluster)
        except BaseException:
            cluster.close()
            raise
        return client, cluster

    def _announce(self, client) -> None:
        link = None
        try:
            if "dashboard" in (client.scheduler_info().get("services") or {}):
                link = client.dashboard_link
        except Exception:  # the dashboard is a nicety; never fail a run over it
            link = None
        self.dashboard_link = link
        where = self.scheduler or f"a local cluster of {self.workers} worker process(es)"
        msg = f"dask: auditing on {where}"
        if link:
            msg += f"; dashboard: {link}"
            try:
                import bokeh  # noqa: F401
            except ImportError:
                msg += " (pip install bokeh for its pages)"
        self.log(msg)

    def _pin_threads(self, client) -> None:
        """One core per worker thread, as in the local pool: on the LocalCluster (``--jobs N``
        single-threaded workers: N cores) and on a scheduler you run (its workers may not have
        joined yet; Dask sizes workers to the cores, nworkers x nthreads = cores, so several clips
        share a machine's cores)."""
        from .dask_worker import PinThreads

        client.register_plugin(PinThreads())
        self.pinned = True

    def run(self, tasks: Sequence[AuditTask]) -> Iterator[tuple[int, dict]]:
        if not tasks:
            return
        _, distributed = _distributed()
        client, cluster = self._start()
        try:
            self._announce(client)
            self._pin_threads(client)
            yield from self._collect(client, distributed, tasks)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _collect(self, client, distributed, tasks: Sequence[AuditTask]) -> Iterator[tuple[int, dict]]:
        token = secrets.token_hex(4)  # keys unique per run: a shared scheduler serves many clients
        futures = [
            client.submit(self.fn, t, key=f"sora-audit-{token}-{i}", retries=self.retries, pure=False)
            for i, t in enumerate(tasks)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        done: set[int] = set()
        for fut in distributed.as_completed(futures):
            i = index[fut.key]
            if i in done:  # as_completed yields a future once; guard anyway: never a duplicate
                continue
            yield i, self._result(fut, tasks[i], distributed)
            done.add(i)
            fut.release()  # let the cluster forget the result: memory stays flat over the batch
        missing = [i for i in range(len(tasks)) if i not in done]
        for i in missing:  # cannot happen with as_completed; an explicit error if it ever does
            yield i, crashed_clip(tasks[i], "the cluster returned no result for this clip")

    def _result(self, fut, task: AuditTask, distributed) -> dict:
        try:
            return fut.result()
        except distributed.KilledWorker as e:
            return crashed_clip(
                task, f"Dask worker died while auditing it, on {self.allowed_failures + 1} tries ({e})"
                if self.scheduler is None else f"Dask worker died while auditing it ({e})",
            )
        except Exception as e:  # CancelledError (scheduler lost), an exception of fn...
            return crashed_clip(task, f"Dask task failed: {type(e).__name__}: {e}")
