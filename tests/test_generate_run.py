"""``sora-audit run`` end to end, as a subprocess, against an emulator in this test process on
127.0.0.1: categories and evidence of every outcome, exit codes, crash + --resume without paying
twice, ambiguous creates reconciled, and the API key nowhere in outputs, logs or the journal."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit.sora.emulator import Emulator, EmulatorSettings
from audit.sora.jobs import JobStore

from conftest import ROOT, run_cli

KEY = "sk-live-TOPSECRETkey0123456789abcdefXYZ"
REF = ROOT / "fixtures" / "references" / "clean_pan.jpg"
POLICY_KEYS = {"case_id", "model", "prompt", "provider_code", "provider_message", "advice"}
RUNTIME_KEYS = {"case_id", "model", "retries", "last_error", "resumable", "advice"}


@pytest.fixture
def emu():
    e = Emulator(EmulatorSettings(job_seconds=0.3, poll_after_ms=50, retry_after=0.2, api_key=KEY))
    e.start()
    yield e
    e.stop()


def setup(tmp_path: Path, emu: Emulator, cases: list[tuple[str, str]]) -> tuple[Path, Path]:
    prov = tmp_path / "providers.toml"
    prov.write_text(f'[providers.local]\nbase_url = "{emu.base_url}"\napi_key_env = "LOCAL_SORA_KEY"\n'
                    'models = ["sora-2"]\n')
    body = ['[suite]\nprovider = "local"\nmodels = ["sora-2"]\nseconds = 1\nsize = "160x96"\n']
    for cid, prompt in cases:
        body.append(f'[[case]]\nid = "{cid}"\nprompt = "{prompt}"\nreference = "{REF}"\n')
    suite = tmp_path / "suite.toml"
    suite.write_text("\n".join(body))
    return prov, suite


def _args(tmp_path, prov, suite, *extra):
    return ["run", str(suite), "--providers", str(prov), "--out", str(tmp_path / "out"), "--report",
            str(tmp_path / "rep"), "--jobs", "0", "--poll-interval", "0.05", "--db", str(tmp_path / "history.sqlite"),
            *extra]


def run(tmp_path, prov, suite, *extra, timeout=120):
    """The real entry point in a subprocess (stdout/stderr checked for the key)."""
    return run_cli(*_args(tmp_path, prov, suite, *extra), env={"LOCAL_SORA_KEY": KEY}, timeout=timeout)


@pytest.fixture
def cli(monkeypatch, capsys):
    """``audit.cli.main`` in this process (no interpreter start-up): returns (exit code, stderr)."""
    from audit.cli import main

    monkeypatch.setenv("LOCAL_SORA_KEY", KEY)

    def _run(tmp_path, prov, suite, *extra):
        code = main(_args(tmp_path, prov, suite, *extra))
        out = capsys.readouterr()
        assert KEY not in out.out + out.err
        return code, out.err

    return _run


def results(tmp_path) -> dict:
    return json.loads((tmp_path / "rep" / "results.json").read_text())


def by_case(res: dict) -> dict:
    return {c["source"]["case_id"]: c for c in res["clips"]}


@pytest.mark.slow
def test_suite_end_to_end_every_outcome_and_no_key_anywhere(tmp_path, emu):
    prov, suite = setup(tmp_path, emu, [
        ("ok", "The camera pans left over the shapes"), ("refused", "[refuse] something"),
        ("job-moderated", "[fail-moderation] x"), ("internal", "[fail-internal] x"),
        ("busy", "[429] x"), ("cut", "[cut] x"),
    ])
    p = run(tmp_path, prov, suite)
    assert p.returncode == 1, p.stderr  # a policy refusal fails the gate
    res = results(tmp_path)
    c = by_case(res)
    assert {k: v["verdict"] for k, v in c.items()} == {
        "ok": c["ok"]["verdict"], "refused": "fail", "job-moderated": "fail", "internal": "error", "busy":
        c["busy"]["verdict"], "cut": "error"}
    assert c["ok"]["verdict"] in ("pass", "warn") and c["busy"]["verdict"] in ("pass", "warn")
    assert c["ok"]["media"]["width"] == 160 and c["ok"]["source"]["video_id"].startswith("video_")
    assert c["ok"]["source"]["prompt"] == "The camera pans left over the shapes"
    assert c["ok"]["generation"]["creates_sent"] == 1 and c["busy"]["generation"]["creates_sent"] == 2  # 429, then 200

    def only(clip):
        assert len(clip["findings"]) == 1
        return clip["findings"][0]

    for cid, code in (("refused", "policy.moderation_blocked"), ("job-moderated", "policy.moderation_blocked")):
        f = only(c[cid])
        assert (f["category"], f["code"], f["severity"]) == ("policy", code, "fail")
        assert set(f["evidence"]) == POLICY_KEYS and f["evidence"]["provider_code"] == "moderation_blocked"
        assert c[cid]["media"] is None
    for cid, code in (("internal", "runtime.job_failed"), ("cut", "runtime.download_incomplete")):
        f = only(c[cid])
        assert (f["category"], f["code"]) == ("runtime", code)
        assert RUNTIME_KEYS <= set(f["evidence"]) and f["evidence"]["resumable"] is True
    assert not (tmp_path / "out" / res["generation"]["run"] / "cut").exists() or \
        not list((tmp_path / "out" / res["generation"]["run"] / "cut").glob("*.mp4"))
    assert emu.counts["creates"] == 5  # refused at create: not a job; the 429 retried without a 2nd job

    # the key: not in stdout/stderr, reports, sidecars, the journal (and its WAL)
    assert KEY not in p.stdout + p.stderr
    for f in list((tmp_path / "rep").rglob("*")) + list((tmp_path / "out").rglob("*")):
        if f.is_file():
            data = f.read_bytes()
            assert KEY.encode() not in data and KEY[:10].encode() not in data, f
    store = JobStore(tmp_path / "out" / "jobs.sqlite")
    assert not any(KEY in v for v in store.dump())
    store.close()


@pytest.mark.slow
def test_exit_3_when_only_runtime_errors(tmp_path, emu, cli):
    prov, suite = setup(tmp_path, emu, [("internal", "[fail-internal] x"), ("gone", "x")])
    suite.write_text(suite.read_text() + '\n[[case]]\nid = "old-model"\nprompt = "x"\nmodels = ["sora-1"]\n')
    code, err = cli(tmp_path, prov, suite)
    assert code in (1, 3), err
    c = by_case(results(tmp_path))
    f = c["old-model"]["findings"][0]
    assert f["code"] == "runtime.model_unavailable" and "no longer serves" in f["message"]
    assert c["old-model"]["verdict"] == "error" and c["internal"]["verdict"] == "error"
    assert code == (1 if c["gone"]["verdict"] == "fail" else 3)


def _wait(pred, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _journal(tmp_path):
    db = tmp_path / "out" / "jobs.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT video_id, status, creates_sent FROM jobs").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


@pytest.mark.slow
def test_killed_after_create_then_resume_pays_once(tmp_path, emu, cli):
    emu.settings.job_seconds = 600  # the job stays in progress until we say
    prov, suite = setup(tmp_path, emu, [("pan", "The camera pans left")])
    cmd = [sys.executable, "-m", "audit", "run", str(suite), "--providers", str(prov), "--out", str(tmp_path / "out"),
           "--report", str(tmp_path / "rep1"), "--jobs", "0", "--poll-interval", "0.05", "-q", "--no-history"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, LOCAL_SORA_KEY=KEY),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait(lambda: emu.counts["creates"] == 1 and any(r[0] for r in _journal(tmp_path)), 60)
        assert _wait(lambda: emu.counts["retrieves"] >= 2, 30)  # it is polling
    finally:
        proc.send_signal(signal.SIGKILL)  # a crash: no cleanup runs
        proc.wait(30)
    (vid, status, sent), = _journal(tmp_path)
    assert vid.startswith("video_") and status in ("queued", "in_progress") and sent == 1
    for j in emu.jobs.values():
        j.duration = 0.2
    code, err = cli(tmp_path, prov, suite, "--resume")
    assert code in (0, 1), err
    c = by_case(results(tmp_path))["pan"]
    assert c["source"]["video_id"] == vid and c["media"]["frames"] > 0
    assert c["generation"]["creates_sent"] == 1 and not c["generation"]["reused"]
    assert emu.counts["creates"] == 1 and emu.counts["downloads"] == 1
    # again: the clip is on disk, nothing is created or downloaded
    cli(tmp_path, prov, suite, "--resume")
    assert by_case(results(tmp_path))["pan"]["generation"]["reused"] is True
    assert emu.counts["creates"] == 1 and emu.counts["downloads"] == 1


def _signal_state(pid: int) -> dict:
    """Per thread of ``pid``: name and pending / blocked / ignored / caught signal masks."""
    state = {}
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            lines = (task / "status").read_text().splitlines()
        except OSError:
            continue
        f = dict(line.split(":", 1) for line in lines if ":" in line)
        state[task.name] = {k: f.get(k, "").strip() for k in ("Name", "State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")}
    return state


@pytest.mark.slow
def test_ctrl_c_stops_at_once_and_says_how_to_resume(tmp_path, emu):
    emu.settings.job_seconds = 600
    prov, suite = setup(tmp_path, emu, [("pan", "The camera pans left")])
    # As from a terminal: the child starts with SIGINT's default disposition, whatever this
    # process inherited (an ignored SIGINT would be inherited through exec and Python would then
    # never raise KeyboardInterrupt).
    proc = subprocess.Popen([sys.executable, "-m", "audit", *_args(tmp_path, prov, suite), "-q"], cwd=ROOT,
                            env=dict(os.environ, LOCAL_SORA_KEY=KEY), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert _wait(lambda: emu.counts["retrieves"] >= 2, 60)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`run` did not stop within 30 s of SIGINT; its signal state: {_signal_state(proc.pid)}")
    finally:
        proc.kill()
    assert proc.returncode == 130 and time.monotonic() - t0 < 10
    assert "--resume" in err and KEY not in out + err
    (vid, status, sent), = _journal(tmp_path)
    assert vid and sent == 1 and status in ("queued", "in_progress")


@pytest.mark.slow
def test_ambiguous_create_is_reconciled_not_repaid(tmp_path, emu, cli):
    emu.settings.hang_seconds = 1.0
    prov, suite = setup(tmp_path, emu, [("hang", "[hang] reply lost")])
    code, err = cli(tmp_path, prov, suite, "--timeout", "0.3")
    assert code == 3, err
    f = by_case(results(tmp_path))["hang"]["findings"][0]
    assert f["code"] == "runtime.timeout" and f["evidence"]["retries"] == 0
    assert emu.counts["create_requests"] == 1 and emu.counts["creates"] == 1
    (vid, status, sent), = _journal(tmp_path)
    assert vid is None and status == "creating"
    code, err = cli(tmp_path, prov, suite, "--resume")
    assert code in (0, 1), err
    c = by_case(results(tmp_path))["hang"]
    assert c["media"]["frames"] > 0 and emu.counts["creates"] == 1 and emu.counts["create_requests"] == 1
    assert emu.counts["lists"] >= 1


def test_failed_job_is_created_again_on_resume_and_only_it(tmp_path, emu, cli):
    emu.settings.faults = ("fail-internal",)  # every job fails half-way, whatever its prompt
    prov, suite = setup(tmp_path, emu, [("flaky", "A static shot")])
    code, err = cli(tmp_path, prov, suite)
    assert code == 3, err
    first = by_case(results(tmp_path))["flaky"]
    assert first["findings"][0]["code"] == "runtime.job_failed" and first["generation"]["status"] == "failed"
    emu.settings.faults = ()
    code, err = cli(tmp_path, prov, suite, "--resume")
    assert code in (0, 1), err
    again = by_case(results(tmp_path))["flaky"]
    assert again["media"]["frames"] > 0 and again["generation"]["creates_sent"] == 2
    assert again["source"]["video_id"] != first["generation"]["video_id"] and emu.counts["creates"] == 2


def test_resume_without_a_run_is_a_usage_error(tmp_path, emu, cli):
    prov, suite = setup(tmp_path, emu, [("a", "x")])
    code, err = cli(tmp_path, prov, suite, "--resume")
    assert code == 2 and "nothing to resume" in err


def test_missing_key_is_a_usage_error(tmp_path, emu, cli, monkeypatch):
    prov, suite = setup(tmp_path, emu, [("a", "x")])
    monkeypatch.delenv("LOCAL_SORA_KEY")
    code, err = cli(tmp_path, prov, suite)
    assert code == 2 and "LOCAL_SORA_KEY" in err and emu.counts["create_requests"] == 0


# finding code of every case of fixtures/suites/faults.toml (None: a clip was generated and audited)
FAULTS = {"ok": None, "refuse": "policy.moderation_blocked", "likeness": "policy.likeness",
          "face": "policy.input_image_rejected", "real-person": "policy.likeness",
          "fail-moderation": "policy.moderation_blocked", "fail-internal": "runtime.job_failed",
          "rate-limited-once": None, "server-errors-twice": None, "server-errors-always": "runtime.server_error",
          "slow": "runtime.timeout", "hang": "runtime.timeout", "cut": "runtime.download_incomplete",
          "garbage": "runtime.download_incomplete", "retired-model": "runtime.model_unavailable",
          "unknown-model": "runtime.model_unavailable"}


@pytest.mark.slow
def test_the_faults_suite_through_the_strict_emulator_lands_every_fault_in_its_category(tmp_path, cli):
    """Issue 17's gate: the strict emulator (the API's values, multipart/JSON only) takes every
    request of the client, and every fault lands where it belongs; exit 1."""
    # fps 4 keeps the API's 1280x720 x 4 s clips cheap to render; nothing else is relaxed
    with Emulator(EmulatorSettings(strict=True, fps=4.0, job_seconds=0.3, poll_after_ms=50, retry_after=0.2,
                                   hang_seconds=3.0, api_key=KEY)) as emu:
        prov = tmp_path / "providers.toml"
        prov.write_text(f'[providers.local]\nbase_url = "{emu.base_url}"\napi_key_env = "LOCAL_SORA_KEY"\n')
        suite = ROOT / "fixtures" / "suites" / "faults.toml"
        code, err = cli(tmp_path, prov, suite, "--provider", "local", "--timeout", "2", "--job-timeout", "20",
                        "--concurrency", "4")
    assert code == 1, err
    clips = by_case(results(tmp_path))
    assert set(clips) == set(FAULTS)
    for cid, want in FAULTS.items():
        c = clips[cid]
        if want is None:
            assert c["media"]["width"] == 1280 and c["media"]["height"] == 720, cid
            assert not [f for f in c["findings"] if f["category"] in ("policy", "runtime")], (cid, c["findings"])
            continue
        (f,) = c["findings"]
        assert f["code"] == want, (cid, f)
        assert c["verdict"] == ("fail" if want.startswith("policy.") else "error"), cid
    # creates_sent counts requests sent: a 429 then accepted is 2, two 503s then accepted is 3
    assert clips["rate-limited-once"]["generation"]["creates_sent"] == 2
    assert clips["server-errors-twice"]["generation"]["creates_sent"] == 3
    assert clips["ok"]["generation"]["creates_sent"] == 1
    assert clips["real-person"]["findings"][0]["evidence"]["provider_code"] == "input_image_contains_real_person"
    # the journal keeps every attempt and its answer
    store = JobStore(tmp_path / "out" / "jobs.sqlite")
    try:
        answers = [a["http_status"] for a in store.attempts(clips["rate-limited-once"]["generation"]["job_key"])]
    finally:
        store.close()
    assert answers == [429, 200]
