"""Clips named by fsspec URL: read where they are audited, reported under the URL as given."""

from __future__ import annotations

import json
import shutil

import fsspec
import pytest

from audit.executors import InlineExecutor
from audit.media import find_clips
from audit.pipeline import AuditTask, audit_clip
from audit.remote import check_url, is_url
from conftest import FIXTURES, run_cli


def test_is_url():
    assert is_url("s3://bucket/a.mp4") and is_url("file:///tmp/a.mp4") and is_url("memory://x/y.mp4")
    assert not is_url("clips/a.mp4") and not is_url("/abs/a.mp4") and not is_url("C:\\a.mp4")


def test_find_clips_keeps_urls_as_given(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    clips, notes = find_clips([str(tmp_path), "s3://bucket/clip.mp4", "s3://bucket/clip.mp4"])
    assert clips == [tmp_path / "a.mp4", "s3://bucket/clip.mp4"] and notes == []


def test_folder_and_glob_urls_list_their_clips():
    fs = fsspec.filesystem("memory")
    for name in ("d/b.mp4", "d/sub/a.MOV", "d/notes.txt", "d/c.mp4"):
        fs.pipe(f"/lst/{name}", b"x")
    try:
        folder, notes = find_clips(["memory://lst/d/"])
        glob, _ = find_clips(["memory://lst/d/*.mp4", "memory:///lst/d/b.mp4"])
        empty, empty_notes = find_clips(["memory://lst/nothing/*.mp4"])
    finally:
        fs.rm("/lst", recursive=True)
    assert folder == ["memory:///lst/d/b.mp4", "memory:///lst/d/c.mp4", "memory:///lst/d/sub/a.MOV"] and not notes
    assert glob == ["memory:///lst/d/b.mp4", "memory:///lst/d/c.mp4"]  # listed once
    assert empty == [] and "memory://lst/nothing/*.mp4: holds no clips" in empty_notes[0]


def test_file_url_is_audited_in_place_and_named_as_given():
    clip = FIXTURES / "clips" / "flicker.mp4"
    url = clip.resolve().as_uri()
    by_url, by_path = audit_clip(AuditTask(url)), audit_clip(AuditTask(str(clip.resolve())))
    assert by_url["path"] == url
    assert by_url["source"] == by_path["source"] is not None  # the sidecar beside it was read
    for key in ("verdict", "sha256", "media", "metrics", "findings"):
        assert by_url[key] == by_path[key], key


def test_remote_object_is_staged_with_its_sidecar_and_relabelled():
    """memory:// stands in for s3:// here: same code path (copy to a private folder, audit, relabel)."""
    fs = fsspec.filesystem("memory")
    src = FIXTURES / "clips" / "corrupt.mp4"
    with fs.open("/bucket/corrupt.mp4", "wb") as w:
        w.write(src.read_bytes())
    flick = FIXTURES / "clips" / "flicker.mp4"
    fs.pipe("/bucket/deep/flicker.mp4", flick.read_bytes())
    fs.pipe("/bucket/deep/flicker.mp4.json", (FIXTURES / "clips" / "flicker.mp4.json").read_bytes())
    # the sidecar names its reference image relative to the clip: ../references/flicker.jpg
    fs.pipe("/bucket/references/flicker.jpg", (FIXTURES / "references" / "flicker.jpg").read_bytes())
    try:
        urls = ["memory://bucket/corrupt.mp4", "memory://bucket/deep/flicker.mp4", "memory://bucket/missing.mp4"]
        res = dict(InlineExecutor().run([AuditTask(u) for u in urls]))
    finally:
        fs.rm("/bucket", recursive=True)
    corrupt, flicker, missing = res[0], res[1], res[2]
    assert [r["path"] for r in (corrupt, flicker, missing)] == urls
    # Findings name the URL, never the temporary copy.
    assert corrupt["verdict"] == "error" and corrupt["findings"][0]["code"] == "runtime.undecodable"
    assert corrupt["findings"][0]["message"].startswith("memory://bucket/corrupt.mp4: ")
    dumped = json.dumps(res)
    assert "sora-audit-" not in dumped, dumped[dumped.find("sora-audit-") - 200:][:400]
    local = audit_clip(AuditTask(str(flick)))
    remote_src, local_src = dict(flicker["source"]), dict(local["source"])
    assert remote_src.pop("reference") == "memory://bucket/references/flicker.jpg"
    assert local_src.pop("reference").endswith("references/flicker.jpg")
    assert remote_src == local_src and remote_src["prompt"]
    # The reference image was staged too and used: the drift block names it by URL, values equal.
    ref_url = "memory://bucket/references/flicker.jpg"
    assert flicker["metrics"]["drift"].get("reference", ref_url) == ref_url
    remote_json = json.dumps(flicker["metrics"]).replace(ref_url, "REF")
    local_json = json.dumps(local["metrics"]).replace(str(local["source"]["reference"]), "REF")
    assert remote_json == local_json
    for key in ("verdict", "sha256", "media"):
        assert flicker[key] == local[key], key
    assert missing["verdict"] == "error" and missing["findings"][0]["code"] == "runtime.file_missing"
    assert "memory://bucket/missing.mp4: no such object" in missing["findings"][0]["message"]


@pytest.fixture
def scheme_without_backend():
    """A URL scheme fsspec knows but whose backend package is not installed (like s3:// without s3fs)."""
    from fsspec.registry import known_implementations

    known_implementations["nobackend"] = {"class": "sora_audit_no_such_pkg.FS", "err": "Install sora_audit_no_such_pkg to access nobackend://"}
    yield "nobackend"
    del known_implementations["nobackend"]


def test_missing_backend_is_a_clear_error_and_the_batch_goes_on(scheme_without_backend):
    url = f"{scheme_without_backend}://bucket/a.mp4"
    assert "Install sora_audit_no_such_pkg" in check_url(url)
    res = dict(InlineExecutor().run([AuditTask(url), AuditTask(str(FIXTURES / "clips" / "static.mp4"))]))
    [f] = res[0]["findings"]
    assert res[0]["verdict"] == "error" and f["code"] == "runtime.url_backend_missing"
    assert f["message"].startswith(f"{url}: no fsspec backend for nobackend://")
    assert "Install sora_audit_no_such_pkg" in f["message"]
    assert res[1]["verdict"] == "pass"


def test_cli_audits_urls_next_to_paths(tmp_path):
    clip = tmp_path / "static copy.mp4"
    shutil.copy(FIXTURES / "clips" / "static.mp4", clip)
    url = clip.as_uri()
    p = run_cli("check", url, "foo://bucket/x.mp4", "--jobs", "0", "-q", "--json", str(tmp_path / "r.json"),
                "--report", str(tmp_path / "rep"))
    assert p.returncode == 3, p.stderr  # one clip could not be audited, none failed
    clips = json.loads((tmp_path / "r.json").read_text())["clips"]
    assert [c["path"] for c in clips] == [url, "foo://bucket/x.mp4"]
    assert clips[0]["verdict"] == "pass"
    assert clips[1]["findings"][0]["code"] == "runtime.url_backend_missing"
    assert "foo://" in clips[1]["findings"][0]["message"]
