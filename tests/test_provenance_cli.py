"""`sora-audit provenance`, `sora-audit trust update`, and trust flags on `check`, as subprocesses.

Every run gets its own empty trust cache (XDG_CACHE_HOME in tmp_path): nothing of the user's
is read or written, and nothing is downloaded except from a loopback server.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest

from conftest import FIXTURES, TRUST_LISTS, run_cli
from test_provenance import C2PA_DIR, ROOT_PEM, SIGNED

LIST_NAMES = ["C2PA-TRUST-LIST.pem", "C2PA-TSA-TRUST-LIST.pem", "CAI-ANCHORS.pem", "CAI-ALLOWED.pem", "EKU-CONFIG.cfg"]


@pytest.fixture
def lists(tmp_path) -> Path:
    """A folder of lists built here: the committed test-only lists, each PEM bundle one certificate
    longer (so what is installed is seen to come from this folder, not from the fixture)."""
    d = tmp_path / "lists"
    d.mkdir()
    extra = ROOT_PEM.read_text()
    for name in LIST_NAMES:
        body = (TRUST_LISTS / name).read_text()
        (d / name).write_text(body + ("" if name.endswith(".cfg") else f"# added by the test\n{extra}"))
    return d


@pytest.fixture
def env(tmp_path):
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "SORA_AUDIT_TRUST_DIR": ""}


def test_provenance_command_summary_and_json(tmp_path, env):
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(b"\x00\x00\x00\x08junk" * 50)
    out = tmp_path / "p.json"
    r = run_cli("provenance", str(SIGNED), str(C2PA_DIR / "expired_pan.mp4"), str(FIXTURES / "references"),
                str(bad), "--trust-anchors", str(ROOT_PEM), "--json", str(out), env=env)
    assert r.returncode == 3, r.stdout + r.stderr  # the garbage file could not be read; nothing invalid
    items = {Path(i["path"]).name: i for i in json.loads(out.read_text())["items"]}
    assert items["clean_pan.mp4"]["provenance"]["status"] == "trusted"
    assert items["expired_pan.mp4"]["provenance"]["status"] == "valid"
    assert items["clean_pan.jpg"]["provenance"]["status"] == "absent"  # images of the folder too
    assert items["garbage.mp4"]["provenance"]["status"] == "error"
    assert {f["code"] for f in items["expired_pan.mp4"]["findings"]} >= {"provenance.credential_expired"}
    text = " ".join(r.stdout.split())
    assert "clean_pan.mp4" in text and "trusted" in text and "c2pa.created by sora-audit-test" in text
    assert "signingCredential.expired" in text


def test_provenance_command_exit_1_on_tampered(tmp_path, env):
    data = bytearray(SIGNED.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p = tmp_path / "tampered.mp4"
    p.write_bytes(bytes(data))
    r = run_cli("provenance", str(p), "-q", env=env)
    assert r.returncode == 1, r.stdout + r.stderr


def test_no_trust_configured_is_said_plainly(env):
    r = run_cli("provenance", str(SIGNED), env=env)
    assert r.returncode == 0
    assert "trusted cannot be established" in " ".join(r.stdout.split())


def test_bad_trust_file_is_a_usage_error(tmp_path, env):
    notpem = tmp_path / "anchors.pem"
    notpem.write_text("hello\n")
    r = run_cli("check", str(SIGNED), "--trust-anchors", str(notpem), "-q", "--report", str(tmp_path / "r"), env=env)
    assert r.returncode == 2 and str(notpem) in r.stderr and "no PEM certificate" in r.stderr


def _check(tmp_path, env, *args):
    out = tmp_path / "out.json"
    r = run_cli("check", *args, "--json", str(out), "--report", str(tmp_path / "rep"), "-q", "--jobs", "0", env=env)
    return r, {Path(c["path"]).name: c for c in json.loads(out.read_text())["clips"]}


def test_trust_update_from_dir_then_check_uses_cache(tmp_path, env):
    lists = tmp_path / "lists"  # the committed lists as they are: our test root is on none of them
    lists.mkdir()
    for name in LIST_NAMES:
        (lists / name).write_bytes((TRUST_LISTS / name).read_bytes())
    r = run_cli("trust", "update", "--from", str(lists), env=env)
    assert r.returncode == 0, r.stderr
    cache = tmp_path / "cache" / "sora-audit" / "trust"
    src = json.loads((cache / "sources.json").read_text())
    for name in LIST_NAMES:
        body = (cache / name).read_bytes()
        assert body == (lists / name).read_bytes()
        assert src["files"][name]["sha256"] == hashlib.sha256(body).hexdigest()
    assert src["files"]["CAI-ANCHORS.pem"]["certificates"] == 4 and src["files"]["CAI-ALLOWED.pem"]["certificates"] == 5
    # The cache alone: our test signer is on no public list -> valid, untrusted (warn: trust is configured)
    r, clips = _check(tmp_path, env, str(SIGNED))
    p = clips["clean_pan.mp4"]["provenance"]
    assert p["status"] == "valid" and p["trust"]["configured"] and p["trust"]["sources"][0].startswith("cache:")
    sev = {f["code"]: f["severity"] for f in clips["clean_pan.mp4"]["findings"]}
    assert sev["provenance.untrusted"] == "warn"
    # The test root added with the flag (the cached EKU configuration still applies) -> trusted
    r, clips = _check(tmp_path, env, str(SIGNED), "--trust-anchors", str(ROOT_PEM), "--trust-anchors",
                      str(lists / "CAI-ANCHORS.pem"))
    assert clips["clean_pan.mp4"]["provenance"]["status"] == "trusted"
    show = run_cli("trust", "show", env=env)
    # the cache records where the lists came from, resolved (tmp folders may sit behind a symlink)
    assert "CAI-ALLOWED.pem" in " ".join(show.stdout.split()) and str(lists.resolve()) in show.stdout.replace("\n", "")


def test_trust_from_policy_file(tmp_path, env):
    pol = tmp_path / "p.toml"
    pol.write_text(f'[provenance]\ntrust_anchors = ["{ROOT_PEM}"]\nrequire = "manifest"\nunmet = "fail"\n')
    r, clips = _check(tmp_path, env, str(SIGNED), str(FIXTURES / "clips" / "warp.mp4"), "--policy", str(pol))
    assert clips["clean_pan.mp4"]["provenance"]["status"] == "trusted"
    assert {f["code"]: f["severity"] for f in clips["warp.mp4"]["findings"]}["provenance.absent"] == "fail"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture
def loopback(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_trust_update_downloads_over_http(tmp_path, env, loopback, lists):
    root, url = loopback
    for name in LIST_NAMES:
        (root / name).write_bytes((lists / name).read_bytes())
    r = run_cli("trust", "update", "--base-url", url, env=env)
    assert r.returncode == 0, r.stderr
    src = json.loads((tmp_path / "cache" / "sora-audit" / "trust" / "sources.json").read_text())
    assert src["files"]["CAI-ALLOWED.pem"]["source"] == f"{url}/CAI-ALLOWED.pem"
    assert src["files"]["CAI-ALLOWED.pem"]["certificates"] == 6  # 5 committed + the one the test added
    assert src["updated_at"]


def test_trust_update_failure_keeps_the_cache(tmp_path, env, loopback, lists):
    root, url = loopback
    for name in LIST_NAMES[:-1]:  # EKU-CONFIG.cfg missing: a 404
        (root / name).write_bytes((lists / name).read_bytes())
    env = {**env, "SORA_AUDIT_TRUST_BASE_URL": url}
    r = run_cli("trust", "update", env=env)
    assert r.returncode == 3 and "EKU-CONFIG.cfg: HTTP 404" in r.stderr and "nothing was installed" in r.stderr
    assert not (tmp_path / "cache" / "sora-audit" / "trust" / "sources.json").exists()
    (root / "CAI-ANCHORS.pem").write_text("<html>not a list</html>")
    (root / "EKU-CONFIG.cfg").write_bytes((lists / "EKU-CONFIG.cfg").read_bytes())
    r = run_cli("trust", "update", env=env)
    assert r.returncode == 3 and "not a PEM certificate list" in r.stderr


def test_batch_with_malformed_manifests_goes_on(tmp_path, env):
    data = SIGNED.read_bytes()
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "cut.mp4").write_bytes(data[: int(len(data) * 0.99)])
    nested = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    inner = b""
    for k in range(100):
        inner = (8 + len(inner)).to_bytes(4, "big") + (b"moov" if k % 2 else b"trak") + inner
    (tmp_path / "clips" / "nested.mp4").write_bytes(nested + inner)
    (tmp_path / "clips" / "good.mp4").write_bytes(data)
    r, clips = _check(tmp_path, env, str(tmp_path / "clips"))
    assert set(clips) == {"cut.mp4", "nested.mp4", "good.mp4"}
    assert clips["good.mp4"]["provenance"]["status"] == "valid" and clips["good.mp4"]["verdict"] == "pass"
    assert clips["nested.mp4"]["provenance"]["status"] == "error"
    assert clips["cut.mp4"]["provenance"]["status"] == "error"
    for name in ("cut.mp4", "nested.mp4"):
        assert clips[name]["verdict"] in ("fail", "error")
