"""Worker-side setup for the Dask executor. Imported only where ``distributed`` is installed.

A ``WorkerPlugin`` runs on every worker of the cluster, present and future (a worker that
replaces a dead one gets it too), which an initializer passed to ``client.run`` would not.
"""

from __future__ import annotations

from distributed import WorkerPlugin

from .executors import pin_threads


class PinThreads(WorkerPlugin):
    """Each worker thread audits one clip on one core: FFmpeg's decoder and OpenCV use one thread
    each (``audit.executors.pin_threads``). Registered on a LocalCluster of more than one worker
    (like the local pool's initializer for ``--jobs 2+``) and on a scheduler you run."""

    name = "sora-audit-pin-threads"
    idempotent = True  # registered once per cluster, whatever the number of runs

    def setup(self, worker) -> None:
        pin_threads()
