"""What the CLI prints is plain text: file names are neither Rich markup nor terminal escapes."""

from __future__ import annotations

import json
import shutil

from audit.terminal import markup, plain
from conftest import run_cli

TITLE = "\x1b]0;PWNED\x1b\\"   # OSC 0: would retitle the terminal
CLEAR = "\x1b[2J"              # CSI 2 J: would clear it


def test_plain_shows_control_characters_and_markup_escapes_brackets():
    assert plain(f"a{TITLE}b{CLEAR}") == "a\\x1b]0;PWNED\\x1b\\b\\x1b[2J"
    assert plain("tab\there\nnew\x07bell\x9bcsi\u202eevil") == "tab\\x09here\\x0anew\\x07bell\\x9bcsi\\u202eevil"
    assert plain("two\nlines\x1b", multiline=True) == "two\nlines\\x1b"
    assert plain("ok.mp4 [café]") == "ok.mp4 [café]"
    assert markup("[/]x.mp4 [bold]") == "\\[/]x.mp4 \\[bold]"


def test_check_prints_hostile_names_as_text(tmp_path, render_clip):
    good = render_clip("good.mp4", seconds=0.5)
    folder = tmp_path / "clips" / "["
    folder.mkdir(parents=True)
    shutil.copy(good, folder / "]x.mp4")                      # the path reads "[/]x.mp4": a closing tag
    shutil.copy(good, folder / f"t{TITLE}{CLEAR}.mp4")
    (folder / f"bad{CLEAR}[red]not[link=x].mp4").write_text("hello")  # a text file: an error line names it
    out = tmp_path / "r.json"
    junit = tmp_path / "junit.xml"
    r = run_cli("check", str(tmp_path / "clips"), "--json", str(out), "--report", str(tmp_path / "rep"),
                "--no-history", "--junit", str(junit), env={"COLUMNS": "400"})
    text = r.stdout + r.stderr
    assert r.returncode == 3, text  # the text file is an error; the two clips pass
    assert "MarkupError" not in text and "Traceback" not in text
    assert "\x1b" not in text  # no escape sequence reached the terminal
    assert "[/]x.mp4" in r.stdout                          # shown as it is, not taken for markup
    assert "t\\x1b]0;PWNED\\x1b\\\\x1b[2J.mp4" in r.stdout  # shown, not obeyed
    assert "error: " in r.stderr and "bad\\x1b[2J[red]not[link=x].mp4: is a text file" in r.stderr
    clips = json.loads(out.read_text())["clips"]
    assert len(clips) == 3
    # the JUnit file stays well-formed XML (XML 1.0 cannot hold ESC): the name is shown escaped
    import xml.etree.ElementTree as ET

    names = {tc.get("name") for tc in ET.parse(junit).getroot().iter("testcase")}
    assert any(n.endswith("t\\x1b]0;PWNED\\x1b\\\\x1b[2J.mp4") for n in names), names
    assert any(c["path"].endswith(f"t{TITLE}{CLEAR}.mp4") for c in clips)  # the JSON keeps the real name


def test_provenance_prints_hostile_names_as_text(tmp_path, render_clip):
    good = render_clip("good.mp4", seconds=0.5)
    named = tmp_path / f"[bold]{CLEAR}[link=x].mp4"
    shutil.copy(good, named)
    r = run_cli("provenance", str(named), env={"COLUMNS": "400"})
    assert "\x1b" not in r.stdout + r.stderr and "Traceback" not in r.stderr
    assert "[bold]\\x1b[2J[link=x].mp4" in r.stdout
