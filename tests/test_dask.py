"""The Dask executor: same results as the local pool, worker loss survived, nothing duplicated.

Each test runs a real Dask cluster of 2 worker processes: a ``LocalCluster`` (through the CLI or
``DaskExecutor``) or a scheduler and workers started with Dask's own ``dask scheduler`` /
``dask worker`` commands. None of it runs in the pytest process: a scheduler, nannies and a
client there leave threads behind and write variables (OMP_NUM_THREADS, PYTHONHASHSEED,
MALLOC_TRIM_THRESHOLD_...) into os.environ, which every later subprocess test would inherit.
``DaskExecutor`` with a test-only task function (a clip that is slow, a clip that kills its
worker) runs in a child interpreter that imports this module (``_dask_in_child``); the
functions are shipped to the workers by value: production code has no test hook.
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
from audit.pipeline import AuditOptions, AuditTask, audit_clip
from conftest import FIXTURES, ROOT, run_cli

cloudpickle.register_pickle_by_value(sys.modules[__name__])
TESTS = Path(__file__).resolve().parent


def _dask_in_child(tmp_path: Path, fn: str, paths: list[str], timeout: float = 180, **executor) -> dict:
    """``DaskExecutor(fn=<fn of this module>, **executor).run(...)`` in a child interpreter.

    Returns ``{"results": [[index, clip], ...], "pinned": bool}`` or ``{"usage_error": message}``."""
    spec, out = tmp_path / "dask_spec.json", tmp_path / "dask_out.json"
    spec.write_text(json.dumps({"fn": fn, "paths": paths, "extra": {"pid_file": str(tmp_path / "slow.pid")},
                                "executor": executor}))
    code = f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(TESTS)!r}]; import test_dask; test_dask._child(*sys.argv[1:])"
    p = subprocess.run([sys.executable, "-c", code, str(spec), str(out)], cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0 and out.exists(), p.stderr[-3000:]
    return json.loads(out.read_text())


def _child(spec_path: str, out_path: str) -> None:
    from audit.errors import UsageError

    spec = json.loads(Path(spec_path).read_text())
    opts = AuditOptions(extra=spec["extra"])
    ex = DaskExecutor(fn=globals()[spec["fn"]], log=lambda m: None, **spec["executor"])
    try:
        res = {"results": list(ex.run([AuditTask(p, opts) for p in spec["paths"]])), "pinned": ex.pinned}
    except UsageError as e:
        res = {"usage_error": str(e)}
    Path(out_path).write_text(json.dumps(res))


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

    clips = [str(FIXTURES / "clips" / n) for n in ("static.mp4", "flicker.mp4", "marked.mp4", "corrupt.mp4")]

    def flags(kind):
        return ["check", *clips, "--executor", kind, "--jobs", "2",
                "--json", str(tmp_path / f"{kind}.json"), "--report", str(tmp_path / kind),
                "--db", str(tmp_path / f"{kind}.db")]

    assert main(flags("local") + ["-q"]) == 1  # a failing and a corrupt clip among them
    p = run_cli(*flags("dask"))  # the real entry point, as users run it
    assert p.returncode == 1, p.stderr
    assert "dask: auditing on a local cluster of 2 worker process(es)" in p.stderr
    assert "dashboard: http://" in p.stderr
    local, dask = (json.loads((tmp_path / f"{k}.json").read_text()) for k in ("local", "dask"))
    assert len(local["clips"]) == 4
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
    clips = [render_clip(f"c{i}.mp4", seconds=0.4, seed=i) for i in range(4)]
    slow = render_clip("slow.mp4", seconds=0.4, seed=9)
    paths = [str(clips[0]), str(slow), str(clips[1]), clips[2].resolve().as_uri(), str(clips[3])]
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when_recorded, args=(tmp_path / "slow.pid", killed), daemon=True)
    killer.start()
    got = [tuple(r) for r in _dask_in_child(tmp_path, "slow_then_audit", paths, workers=2)["results"]]
    killer.join(5)
    assert len(killed) == 1, "the slow clip never started, so no worker was killed"
    indexes = [i for i, _ in got]
    assert sorted(indexes) == list(range(len(paths)))  # every clip exactly once
    by_index = dict(got)
    # The killed clip was retried on a fresh worker and audited normally.
    assert by_index[1]["path"] == str(slow) and by_index[1]["verdict"] != "error"
    # the same JSON round trip as the child's results
    inline = {i: json.loads(json.dumps(c)) for i, c in InlineExecutor().run([AuditTask(p) for p in paths])}
    for i in range(len(paths)):
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
def test_a_clip_that_kills_every_worker_ends_as_error(render_clip, tmp_path):
    good = [render_clip(f"g{i}.mp4", seconds=0.3, seed=i) for i in range(3)]
    poison = render_clip("poison.mp4", seconds=0.3)
    paths = [str(p) for p in (good[0], poison, good[1], good[2])]
    t0 = time.monotonic()
    out = _dask_in_child(tmp_path, "killing_clip", paths, workers=2, allowed_failures=1)
    assert out["pinned"]  # 2 workers: one decoder / OpenCV thread each (audit.dask_worker.PinThreads)
    got = [tuple(r) for r in out["results"]]
    assert sorted(i for i, _ in got) == [0, 1, 2, 3]
    res = dict(got)
    crashed = res[1]
    assert crashed["verdict"] == "error" and crashed["path"] == str(poison)
    [f] = crashed["findings"]
    assert f["category"] == "runtime" and f["code"] == "runtime.worker_crashed"
    assert "poison.mp4" in f["message"] and "2 tries" in f["evidence"]["detail"]
    assert all(res[i]["verdict"] != "error" for i in (0, 2, 3))
    assert time.monotonic() - t0 < 60


def test_an_unreachable_scheduler_is_a_usage_error_naming_it(tmp_path):
    res = _dask_in_child(tmp_path, "audit_clip", [str(FIXTURES / "clips" / "static.mp4")],
                         scheduler="tcp://127.0.0.1:9", timeout_s=1.5)
    assert res.get("usage_error", "").startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:9"), res


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and 2 single-threaded workers started with Dask's own commands, as a user
    would (``dask scheduler`` / ``dask worker``); yields the scheduler address."""
    sched_file = tmp_path / "scheduler.json"
    dask_cli = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask_cli, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(sched_file)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        address = None
        while address is None and time.monotonic() < deadline:
            try:
                address = json.loads(sched_file.read_text())["address"]
            except (OSError, ValueError, KeyError):  # not written yet, or half-written
                time.sleep(0.1)
        assert address, "dask scheduler did not start within 60 s"
        # the workers import the checkout's audit package (the tasks run audit_clip)
        procs.append(subprocess.Popen([*dask_cli, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                      start_new_session=True))
        yield address
    finally:
        # Each command runs in a process group of its own (with its nannies and workers): end them
        # at once rather than wait for a graceful close, which takes seconds.
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(30)


def _on_scheduler(address: str, code: str) -> str:
    """Prints ``code`` (an expression of ``client``) in a child interpreter; returns the output."""
    prog = f"from distributed import Client\nwith Client({address!r}, timeout='20s') as client:\n    print({code})"
    p = subprocess.run([sys.executable, "-c", prog], cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.strip()


@pytest.mark.slow
def test_cli_on_a_scheduler_you_run(tmp_path, dask_cluster):
    """--scheduler: the run uses a cluster that outlives it; results keyed per run, nothing left behind."""
    address = dask_cluster  # its workers may still be starting: the run waits for them
    clips = [FIXTURES / "clips" / n for n in ("static.mp4", "flicker.mp4", "corrupt.mp4")]
    args = [str(clips[0]), clips[1].resolve().as_uri(), str(clips[2])]
    p = run_cli("check", *args, "--executor", "dask", "--scheduler", address,
                "--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "rep"), "--no-history")
    assert p.returncode == 1, p.stderr
    assert f"dask: auditing on {address}" in p.stderr
    run = json.loads((tmp_path / "r.json").read_text())
    assert [c["path"] for c in run["clips"]] == args
    assert [c["verdict"] for c in run["clips"]] == ["pass", "fail", "error"]
    # Every result was released once collected: the cluster keeps nothing of the run. Each
    # worker was set to one decoder / OpenCV thread (audit.dask_worker.PinThreads).
    tasks_left, cv2_threads = _on_scheduler(
        address, "client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)), "
                 "sorted(set(client.run(lambda: __import__('cv2').getNumThreads()).values()))").split(" ", 1)
    assert tasks_left == "0" and cv2_threads == "[1]"


def test_no_dask_ran_in_this_process():
    """Keep last: none of the tests above started a scheduler, worker or client in the pytest
    process (see the module docstring)."""
    assert sys.modules.get("distributed") is None
    assert not [t.name for t in threading.enumerate() if t.name in ("IO loop",) or t.name.startswith("Dask-")]
