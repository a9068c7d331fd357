"""Only regular files are opened; images are size-checked from their header (audit/files.py).

Hostile inputs are built in tmp_path: a FIFO (opening it would block forever), a socket, a
symlink loop, a link to a character device, a folder named like a clip, and a PNG whose header
declares 20000 x 20000 pixels (400 MB once decoded, 1.7 MB on disk)."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from audit.errors import ConfigError, MissingFileError
from audit.files import ImageTooLargeError, ImageUnreadableError, NotAFileError, check_image, regular_file, what_is
from audit.pipeline import AuditOptions, AuditTask, audit_clip
from audit.policy import load_policy
from conftest import ROOT, run_cli


def write_png(path: Path, w: int, h: int) -> Path:
    """A valid greyscale PNG of w x h black pixels (zeros compress ~230:1)."""
    co = zlib.compressobj(1)
    row = bytes(w + 1)  # filter byte + one row
    data = b"".join(co.compress(row) for _ in range(h)) + co.flush()

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def hostile_paths(d: Path) -> dict[str, str]:
    """name -> what ``what_is`` must say, for paths that are not regular files."""
    d.mkdir(parents=True, exist_ok=True)
    os.mkfifo(d / "fifo.mp4")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "sock.mp4"))
    s.close()
    (d / "loop.mp4").symlink_to("loop.mp4")
    (d / "zero.mp4").symlink_to("/dev/zero")
    (d / "dangling.mp4").symlink_to("nowhere.mp4")
    (d / "folder.mp4").mkdir()
    return {"fifo.mp4": "a FIFO (named pipe)", "sock.mp4": "a socket", "loop.mp4": "a symlink loop",
            "zero.mp4": "a character device", "dangling.mp4": "a broken symlink", "folder.mp4": "a folder"}


def test_what_is_names_every_kind_of_path(tmp_path):
    kinds = hostile_paths(tmp_path)
    for name, words in kinds.items():
        assert what_is(tmp_path / name) == words, name
    (tmp_path / "ok.mp4").write_bytes(b"x")
    (tmp_path / "link.mp4").symlink_to("ok.mp4")
    assert what_is(tmp_path / "ok.mp4") is None and what_is(tmp_path / "link.mp4") is None
    assert what_is(tmp_path / "absent.mp4") == "missing"
    with pytest.raises(MissingFileError):
        regular_file(tmp_path / "absent.mp4")
    with pytest.raises(NotAFileError, match="fifo.mp4: file is a FIFO"):
        regular_file(tmp_path / "fifo.mp4")


def test_audit_of_non_files_is_a_runtime_error_at_once(tmp_path):
    kinds = hostile_paths(tmp_path)
    t0 = time.monotonic()
    for name, words in kinds.items():
        c = audit_clip(AuditTask(str(tmp_path / name)))
        assert c["verdict"] == "error", name
        [f] = c["findings"]  # the runtime finding only: nothing of provenance beside it
        assert (f["category"], f["severity"], f["code"]) == ("runtime", "fail", "runtime.not_a_file"), name
        assert f"{name}: file is {words}, not a regular file" in f["message"]
        assert c["provenance"] is None
    assert time.monotonic() - t0 < 10  # a FIFO is never opened: nothing blocks


def test_check_reports_fifo_loop_and_socket_in_a_folder_and_as_arguments(tmp_path, render_clip):
    good = render_clip("good.mp4", seconds=0.5)
    clips = tmp_path / "clips"
    hostile_paths(clips)
    out = tmp_path / "r.json"
    t0 = time.monotonic()
    r = run_cli("check", str(clips), str(good), str(clips / "loop.mp4"), "--json", str(out),
                "--report", str(tmp_path / "rep"), "--no-history", timeout=120)
    assert time.monotonic() - t0 < 120
    assert r.returncode == 3, r.stdout + r.stderr  # errors, and nothing failed the gate
    got = {Path(c["path"]).name: c for c in json.loads(out.read_text())["clips"]}
    # folder.mp4 is a folder: searched, not audited; the loop named twice is audited once
    assert set(got) == {"fifo.mp4", "sock.mp4", "loop.mp4", "zero.mp4", "dangling.mp4", "good.mp4"}
    for name in ("fifo.mp4", "sock.mp4", "loop.mp4", "zero.mp4", "dangling.mp4"):
        assert got[name]["verdict"] == "error"
        assert got[name]["findings"][0]["code"] == "runtime.not_a_file"
        assert name in r.stderr
    assert got["good.mp4"]["verdict"] in ("pass", "warn")
    assert "Traceback" not in r.stderr


def test_sidecar_and_reference_that_are_fifos_are_said_and_never_opened(tmp_path, render_clip):
    a = render_clip("a.mp4", seconds=0.5)
    b = render_clip("b.mp4", seconds=0.5)
    os.mkfifo(tmp_path / "ref.png")
    (tmp_path / "a.mp4.json").write_text(json.dumps({"reference": "ref.png"}))
    os.mkfifo(tmp_path / "b.mp4.json")
    policy = load_policy()
    t0 = time.monotonic()
    ca = audit_clip(AuditTask(str(a), AuditOptions(policy=policy)))
    cb = audit_clip(AuditTask(str(b), AuditOptions(policy=policy)))
    assert time.monotonic() - t0 < 30  # cv2.imread on the FIFO used to block forever
    [fa] = [f for f in ca["findings"] if f["category"] == "runtime"]
    assert (fa["code"], fa["severity"]) == ("runtime.not_a_file", "warn")
    assert "ref.png: reference image is a FIFO" in fa["message"]
    assert ca["verdict"] == "warn" and ca["metrics"]["drift"].get("reference_used") is False
    [fb] = [f for f in cb["findings"] if f["category"] == "runtime"]
    assert (fb["code"], fb["severity"]) == ("runtime.sidecar_invalid", "warn")
    assert "b.mp4.json: sidecar is a FIFO" in fb["message"]


def test_policy_template_and_reference_that_are_not_files_are_usage_errors(tmp_path, render_clip):
    clip = render_clip("c.mp4", seconds=0.5)
    os.mkfifo(tmp_path / "p.toml")
    os.mkfifo(tmp_path / "t.png")
    for flag, name, words in (("--policy", "p.toml", "policy file is a FIFO"),
                              ("--watermark-template", "t.png", "watermark template is a FIFO"),
                              ("--reference", "t.png", "reference image is a FIFO")):
        r = run_cli("check", str(clip), flag, str(tmp_path / name), "--report", str(tmp_path / "r"), timeout=60)
        assert r.returncode == 2, r.stderr
        assert f"{name}: {words}" in r.stderr
    with pytest.raises(ConfigError, match="is a FIFO"):
        load_policy(tmp_path / "p.toml")


def test_image_header_is_checked_before_decoding(tmp_path):
    small = write_png(tmp_path / "small.png", 64, 48)
    assert check_image(small, 50_000_000) == (64, 48)
    bomb = write_png(tmp_path / "bomb.png", 20000, 20000)
    assert bomb.stat().st_size < 2_000_000
    # (over 179 MP Pillow's own guard refuses the header first: the size is then said in MP)
    with pytest.raises(ImageTooLargeError, match=r"bomb.png: image declares 400 MP, over the cap of 50 MP"):
        check_image(bomb, 50_000_000)
    big = write_png(tmp_path / "big.png", 10000, 8000)
    with pytest.raises(ImageTooLargeError, match=r"declares 10000x8000 pixels \(80 MP\), over the cap of 50 MP"):
        check_image(big, 50_000_000)
    assert check_image(big, 80_000_000) == (10000, 8000)  # the cap is the policy's
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ImageUnreadableError, match="notes.png: image cannot be read"):
        check_image(tmp_path / "notes.png", 50_000_000)


# The child's own peak (VmHWM of its address space): ru_maxrss survives execve, so it would
# carry the forking pytest process's RSS in (365 MB once test_jitter had run before).
_MEASURE = """
import json, sys
sys.path.insert(0, {root!r})
from audit.cli import main
rc = main(sys.argv[1:])
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0].split()[1]
print(json.dumps({{"rc": rc, "maxrss_mb": int(hwm) / 1024}}))
"""


def test_decompression_bomb_reference_costs_no_memory(tmp_path, render_clip):
    """A 1.7 MB PNG declaring 20000 x 20000 given as a clip's reference: OpenCV would allocate
    400 MB (806 MB peak measured) to decode it; refused from its header, the whole audit stays
    near its usual ~120 MB."""
    clip = render_clip("c.mp4", seconds=0.5)
    write_png(tmp_path / "bomb.png", 20000, 20000)
    (tmp_path / "c.mp4.json").write_text(json.dumps({"reference": "bomb.png"}))
    out = tmp_path / "r.json"
    p = subprocess.run([sys.executable, "-c", _MEASURE.format(root=str(ROOT)), "check", str(clip), "--jobs", "0",
                        "-q", "--no-history", "--json", str(out), "--report", str(tmp_path / "rep")],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    assert res["rc"] == 0, p.stderr
    assert res["maxrss_mb"] < 350, res
    [c] = json.loads(out.read_text())["clips"]
    [f] = [f for f in c["findings"] if f["category"] == "runtime"]
    assert (f["code"], f["severity"]) == ("runtime.image_too_large", "warn")
    assert "bomb.png: reference image declares 400 MP, over the cap of 50 MP" in f["message"]
    # given on the command line, the same image is refused before any clip (exit 2)
    r = run_cli("check", str(clip), "--reference", str(tmp_path / "bomb.png"), "--report", str(tmp_path / "r2"))
    assert r.returncode == 2 and "over the cap of 50 MP" in r.stderr
    r = run_cli("check", str(clip), "--watermark-template", str(tmp_path / "bomb.png"), "--report", str(tmp_path / "r3"))
    assert r.returncode == 2 and "watermark template declares 400 MP" in r.stderr


def test_template_loader_refuses_a_bomb_itself(tmp_path):
    try:  # the watermark modules move into a package (audit/watermark/) on another branch
        from audit.watermark.match import TemplateError, load_template
    except ImportError:
        from audit.watermark_match import TemplateError, load_template

    with pytest.raises(TemplateError, match="over the cap"):
        load_template(write_png(tmp_path / "bomb.png", 20000, 20000))


def test_provenance_and_trust_files_that_are_not_files(tmp_path, render_clip):
    kinds = hostile_paths(tmp_path / "h")
    t0 = time.monotonic()
    out = tmp_path / "p.json"
    r = run_cli("provenance", str(tmp_path / "h"), "--json", str(out), timeout=60)
    assert r.returncode == 3, r.stdout + r.stderr  # could not be read; nothing hangs on the FIFO
    items = {Path(i["path"]).name: i["provenance"] for i in json.loads(out.read_text())["items"]}
    for name in ("fifo.mp4", "sock.mp4", "loop.mp4", "zero.mp4", "dangling.mp4"):
        assert items[name]["status"] == "error" and f"is {kinds[name]}, not a regular file" in items[name]["note"]
    clip = render_clip("c.mp4", seconds=0.5)
    r = run_cli("provenance", str(clip), "--fragment", str(tmp_path / "h" / "fifo.mp4"), timeout=60)
    assert r.returncode == 3 and "fifo.mp4: is a FIFO" in r.stdout.replace("\n", " ")
    r = run_cli("provenance", str(clip), "--trust-anchors", str(tmp_path / "h" / "fifo.mp4"), timeout=60)
    assert r.returncode == 2 and "trust anchors file is a FIFO" in r.stderr
    assert time.monotonic() - t0 < 60
