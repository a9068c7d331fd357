"""The per-clip time limit and SIGTERM: one stuck clip never stops a batch, and a terminated run
leaves no process behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit.executors import LocalExecutor
from audit.pipeline import AuditOptions, AuditTask, audit_clip
from audit.policy import load_policy
from conftest import ROOT


def stuck_or_audit(task: AuditTask) -> dict:
    """Audits normally, except that a clip named stuck*.mp4 hangs (as a decoder spinning on a
    hostile file would); it writes its worker's pid beside the clip first."""
    name = os.path.basename(task.path)
    if name.startswith(("stuck", "spin")):
        Path(task.path + ".pid").write_text(str(os.getpid()))
        if name.startswith("spin"):  # stuck in C without releasing the GIL: no thread of it runs
            import re

            re.match(r"(a+)+$", "a" * 64 + "b")  # catastrophic backtracking: 2^64 steps
        time.sleep(600)
    return audit_clip(task)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except OSError:
        return False


@pytest.mark.parametrize("stuck_name", ["stuck.mp4", "spin.mp4"])
def test_a_stuck_clip_is_stopped_at_its_limit_and_the_batch_goes_on(tmp_path, render_clip, stuck_name):
    policy_file = tmp_path / "limits.toml"
    policy_file.write_text("[limits]\nclip_time_base_s = 3.0\nclip_time_per_media_s = 2.0\n")
    options = AuditOptions(policy=load_policy(policy_file))
    a = render_clip("a.mp4", seconds=0.5, seed=1)
    b = render_clip("b.mp4", seconds=0.5, seed=2)
    stuck = tmp_path / stuck_name
    shutil.copy(a, stuck)
    c = render_clip("c.mp4", seconds=0.5, seed=3)
    tasks = [AuditTask(str(p), options) for p in (a, stuck, b, c)]
    t0 = time.monotonic()
    got = dict(LocalExecutor(2, stuck_or_audit).run(tasks))
    took = time.monotonic() - t0
    assert sorted(got) == [0, 1, 2, 3]  # every clip reported, exactly once
    assert took < 40, took              # the limit (3 s: the stuck clip never got to its probe)
    timed = got[1]
    assert timed["verdict"] == "error"
    [f] = timed["findings"]
    assert (f["category"], f["severity"], f["code"]) == ("runtime", "fail", "runtime.timeout")
    assert stuck_name in f["message"] and f["evidence"]["limit_s"] == 3.0 and f["evidence"]["elapsed_s"] >= 3.0
    for i in (0, 2, 3):
        assert got[i]["verdict"] in ("pass", "warn") and got[i]["sha256"], got[i]["findings"]
    pid = int(Path(str(stuck) + ".pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)  # its worker was killed, not left sleeping


def test_limit_grows_with_the_clip(tmp_path):
    from audit.executors import _Clock

    options = AuditOptions(policy=load_policy())
    clock = _Clock([AuditTask("x.mp4", options)])
    clock.heard(0, 123, "start", {"size_bytes": 2_000_000_000})
    assert clock.limit[0] == 60 + 30 * 2.0          # base + 30 s per GB
    clock.heard(0, 123, "probed", {"duration_s": 12.0})
    assert clock.limit[0] == 60 + 60 + 10 * 12.0    # + 10 x the duration
    assert clock.overdue() == []
    clock.heard(0, 123, "probed", {"duration_s": 1e9})  # a container that claims years
    assert clock.limit[0] == 3600.0                     # clip_time_max_s


def _session(sid: int) -> list[int]:
    """Live processes of session ``sid`` (zombies aside)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.getsid(int(d)) == sid and _alive(int(d)):
                    out.append(int(d))
            except OSError:
                pass
    return out


def test_sigterm_stops_workers_forkserver_and_tracker(tmp_path, render_clip):
    clip = render_clip("c.mp4", seconds=3.0)
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(8):
        shutil.copy(clip, folder / f"c{i}.mp4")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "audit", "check", str(folder), "--jobs", "2", "-q", "--no-history",
                          "--report", str(tmp_path / "rep")], cwd=tmp_path, env=env, start_new_session=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # main + forkserver + resource tracker + 2 workers
        deadline = time.monotonic() + 60
        while len(_session(p.pid)) < 5 and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert p.poll() is None and len(_session(p.pid)) >= 5, "the batch ended before its workers were seen"
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        assert p.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
        assert time.monotonic() - t0 < 15
        deadline = time.monotonic() + 10
        while _session(p.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session(p.pid) == [], "processes left behind after SIGTERM"
        assert not (tmp_path / "rep" / "results.json").exists()  # no half-written results
    finally:
        for pid in _session(p.pid):  # only ever this test's own process group
            os.kill(pid, signal.SIGKILL)


def test_policy_limits_are_documented_defaults():
    limits = load_policy().section("limits")
    assert limits["clip_time_base_s"] == 60.0 and limits["clip_time_per_media_s"] == 10.0
    assert limits["image_max_pixels"] == 50_000_000
    assert json.dumps(dict(limits))  # plain TOML values


def test_sigterm_during_generation_stops_like_ctrl_c(tmp_path):
    """`run` waiting on a 600 s job: SIGTERM ends it as Ctrl-C does (exit 130, the paid job
    journaled, how to resume said), with nothing of it left running."""
    from audit.sora.emulator import Emulator, EmulatorSettings
    from test_generate_run import KEY, _args, _journal, _wait, setup

    emu = Emulator(EmulatorSettings(job_seconds=600, poll_after_ms=50, retry_after=0.2, api_key=KEY))
    emu.start()
    try:
        prov, suite = setup(tmp_path, emu, [("pan", "The camera pans left")])
        p = subprocess.Popen([sys.executable, "-m", "audit", *_args(tmp_path, prov, suite), "-q"], cwd=ROOT,
                             env=dict(os.environ, LOCAL_SORA_KEY=KEY), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            assert _wait(lambda: emu.counts["retrieves"] >= 2, 60)
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=30)
            assert p.returncode == 130 and time.monotonic() - t0 < 10, err
            assert "--resume" in err and KEY not in out + err
            deadline = time.monotonic() + 10
            while _session(p.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _session(p.pid) == []
        finally:
            for pid in _session(p.pid):
                os.kill(pid, signal.SIGKILL)
    finally:
        emu.stop()
    (vid, status, sent), = _journal(tmp_path)
    assert vid and sent == 1 and status in ("queued", "in_progress")
