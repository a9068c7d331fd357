"""Worker-side setup for the Dask executor. Imported only where ``distributed`` is installed.

A ``WorkerPlugin`` runs on every worker of the cluster, present and future (a worker that
replaces a dead one gets it too), which an initializer passed to ``client.run`` would not.
"""

from __future__ import annotations

from distributed import WorkerPlugin

from .executors import pin_threads


class PinThreads(WorkerPlugin):
    """Each worker thread audits one clip on one core: FFmpeg's decoder and OpenCV use one thread
    each, and the clip is decoded and analysed on that thread (``audit.executors.pin_threads``,
    as the local pool's initializer does). Registered on every cluster: the LocalCluster of
    ``--jobs N`` single-threaded workers and a scheduler you run."""

    name = "sora-audit-pin-threads"
    idempotent = True  # registered once per cluster, whatever the number of runs

    def setup(self, worker) -> None:
        pin_threads()
