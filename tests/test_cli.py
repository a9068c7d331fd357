"""The CLI end to end, as a subprocess: exit codes, the JSON contract, bad input in a batch."""

import json

import numpy as np
import pytest

from conftest import FIXTURES, run_cli

TOP_KEYS = {"tool", "version", "run_id", "clips"}
CLIP_KEYS = {"path", "verdict", "source", "media", "provenance", "watermark", "metrics", "findings"}
MEDIA_KEYS = {"duration_s", "fps", "width", "height", "frames", "codec", "has_audio"}
FINDING_KEYS = {"category", "severity", "code", "message", "evidence"}


def _policy(tmp_path, categories):
    p = tmp_path / "gate.toml"
    p.write_text("[gate]\ncategories = [%s]\n" % ", ".join(f'"{c}"' for c in categories))
    return p


def test_fixtures_run_writes_every_contract_field(tmp_path):
    out = tmp_path / "out.json"
    r = run_cli("check", str(FIXTURES), "--json", str(out), "--report", str(tmp_path / "rep"), "-q")
    assert r.returncode in (1, 3), r.stderr
    data = json.loads(out.read_text())
    assert TOP_KEYS <= set(data) and data["tool"] == "sora-audit"
    assert data["exit_code"] == r.returncode
    assert (tmp_path / "rep" / "results.json").is_file()
    names = {c["path"].split("/")[-1] for c in data["clips"]}
    assert {"clean_pan.mp4", "static.mp4", "flicker.mp4", "warp.mp4", "marked.mp4", "corrupt.mp4"} <= names
    assert {"person_static.mp4", "pool_handheld.mp4", "cut_person_bottles.mp4"} <= names
    for clip in data["clips"]:
        assert CLIP_KEYS <= set(clip), clip["path"]
        assert clip["verdict"] in ("pass", "warn", "fail", "error")
        assert {"flicker", "drift", "camera"} <= set(clip["metrics"])
        for f in clip["findings"]:
            assert FINDING_KEYS <= set(f)
        if clip["path"].endswith("corrupt.mp4"):
            assert clip["verdict"] == "error" and clip["media"] is None
        else:
            assert MEDIA_KEYS <= set(clip["media"])
            if "/real/" in clip["path"]:  # real camera footage (fixtures/real/): nobody prompted it
                assert clip["source"] is None
            else:
                assert clip["source"]["prompt"]  # from the sidecar


def test_bad_inputs_each_get_an_error_and_the_batch_goes_on(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.mp4").write_bytes(b"")
    (bad / "random.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    (bad / "notes.mp4").write_text("not a video\n")
    (bad / "cut.mp4").write_bytes((FIXTURES / "clips" / "static.mp4").read_bytes()[:5000])
    empty_dir = tmp_path / "nothing_here"
    empty_dir.mkdir()
    good = FIXTURES / "clips" / "static.mp4"
    missing = tmp_path / "missing.mp4"
    out = tmp_path / "out.json"
    r = run_cli("check", str(bad), str(missing), str(empty_dir), str(good), "--json", str(out),
                "--policy", str(_policy(tmp_path, ["conformance"])), "--jobs", "2")
    assert r.returncode == 3, r.stdout + r.stderr  # errors, and nothing failed the gate
    clips = {c["path"].split("/")[-1]: c for c in json.loads(out.read_text())["clips"]}
    expected = {
        "empty.mp4": ("runtime.file_empty", "file is empty"),
        "random.mp4": ("runtime.not_a_video", "not a recognised media container"),
        "notes.mp4": ("runtime.not_a_video", "is a text file"),
        "cut.mp4": ("runtime.undecodable", "truncated or corrupt"),
        "missing.mp4": ("runtime.file_missing", "no such file"),
    }
    for name, (code, text) in expected.items():
        c = clips[name]
        assert c["verdict"] == "error"
        f = c["findings"][0]
        assert (f["category"], f["code"]) == ("runtime", code)
        assert name in f["message"] and text in f["message"]
        assert name in r.stderr  # the terminal names the file too
    assert clips["static.mp4"]["verdict"] in ("pass", "warn")
    assert f"{empty_dir}: folder holds no clips" in r.stderr


def test_exit_0_and_1_by_gate(tmp_path):
    quality = _policy(tmp_path, ["quality"])
    ok = run_cli("check", str(FIXTURES / "clips" / "static.mp4"), "--policy", str(quality), "-q",
                 "--report", str(tmp_path / "a"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run_cli("check", str(FIXTURES / "clips" / "flicker.mp4"), "--policy", str(quality), "-q",
                  "--report", str(tmp_path / "b"))
    assert bad.returncode == 1, bad.stdout + bad.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["check"], "the following arguments are required: PATH"),
        (["check", "x.mp4", "--jobs", "many"], "invalid int value"),
        (["nosuch"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(args, needle):
    r = run_cli(*args)
    assert r.returncode == 2
    assert needle in r.stderr


def test_malformed_policy_and_empty_folder_exit_2(tmp_path):
    pol = tmp_path / "p.toml"
    pol.write_text("[analysis]\nmax_side = 'huge'\n")
    r = run_cli("check", str(FIXTURES / "clips" / "static.mp4"), "--policy", str(pol))
    assert r.returncode == 2
    assert str(pol) in r.stderr and "'analysis.max_side' must be int" in r.stderr
    (tmp_path / "empty").mkdir()
    r = run_cli("check", str(tmp_path / "empty"))
    assert r.returncode == 2 and "nothing to audit" in r.stderr


def test_summary_table_names_clips_and_verdicts(tmp_path):
    r = run_cli("check", str(FIXTURES / "clips" / "static.mp4"), str(tmp_path / "gone.mp4"),
                "--report", str(tmp_path / "rep"), env={"COLUMNS": "200"})
    assert "static.mp4" in r.stdout and "gone.mp4" in r.stdout
    assert "error" in r.stdout
    assert f"wrote {tmp_path / 'rep' / 'results.json'}" in r.stdout
