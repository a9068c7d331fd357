"""The Dask executor: same results as the local pool, worker loss survived, nothing duplicated.

Each test starts a real ``LocalCluster`` of 2 worker processes (through ``DaskExecutor`` or the
CLI). Test-only task functions (a clip that is slow, a clip that kills its worker) are defined
here and shipped to the workers by value: production code has no test hook.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import pytest

from audit.dask_executor import DaskExecutor
from audit.executors import InlineExecutor
from audit.pipeline import AuditTask, audit_clip
from conftest import FIXTURES, ROOT, run_cli

cloudpickle.register_pickle_by_value(sys.modules[__name__])

@pytest.fixture(autouse=True)
def _restore_environ():
    """Dask's nannies set variables (OMP_NUM_THREADS, PYTHONHASHSEED...) in the process that starts
    a LocalCluster: keep them out of the tests that run after these."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _comparable(run: dict) -> list[dict]:
    clips = json.loads(json.dumps(run["clips"]))
    for c in clips:
        c.pop("timings")
    return clips


def test_base_install_does_not_import_dask():
    code = ("import sys, audit.cli, audit.executors, audit.pipeline, audit.commands.check; "
            "audit.cli.build_parser(); print(sorted(m for m in ('dask', 'distributed', 'fsspec') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr


def test_dask_missing_is_a_usage_error_naming_the_extra(monkeypatch, capsys):
    from audit.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: import fails
    code = main(["check", str(FIXTURES / "clips" / "static.mp4"), "--executor", "dask", "-q"])
    assert code == 2
    assert "pip install 'sora-audit[dask]'" in capsys.readouterr().err


@pytest.mark.parametrize("flags, problem", [
    (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler needs --executor dask"),
    (["--executor", "dask", "--jobs", "0"], "--executor dask needs --jobs 1 or more"),
])
def test_bad_executor_flags_are_usage_errors(flags, problem, capsys):
    from audit.cli import main

    assert main(["check", str(FIXTURES / "clips" / "static.mp4"), "-q", *flags]) == 2
    assert problem in capsys.readouterr().err


@pytest.mark.slow
def test_cli_dask_batch_equals_local_batch(tmp_path):
    """The fixtures batch through `check --executor dask` gives the local pool's JSON, timings aside."""
    from audit.cli import main

    def flags(kind):
        return ["check", str(FIXTURES / "clips"), "--executor", kind, "--jobs", "2",
                "--json", str(tmp_path / f"{kind}.json"), "--report", str(tmp_path / kind),
                "--db", str(tmp_path / f"{kind}.db")]

    assert main(flags("local") + ["-q"]) == 1  # the fixtures hold a failing and a corrupt clip
    p = run_cli(*flags("dask"))  # the real entry point, as users run it
    assert p.returncode == 1, p.stderr
    assert "dask: auditing on a local cluster of 2 worker process(es)" in p.stderr
    assert "dashboard: http://" in p.stderr
    local, dask = (json.loads((tmp_path / f"{k}.json").read_text()) for k in ("local", "dask"))
    assert len(local["clips"]) == 6
    assert _comparable(dask) == _comparable(local)
    assert dask["counts"] == local["counts"] and dask["exit_code"] == local["exit_code"] == 1
    assert {c["verdict"] for c in dask["clips"]} == {"pass", "fail", "error"}
    # The history is written by the driver: each clip stored once.
    with sqlite3.connect(tmp_path / "dask.db") as db:
        rows = db.execute("SELECT path, verdict FROM clips").fetchall()
    assert sorted(rows) == sorted((c["path"], c["verdict"]) for c in dask["clips"])


def slow_then_audit(task: AuditTask) -> dict:
    """A clip named slow*.mp4 records its worker's pid (first try only) and then takes a while,
    long enough for the test to kill that worker mid-clip."""
    pid_file = Path(task.options.extra["pid_file"])
    if os.path.basename(task.path).startswith("slow") and not pid_file.exists():
        pid_file.write_text(str(os.getpid()))
        time.sleep(30)
    return audit_clip(task)


def _kill_when_recorded(pid_file: Path, killed: list[int]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if pid_file.exists() and pid_file.read_text():
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_killed_mid_batch_costs_no_clip_and_duplicates_none(render_clip, tmp_path):
    from audit.pipeline import AuditOptions

    opts = AuditOptions(extra={"pid_file": str(tmp_path / "slow.pid")})
    clips = [render_clip(f"c{i}.mp4", seconds=0.4, seed=i) for i in range(4)]
    slow = render_clip("slow.mp4", seconds=0.4, seed=9)
    paths = [str(clips[0]), str(slow), str(clips[1]), clips[2].resolve().as_uri(), str(clips[3])]
    tasks = [AuditTask(p, opts) for p in paths]
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when_recorded, args=(tmp_path / "slow.pid", killed), daemon=True)
    killer.start()
    got = list(DaskExecutor(workers=2, fn=slow_then_audit, log=lambda m: None).run(tasks))
    killer.join(5)
    assert len(killed) == 1, "the slow clip never started, so no worker was killed"
    indexes = [i for i, _ in got]
    assert sorted(indexes) == list(range(len(tasks)))  # every clip exactly once
    by_index = dict(got)
    # The killed clip was retried on a fresh worker and audited normally.
    assert by_index[1]["path"] == str(slow) and by_index[1]["verdict"] != "error"
    inline = dict(InlineExecutor().run([AuditTask(p) for p in paths]))
    for i in range(len(tasks)):
        assert by_index[i]["path"] == paths[i]
        for key in ("verdict", "sha256", "media", "metrics", "findings"):
            assert by_index[i][key] == inline[i][key], (paths[i], key)
    assert by_index[3]["path"].startswith("file://")  # a URL input stays named as given


def killing_clip(task: AuditTask) -> dict:
    """A clip named poison*.mp4 kills the worker process that audits it, every time."""
    if os.path.basename(task.path).startswith("poison"):
        os._exit(13)
    return audit_clip(task)


@pytest.mark.slow
def test_a_clip_that_kills_every_worker_ends_as_error(render_clip):
    good = [render_clip(f"g{i}.mp4", seconds=0.3, seed=i) for i in range(3)]
    poison = render_clip("poison.mp4", seconds=0.3)
    tasks = [AuditTask(str(p)) for p in (good[0], poison, good[1], good[2])]
    t0 = time.monotonic()
    got = list(DaskExecutor(workers=2, fn=killing_clip, allowed_failures=1, log=lambda m: None).run(tasks))
    assert sorted(i for i, _ in got) == [0, 1, 2, 3]
    res = dict(got)
    crashed = res[1]
    assert crashed["verdict"] == "error" and crashed["path"] == str(poison)
    [f] = crashed["findings"]
    assert f["category"] == "runtime" and f["code"] == "runtime.worker_crashed"
    assert "poison.mp4" in f["message"] and "2 tries" in f["evidence"]["detail"]
    assert all(res[i]["verdict"] != "error" for i in (0, 2, 3))
    assert time.monotonic() - t0 < 60


def test_an_unreachable_scheduler_is_a_usage_error_naming_it():
    from audit.errors import UsageError

    ex = DaskExecutor(scheduler="tcp://127.0.0.1:9", timeout_s=1.5, log=lambda m: None)
    with pytest.raises(UsageError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        list(ex.run([AuditTask(str(FIXTURES / "clips" / "static.mp4"))]))


@pytest.mark.slow
def test_cli_on_a_scheduler_you_run(tmp_path):
    """--scheduler: the run uses a cluster that outlives it; results keyed per run, nothing left behind."""
    import logging

    from distributed import Client, LocalCluster

    clips = [FIXTURES / "clips" / n for n in ("static.mp4", "flicker.mp4", "corrupt.mp4")]
    args = [str(clips[0]), clips[1].resolve().as_uri(), str(clips[2])]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, scheduler_port=0,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        p = run_cli("check", *args, "--executor", "dask", "--scheduler", cluster.scheduler_address,
                    "--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "rep"), "--no-history")
        assert p.returncode == 1, p.stderr
        assert f"dask: auditing on {cluster.scheduler_address}" in p.stderr
        run = json.loads((tmp_path / "r.json").read_text())
        assert [c["path"] for c in run["clips"]] == args
        assert [c["verdict"] for c in run["clips"]] == ["pass", "fail", "error"]
        # every result was released once collected: the cluster keeps nothing of the run
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
