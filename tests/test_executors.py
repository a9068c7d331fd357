"""The local process pool: results in order, and a worker that dies costs only its clip."""

import os

from audit.executors import InlineExecutor, LocalExecutor
from audit.pipeline import AuditTask, audit_clip


def poisoned(task: AuditTask) -> dict:
    """Audits normally, except that a clip named poison*.mp4 kills its worker process."""
    if os.path.basename(task.path).startswith("poison"):
        os._exit(13)
    return audit_clip(task)


def test_pool_matches_inline_and_survives_a_crashing_clip(render_clip):
    clips = [render_clip(f"c{i}.mp4", seconds=0.3, seed=i) for i in range(3)]
    poison = render_clip("poison.mp4", seconds=0.3)
    tasks = [AuditTask(str(p)) for p in (clips[0], poison, clips[1], clips[2])]
    pooled = dict(LocalExecutor(2, poisoned).run(tasks))
    assert sorted(pooled) == [0, 1, 2, 3]  # every clip exactly once
    crashed = pooled[1]
    assert crashed["verdict"] == "error"
    assert crashed["findings"][0]["code"] == "runtime.worker_crashed"
    assert "poison.mp4" in crashed["findings"][0]["message"]
    inline = dict(InlineExecutor().run([tasks[0], tasks[2], tasks[3]]))
    for i, j in ((0, 0), (2, 1), (3, 2)):
        a, b = pooled[i], inline[j]
        assert a["verdict"] == b["verdict"] and a["sha256"] == b["sha256"] and a["media"] == b["media"]
