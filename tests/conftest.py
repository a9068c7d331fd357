"""Shared test helpers. Clips are rendered small (tens of KB) into pytest's tmp folders.

Two guards run around every session and test, so that no test can forget them:
- tests write only under pytest's tmp folders: a file that appears in (or changes under) the
  checkout during the session is an error at the end of it (``_checkout_untouched``);
- every results document a test produces (results.json, ``--json FILE``, a webhook's report)
  is validated against the JSON Schema of the contract (``_results_follow_the_schema``).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
# TEST-ONLY trust lists shaped like the public ones (fixtures/trust/README.md)
TRUST_LISTS = FIXTURES / "trust"


@pytest.fixture
def render_clip(tmp_path):
    """render_clip(name, **ClipSpec fields) -> Path of a rendered MP4 in tmp_path."""
    from audit.synth import ClipSpec, render

    def _render(name: str = "clip.mp4", reference=None, **kw) -> Path:
        out = tmp_path / name
        render(ClipSpec(**kw), out, reference=reference)
        return out

    return _render


def write_frames(path, frames, fps: int = 10, pts=None, crf: int = 18) -> str:
    """H.264 clip (yuv420p) of BGR ``frames`` at ``fps``; ``pts`` (in frames) may skip values:
    dropped frames. Returns the path as a string."""
    from fractions import Fraction

    import av
    import numpy as np

    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=fps)
    s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
    s.time_base = Fraction(1, fps)
    s.options = {"crf": str(crf)}
    for i, img in enumerate(frames):
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
        vf.pts = pts[i] if pts is not None else i
        vf.time_base = Fraction(1, fps)
        for p in s.encode(vf):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    return str(path)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    """Run ``sora-audit`` as a subprocess (the real entry point) and return CompletedProcess."""
    e = dict(os.environ)
    # Each call stores its run in a history database of its own, not in the checkout's
    # reports/: runs of one test do not see each other's clips unless the test passes --db.
    assert _SESSION_DIRS, "run_cli before the session fixture set up its folders"
    e["SORA_AUDIT_DB"] = str(_SESSION_DIRS["history"] / f"{uuid.uuid4().hex}.sqlite")
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "audit", *args], cwd=cwd or ROOT, env=e, capture_output=True, text=True,
        timeout=timeout,
    )


# --- session guards -------------------------------------------------------------------------------

_SESSION_DIRS: dict[str, Path] = {}
# Left alone by the checkout guard: tooling caches and the install, not test output.
_NOT_WATCHED = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", "build", "dist"}


def _checkout_files() -> dict[str, tuple[int, int]]:
    """Every file of the checkout (relative path -> size, mtime), tooling folders aside."""
    out = {}
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in _NOT_WATCHED and not x.endswith(".egg-info")]
        for f in files:
            p = Path(d, f)
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            out[p.relative_to(ROOT).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture(scope="session", autouse=True)
def _checkout_untouched(tmp_path_factory):
    """Tests write only under tmp folders: fail the session if the checkout gained or changed a
    file. Also gives in-process and subprocess runs a history database and an empty trust cache
    of the session's own (never reports/history.sqlite, never the user's ~/.cache)."""
    _SESSION_DIRS["history"] = tmp_path_factory.mktemp("history")
    trust_cache = tmp_path_factory.mktemp("trust-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("SORA_AUDIT_DB", str(_SESSION_DIRS["history"] / "in-process.sqlite"))
    mp.setenv("SORA_AUDIT_TRUST_DIR", str(trust_cache))
    before = _checkout_files()
    yield
    mp.undo()
    after = _checkout_files()
    changed = sorted(p for p, st in after.items() if before.get(p) != st)
    assert not changed, f"tests wrote into the checkout (write under tmp_path instead): {changed[:20]}"


def is_results_document(doc) -> bool:
    """A run's results (the contract), as opposed to other JSON the CLI writes (compare, trend...)."""
    return isinstance(doc, dict) and doc.get("tool") == "sora-audit" and "clips" in doc


_VALIDATOR = None
_SEEN_JSON: dict[Path, tuple[int, int]] = {}
_VALIDATED: list[Path] = []


def validate_results(doc) -> None:
    """Raise jsonschema.ValidationError unless ``doc`` follows audit/schema/results.schema.json."""
    global _VALIDATOR
    if _VALIDATOR is None:
        import jsonschema

        from audit.contract import schema_path

        schema = json.loads(schema_path().read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        _VALIDATOR = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    _VALIDATOR.validate(doc)


def validate_results_under(folder: Path) -> list[Path]:
    """Validate every results document under ``folder`` written or changed since the last call;
    return those validated."""
    done = []
    for d, dirs, files in os.walk(folder):
        dirs.sort()
        for f in sorted(files):
            if not f.endswith(".json"):
                continue
            p = Path(d, f)
            try:
                st = p.stat()
                if not stat.S_ISREG(st.st_mode):
                    continue  # a hostile test input (a FIFO named x.json): reading it would block
                key = (st.st_size, st.st_mtime_ns)
                if _SEEN_JSON.get(p) == key:
                    continue
                _SEEN_JSON[p] = key
                doc = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # not JSON (a test's broken input) or gone: not a results document
            if is_results_document(doc):
                try:
                    validate_results(doc)
                except Exception as e:
                    raise AssertionError(f"{p} does not follow the results schema: {e}") from None
                done.append(p)
    _VALIDATED.extend(done)
    return done


@pytest.fixture(autouse=True)
def _results_follow_the_schema(tmp_path_factory):
    """After each test, every results document written in the session's tmp folders so far
    (the test's own and its module/session fixtures') is validated against the schema."""
    yield
    validate_results_under(tmp_path_factory.getbasetemp())


def pytest_terminal_summary(terminalreporter):
    """Say how many results documents the schema guard validated (0 would mean it saw none)."""
    if _SEEN_JSON:
        terminalreporter.write_line(f"results documents validated against the schema: {len(_VALIDATED)}")
