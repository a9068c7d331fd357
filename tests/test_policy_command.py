"""`sora-audit policy`: every capability's documented defaults, and validation of a user file."""

from __future__ import annotations

import tomllib

from conftest import run_cli


def test_prints_every_default_section_as_valid_toml():
    r = run_cli("policy")
    assert r.returncode == 0, r.stderr
    for section in ("[gate]", "[flicker]", "[drift]", "[camera]", "[technical]", "[conformance]"):
        assert section in r.stdout
    body = "\n".join(line for line in r.stdout.splitlines() if not line.startswith("# ----"))
    assert tomllib.loads(body)["flicker"]["fail"] >= tomllib.loads(body)["flicker"]["warn"]


def test_validates_a_user_file(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text("[drift]\nwarn = 0.8\n")
    r = run_cli("policy", str(good))
    assert r.returncode == 0 and "ok (sha256" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[drift]\nwran = 0.8\n")
    r = run_cli("policy", str(bad))
    assert r.returncode == 2
    assert "bad.toml" in r.stderr and "drift.wran" in r.stderr
