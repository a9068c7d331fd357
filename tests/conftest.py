"""Shared test helpers. Clips are rendered small (tens of KB) into pytest's tmp folders."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_HISTORY_DIR = Path(tempfile.mkdtemp(prefix="sora-audit-test-history-"))
atexit.register(shutil.rmtree, _HISTORY_DIR, True)
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def render_clip(tmp_path):
    """render_clip(name, **ClipSpec fields) -> Path of a rendered MP4 in tmp_path."""
    from audit.synth import ClipSpec, render

    def _render(name: str = "clip.mp4", reference=None, **kw) -> Path:
        out = tmp_path / name
        render(ClipSpec(**kw), out, reference=reference)
        return out

    return _render


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    """Run ``sora-audit`` as a subprocess (the real entry point) and return CompletedProcess."""
    e = dict(os.environ)
    # Each call stores its run in a history database of its own, not in the checkout's
    # reports/: runs of one test do not see each other's clips unless the test passes --db.
    e.setdefault("SORA_AUDIT_DB", str(_HISTORY_DIR / f"{uuid.uuid4().hex}.sqlite"))
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "audit", *args], cwd=cwd or ROOT, env=e, capture_output=True, text=True,
        timeout=timeout,
    )
