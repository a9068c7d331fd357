"""Files that are not media, or carry more than media: every one is reported, the right way, and
the batch ends with the contract's exit code. Built in tmp_path; huge files are sparse."""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
from pathlib import Path

from audit import pipeline
from audit.executors import InlineExecutor
from audit.pipeline import AuditTask
from audit.provenance.layout import layout
from conftest import FIXTURES, run_cli

GB = 1 << 30


def _box(typ: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), typ) + payload


def not_media(d: Path) -> dict[str, str]:
    """name -> the runtime finding code ``check`` must give it."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "empty.mp4").write_bytes(b"")
    (d / "random.mp4").write_bytes(os.urandom(5000))
    (d / "text.mp4").write_text("this is not a video\n")
    inner = b""
    for k in range(1000):
        inner = _box(b"moov" if k % 2 else b"trak", inner)
    (d / "nested.mp4").write_bytes(_box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + inner)
    with open(d / "zeros.mp4", "wb") as fh:  # 20 GB of zeros, sparse: no disk used
        fh.truncate(20 * GB)
    shutil.copy(FIXTURES / "clips" / "corrupt.mp4", d / "corrupt.mp4")
    return {"empty.mp4": "runtime.file_empty", "random.mp4": "runtime.not_a_video", "text.mp4": "runtime.not_a_video",
            "nested.mp4": "runtime.undecodable", "zeros.mp4": "runtime.not_a_video",
            "corrupt.mp4": "runtime.undecodable"}


def test_files_that_are_not_media_are_errors_and_exit_3(tmp_path):
    expected = not_media(tmp_path / "clips")
    out = tmp_path / "r.json"
    t0 = time.monotonic()
    r = run_cli("check", str(tmp_path / "clips"), "--json", str(out), "--report", str(tmp_path / "rep"),
                "--no-history", timeout=120)
    assert time.monotonic() - t0 < 60
    assert r.returncode == 3, r.stdout + r.stderr  # runtime errors, nothing failed the gate
    clips = {Path(c["path"]).name: c for c in json.loads(out.read_text())["clips"]}
    assert set(clips) == set(expected)
    for name, code in expected.items():
        c = clips[name]
        assert c["verdict"] == "error", (name, c["findings"])
        assert c["findings"][0]["code"] == code
        assert not [f for f in c["findings"] if f["severity"] == "fail" and f["category"] != "runtime"], name
    # a broken MP4 is still read for its manifest, and what is wrong with its boxes is said
    assert {f["code"]: f["severity"] for f in clips["corrupt.mp4"]["findings"]}["provenance.cut_short"] == "warn"
    assert {f["code"]: f["severity"] for f in clips["nested.mp4"]["findings"]}["provenance.error"] == "warn"


def test_provenance_command_agrees_with_check_on_broken_files(tmp_path):
    not_media(tmp_path / "clips")
    out = tmp_path / "p.json"
    r = run_cli("provenance", str(tmp_path / "clips"), "--json", str(out), timeout=120)
    assert r.returncode == 3, r.stdout + r.stderr  # could not be read (or cut short), none invalid
    items = {Path(i["path"]).name: i for i in json.loads(out.read_text())["items"]}
    corrupt = items["corrupt.mp4"]
    # check calls it undecodable; provenance finds no manifest and says the file is cut short
    assert corrupt["provenance"]["status"] == "absent"
    assert [f["code"] for f in corrupt["findings"]] == ["provenance.cut_short"]
    assert "cut short" in r.stdout
    for name in ("empty.mp4", "random.mp4", "text.mp4", "nested.mp4", "zeros.mp4"):
        assert items[name]["provenance"]["status"] == "error", name
    # the same block in check's results for the broken MP4s it reads for their manifest
    chk = tmp_path / "c.json"
    run_cli("check", str(tmp_path / "clips" / "corrupt.mp4"), "--json", str(chk), "--report", str(tmp_path / "rep"),
            "--no-history")
    [c] = json.loads(chk.read_text())["clips"]
    assert c["provenance"]["status"] == "absent" and c["provenance"]["layout"] == corrupt["provenance"]["layout"]


def test_trailing_data_after_the_last_box_is_a_warning_with_its_size(tmp_path, render_clip):
    clip = render_clip("c.mp4", seconds=0.5)
    size = clip.stat().st_size
    with open(clip, "ab") as fh:  # 64 MB of zeros after the clip (sparse)
        fh.truncate(size + 64 * (1 << 20))
    lay = layout(clip)
    assert (lay["boxes_bytes"], lay["trailing_bytes"], lay["missing_bytes"]) == (size, 64 << 20, 0)
    out = tmp_path / "r.json"
    r = run_cli("check", str(clip), "--json", str(out), "--report", str(tmp_path / "rep"), "--no-history")
    [c] = json.loads(out.read_text())["clips"]
    f = next(f for f in c["findings"] if f["code"] == "provenance.trailing_data")
    assert f["severity"] == "warn" and f["evidence"]["trailing_bytes"] == 64 << 20 and f["evidence"]["offset"] == size
    assert "67108864 bytes (67.1 MB)" in f["message"]
    assert c["verdict"] in ("warn", "fail") and r.returncode in (0, 1)
    p = run_cli("provenance", str(clip))
    assert "provenance.trailing_data" in p.stdout and p.returncode == 0
    # a clean clip tiles its file exactly
    clean = render_clip("clean.mp4", seconds=0.5)
    assert layout(clean)["problem"] is None and layout(clean)["trailing_bytes"] == 0


def test_hashing_a_huge_file_reports_progress(tmp_path, render_clip, monkeypatch):
    clip = render_clip("c.mp4", seconds=0.5)
    with open(clip, "ab") as fh:
        fh.truncate(clip.stat().st_size + 48 * (1 << 20))
    total = clip.stat().st_size
    monkeypatch.setattr(pipeline, "HASH_REPORT_BYTES", 16 << 20)
    heard = []
    ex = InlineExecutor()
    ex.progress = lambda i, kind, info: heard.append((i, kind, dict(info)))
    [(_, res)] = list(ex.run([AuditTask(str(clip))]))
    hashing = [info for i, kind, info in heard if kind == "hashing"]
    assert [h["done"] for h in hashing] == [16 << 20, 32 << 20, 48 << 20]
    assert all(h["total"] == total for h in hashing)
    assert ("probed" in [k for _, k, _ in heard]) and res["sha256"]
    assert pipeline.REPORT is None  # nothing left listening after the run


def test_many_empty_clips(tmp_path):
    d = tmp_path / "empties"
    d.mkdir()
    for i in range(200):
        (d / f"e{i:03d}.mp4").write_bytes(b"")
    out = tmp_path / "r.json"
    r = run_cli("check", str(d), "--json", str(out), "--report", str(tmp_path / "rep"), "--no-history", "-q",
                timeout=180)
    assert r.returncode == 3, r.stderr
    clips = json.loads(out.read_text())["clips"]
    assert len(clips) == 200 and {c["verdict"] for c in clips} == {"error"}
    assert {c["findings"][0]["code"] for c in clips} == {"runtime.file_empty"}


def test_check_of_a_folder_of_everything_hostile_reports_every_file(tmp_path, render_clip):
    """The acceptance run: not-media files, non-files, a stuck-free FIFO reference, a bomb
    reference, trailing data, hostile names, and two good clips, in one folder."""
    from test_files import hostile_paths, write_png

    d = tmp_path / "all"
    expected = not_media(d)
    hostile_paths(d)
    good1 = render_clip("good1.mp4", seconds=0.5, seed=1)
    good2 = render_clip("good2.mp4", seconds=0.5, seed=2)
    for g in (good1, good2):
        shutil.copy(g, d / g.name)
    shutil.copy(good1, d / "withfifo.mp4")
    os.mkfifo(d / "ref_fifo.png")
    (d / "withfifo.mp4.json").write_text(json.dumps({"reference": "ref_fifo.png"}))
    shutil.copy(good2, d / "withbomb.mp4")
    write_png(d / "bomb.png", 20000, 20000)
    (d / "withbomb.mp4.json").write_text(json.dumps({"reference": "bomb.png"}))
    shutil.copy(good1, d / "trailing.mp4")
    with open(d / "trailing.mp4", "ab") as fh:
        fh.truncate((d / "trailing.mp4").stat().st_size + (8 << 20))
    shutil.copy(good2, d / "t\x1b]0;X\x07\x1b[2J[bold].mp4")
    sub = d / "["
    sub.mkdir()
    shutil.copy(good1, sub / "]x.mp4")
    out = tmp_path / "r.json"
    t0 = time.monotonic()
    r = run_cli("check", str(d), "--json", str(out), "--report", str(tmp_path / "rep"), "--no-history",
                timeout=300)
    assert time.monotonic() - t0 < 200
    text = r.stdout + r.stderr
    assert r.returncode == 3, text  # errors; nothing failed the gate (warnings pass)
    assert "Traceback" not in text and "\x1b" not in text
    clips = {Path(c["path"]).name: c for c in json.loads(out.read_text())["clips"]}
    names = set(expected) | {"fifo.mp4", "sock.mp4", "loop.mp4", "zero.mp4", "dangling.mp4"} | {
        "good1.mp4", "good2.mp4", "withfifo.mp4", "withbomb.mp4", "trailing.mp4", "t\x1b]0;X\x07\x1b[2J[bold].mp4",
        "]x.mp4"}
    assert set(clips) == names
    for name in names:
        assert name in {Path(c["path"]).name for c in json.loads(out.read_text())["clips"]}
    for name in ("good1.mp4", "good2.mp4", "]x.mp4", "t\x1b]0;X\x07\x1b[2J[bold].mp4"):
        assert clips[name]["verdict"] in ("pass", "warn"), clips[name]["findings"]
    codes = lambda n: {f["code"] for f in clips[n]["findings"]}  # noqa: E731
    assert "runtime.not_a_file" in codes("withfifo.mp4") and "runtime.image_too_large" in codes("withbomb.mp4")
    assert "provenance.trailing_data" in codes("trailing.mp4")
    assert json.loads(out.read_text())["exit_code"] == 3
