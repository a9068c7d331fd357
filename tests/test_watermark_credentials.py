"""The visible mark against the Content Credentials (audit.watermark.credentials): a Sora
manifest without the Sora mark, the Sora mark without a manifest; and both signals side by side
in the report's provenance panel."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest

from audit.outputs import html
from audit.pipeline import AuditOptions, AuditTask, audit_clip
from audit.policy import load_policy
from audit.watermark.credentials import cross_check, sora_manifest

from wm_clips import jump_clip

SORA = {"status": "trusted", "claim_generator": None, "claim_generator_info": [{"name": "Sora", "org.contentauth.c2pa_rs": "0.67.1"}],
        "issuer": "OpenAI", "codes": []}
ABSENT = {"status": "absent", "claim_generator": None, "claim_generator_info": [], "issuer": None, "codes": []}


def wm(present, mark=None, known=("sora",)):
    return {"present": present, "mark": mark, "coverage": 0.97 if present else 0.0, "method": "template",
            "known": list(known)}


def check(prov, w):
    ctx = SimpleNamespace(path=Path("clip.mp4"), policy=load_policy())
    return [(f.code, f.severity, f.category) for f in cross_check(ctx, {"provenance": prov, "watermark": w}, {})]


def test_sora_manifest_recognised():
    assert sora_manifest(SORA)
    assert sora_manifest({**SORA, "status": "invalid"})           # altered after signing: still a Sora manifest
    assert sora_manifest({**SORA, "claim_generator_info": [], "claim_generator": "Sora/2.0 c2pa-rs/0.67"})
    assert not sora_manifest({**SORA, "issuer": "Example Corp"})  # "Sora" written by someone else
    assert not sora_manifest({**SORA, "claim_generator_info": [{"name": "Veo"}]})
    assert not sora_manifest(ABSENT)


@pytest.mark.parametrize("prov, w, expected", [
    (SORA, wm(False), [("watermark.expected_missing", "warn", "watermark")]),
    (SORA, wm(True, "sora"), []),
    (SORA, wm(True, "studio.png"), [("watermark.expected_missing", "warn", "watermark")]),  # another mark
    (ABSENT, wm(True, "sora"), [("provenance.stripped_suspected", "warn", "provenance")]),
    (ABSENT, wm(False), []),
    (ABSENT, wm(True, "studio.png"), []),
    ({**SORA, "issuer": "Example Corp"}, wm(False), []),
    (SORA, wm(False, known=()), []),          # the Sora mark was not searched: nothing to say
    (SORA, {**wm(None), "method": None}, []),  # no watermark search ran
    (SORA, None, []),
])
def test_cross_check(prov, w, expected):
    assert check(prov, w) == expected


def test_policy_can_raise_or_drop_expected_missing(tmp_path):
    ctx = SimpleNamespace(path=Path("clip.mp4"), policy=load_policy())
    found = cross_check(ctx, {"provenance": SORA, "watermark": wm(False)}, {})
    for sev, left in (("fail", ["fail"]), ("ignore", [])):
        p = tmp_path / f"{sev}.toml"
        p.write_text(f'[severity]\n"watermark.expected_missing" = "{sev}"\n', encoding="utf-8")
        assert [f.severity for f in load_policy(p).apply_overrides(found)] == left


@pytest.fixture(scope="module")
def stripped(tmp_path_factory):
    """A small pillarboxed clip with the Sora mark and no manifest, audited by every detector."""
    info = jump_clip(tmp_path_factory.mktemp("cred") / "stripped.mp4", frame=(640, 352), picture=(198, 352),
                     mark_h=18, seconds=3.0, hold_s=1.5)
    return audit_clip(AuditTask(info.path, AuditOptions()))


def test_mark_without_manifest_end_to_end(stripped):
    r = stripped
    assert r["provenance"]["status"] == "absent"
    assert r["watermark"]["present"] is True and r["watermark"]["mark"] == "sora"
    assert r["watermark"]["known"] == ["sora"]
    codes = {f["code"]: f["severity"] for f in r["findings"]}
    assert codes.get("provenance.stripped_suspected") == "warn"
    assert "watermark.expected_missing" not in codes


def test_report_shows_both_signals_side_by_side(stripped):
    run = {"tool": "sora-audit", "version": "0.1.0", "schema_version": "1.3", "run_id": "r1",
           "started_at": "2026-11-25T15:00:00+00:00", "finished_at": "2026-11-25T15:01:00+00:00",
           "policy": {"source": "defaults", "sha256": "ab" * 32}, "counts": {}, "exit_code": 0,
           "clips": [stripped]}
    page = html.render(run)
    line = page[page.index('<p class="signals">'):]
    line = line[:line.index("</p>")]
    # both signals on one line of the provenance panel, and the cross-check's finding under them
    assert "Content Credentials: <b>absent</b>" in line and "visible mark: <b>sora</b>" in line
    assert "probably stripped by a re-encode" in line
    # a Sora manifest and no mark: the other way round
    clip = copy.deepcopy(stripped)
    clip["provenance"] = {**clip["provenance"], **SORA}
    clip["watermark"] = {**clip["watermark"], "present": False, "mark": None, "track": [], "segments": []}
    page = html.render({**run, "clips": [clip]})
    line = page[page.index('<p class="signals">'):]
    line = line[:line.index("</p>")]
    assert "Content Credentials: <b>Sora (OpenAI)</b>" in line and "visible mark: <b>none</b>" in line
