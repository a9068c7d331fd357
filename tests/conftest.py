"""Shared test helpers. Clips are rendered small (tens of KB) into pytest's tmp folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "audit", *args], cwd=cwd or ROOT, env=e, capture_output=True, text=True,
        timeout=timeout,
    )
