"""Suites and providers files: valid ones load, every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import ConfigError, UsageError
from audit.sora.client import Attempt
from audit.sora.jobs import JobStore
from audit.sora.providers import load_providers, get_provider
from audit.sora.suite import load_suite
from conftest import ROOT

REF = ROOT / "fixtures" / "references" / "static.jpg"


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_example_suite_loads_with_defaults_and_overrides():
    s = load_suite(ROOT / "fixtures" / "suites" / "demo.toml")
    assert s.provider == "emulator" and len(s.cases) == 3
    pan = s.cases[0]
    assert (pan.seconds, pan.size, pan.models, pan.expected_camera) == ("2", "320x180", ("sora-2",), "pan_left")
    assert Path(pan.reference).is_file()
    assert [(c.id, m, r) for c, m, r in s.jobs()][0] == ("pan-left", "sora-2", 1)


def test_cases_times_models_times_repeats(tmp_path):
    p = write(tmp_path, f'[suite]\nmodels=["sora-2","sora-2-pro"]\nrepeats=2\n[[case]]\nid="a"\nprompt="x"\n'
                        f'[[case]]\nid="b"\nprompt="y"\nmodels=["sora-2"]\nseconds="8"\nreference="{REF}"\n')
    s = load_suite(p)
    assert len(list(s.jobs())) == 2 * 2 + 1 * 2
    assert s.cases[1].seconds == "8" and s.cases[0].size == "1280x720"


@pytest.mark.parametrize("body,msg", [
    ('[[case]]\nid="a"\nprompt="x"\ncolour="red"\n', "case[1] 'a'.colour"),
    ('[[case]]\nid="a"\nprompt="x"\nsize="big"\n', "case[1] 'a'.size' must look like 1280x720"),
    ('[[case]]\nid="a"\nprompt="x"\nseconds="soon"\n', "'case[1] 'a'.seconds' must be a number"),
    ('[[case]]\nid="a"\nprompt="x"\nreference="nope.png"\n', "case[1] 'a'.reference: image not found"),
    ('[[case]]\nid="a"\nprompt="x"\n[[case]]\nid="a"\nprompt="y"\n', "case[2] 'a'.id is used twice"),
    ('[[case]]\nid="a b"\nprompt="x"\n', "case[1] 'a b'.id must be"),
    ('[[case]]\nid="a"\nprompt=""\n', "case[1] 'a'.prompt must be a non-empty"),
    ('[[case]]\nid="a"\nprompt="x"\nrepeats=0\n', "'case[1] 'a'.repeats' must be a whole number"),
    ('[[case]]\nid="a"\nprompt="x"\nmodels=[]\n', "'case[1] 'a'.models' must be a non-empty list"),
    ('[[case]]\nid="a"\nprompt="x"\nexpected_camera="sideways"\n', "expected_camera must be one of"),
    ('[suite]\nname="x"\n', "no [[case]]"),
    ('[[case]\n', "not valid TOML"),
])
def test_suite_mistakes_name_file_and_key(tmp_path, body, msg):
    p = write(tmp_path, body)
    with pytest.raises(ConfigError) as ei:
        load_suite(p)
    assert str(p) in str(ei.value) and msg in str(ei.value)


def test_bad_suite_is_exit_2_naming_the_file(tmp_path, capsys):
    from audit.cli import main

    p = write(tmp_path, '[[case]]\nid="a"\nprompt="x"\nsize="big"\n')
    assert main(["run", str(p), "--out", str(tmp_path / "o"), "--report", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert str(p) in err and "size" in err


def test_providers_file_overrides_and_adds(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.example/v1/")
    p = write(tmp_path, '[providers.mine]\nbase_url="http://127.0.0.1:9/v1"\napi_key_env="MINE_KEY"\n'
                        'models=["sora-2"]\nmax_concurrency=4\n[providers.cometapi]\nmodels=["sora-2-pro"]\n',
              "p.toml")
    provs = load_providers(p)
    assert provs["openai"].base_url == "https://gateway.example/v1"
    assert provs["mine"].base_url == "http://127.0.0.1:9/v1" and provs["mine"].max_concurrency == 4
    assert provs["cometapi"].models == ("sora-2-pro",) and provs["cometapi"].base_url.startswith("https://")
    monkeypatch.delenv("MINE_KEY", raising=False)
    with pytest.raises(UsageError, match="MINE_KEY"):
        provs["mine"].api_key()
    monkeypatch.setenv("MINE_KEY", "sk-abc")
    k = provs["mine"].api_key()
    assert k.reveal() == "sk-abc" and "sk-abc" not in repr(k) + str(k)
    with pytest.raises(UsageError, match="unknown provider 'nope'"):
        get_provider("nope", p)


@pytest.mark.parametrize("body,msg", [
    ('[providers.x]\nbase_url="http://h/v1"\napi_key="sk-123"\n', "unknown key 'providers.x.api_key'"),
    ('[providers.x]\napi_key_env="K"\n', "providers.x needs a base_url"),
    ('[providers.x]\nbase_url="ftp://h"\n', "must start with http"),
    ('[providers.x]\nbase_url="http://h"\nmax_concurrency="2"\n', "max_concurrency' must be int"),
    ('[other]\n', "unknown top-level"),
])
def test_providers_mistakes(tmp_path, body, msg):
    p = write(tmp_path, body, "p.toml")
    with pytest.raises(ConfigError, match=msg) as ei:
        load_providers(p)
    assert str(p) in str(ei.value)


def test_journal_is_wal_and_records_before_the_create(tmp_path):
    store = JobStore(tmp_path / "j.sqlite")
    assert store._rows("PRAGMA journal_mode")[0][0] == "wal"
    store.new_run("r", "s", "sha", "emulator")
    row = store.ensure(job_key="r:a:sora-2:r1", run_id="r", request_hash="h", provider="emulator", model="sora-2",
                       case_id="a", repeat=1, prompt="p", seconds="4", size="1280x720", reference=None)
    assert row.status == "pending" and row.creates_sent == 0
    row = store.mark_creating(row.job_key, new_attempt=False)
    assert (row.status, row.creates_sent, row.attempt) == ("creating", 0, 0)
    # every request is journaled with its answer; only those that left this machine count as sent
    store.record_attempt(row.job_key, 0, Attempt(0, False, None, "ConnectError: refused"))
    store.record_attempt(row.job_key, 0, Attempt(1, True, 429, "HTTP 429 : Too many running tasks"))
    store.record_attempt(row.job_key, 0, Attempt(2, True, 200, "HTTP 200 video_1 queued"))
    assert store.get(row.job_key).creates_sent == 2
    assert [(a["n"], a["sent"], a["http_status"]) for a in store.attempts(row.job_key)] == [
        (0, 0, None), (1, 1, 429), (2, 1, 200)]
    assert "Too many running tasks" in store.attempts(row.job_key)[1]["answer"]
    again = store.mark_creating(row.job_key, new_attempt=True)  # after a failed job: a new idempotency key
    assert again.attempt == 1 and again.idempotency_key != row.idempotency_key
    assert store.latest_run("s") == "r" and store.counts("r") == {"creating": 1}


@pytest.mark.parametrize("path", sorted((ROOT / "fixtures" / "suites").glob("*.toml")), ids=lambda p: p.name)
def test_every_example_suite_is_valid(path):
    s = load_suite(path)
    assert s.cases and all(c.prompt for c in s.cases)


def test_resume_with_the_in_process_emulator_is_explained(tmp_path, capsys):
    from audit.cli import main

    code = main(["run", str(ROOT / "fixtures" / "suites" / "demo.toml"), "--resume", "--out", str(tmp_path)])
    assert code == 2 and "in-process emulator keeps no jobs" in capsys.readouterr().err
