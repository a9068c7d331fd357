"""``sora-audit watermark learn``: a template learned from 3 clips carrying a new mark, then
used to find that mark in 10 other clips (and nothing in 10 clips without it)."""

from __future__ import annotations

from unittest.mock import patch

import cv2
import pytest

from audit import pipeline
from audit.pipeline import AuditOptions, AuditTask, audit_clip
from audit.watermark.detector import WatermarkDetector

from conftest import run_cli
from wm_clips import pan_clip, studio_mark


def _audit(path, template):
    with patch.object(pipeline, "registry", lambda: [WatermarkDetector]):
        return audit_clip(AuditTask(str(path), AuditOptions(watermark_templates=(str(template),))))["watermark"]


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    root = tmp_path_factory.mktemp("learn")
    mark = studio_mark()
    train = [pan_clip(root / f"train{i}.mp4", mark, seed=20 + i) for i in range(3)]
    out = root / "learned.png"
    r = run_cli("watermark", "learn", *[c.path for c in train], "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    return root, mark, out, r.stdout


def test_learned_template_is_a_png_with_alpha_of_the_marks_size(learned):
    _, _, out, said = learned
    t = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert t is not None and t.ndim == 3 and t.shape[2] == 4
    h, w = t.shape[:2]
    # the mark is 18 px tall and 47 px wide (its soft shadow included) in the clips
    assert 14 <= h <= 24 and 32 <= w <= 52, (h, w)
    assert t[..., 3].max() > 100 and (t[..., 3] == 0).mean() > 0.2   # opaque strokes, clear gaps
    assert "3 clip(s)" in said


def test_learned_template_finds_the_mark_and_nothing_else(learned):
    root, mark, out, _ = learned
    hits = shown = 0
    for i in range(10):
        c = pan_clip(root / f"test{i}.mp4", mark, seed=40 + i)
        w = _audit(c.path, out)
        assert w["present"] is True and w["mark"] == "learned.png", i
        shown += w["frames_analysed"]
        for t, x, y, bw, bh in w["track"]:
            # found where the mark is: the box's centre within 4 px of the mark's (the learned
            # template leaves out the mark's faint shadow, so its box is a little smaller)
            k = max(j for j, tt in enumerate(c.times) if tt <= t + 1e-6)
            tx, ty, tw, th = c.boxes[k]
            hits += abs(x + bw / 2 - tx - tw / 2) <= 4 and abs(y + bh / 2 - ty - th / 2) <= 4
        clean = pan_clip(root / f"clean{i}.mp4", None, seed=60 + i)
        w = _audit(clean.path, out)
        assert w["present"] is False and w["track"] == [], i
    assert hits / shown >= 0.95, hits / shown


def test_learn_without_an_overlay_says_so(tmp_path):
    clips = [pan_clip(tmp_path / f"c{i}.mp4", None, seed=80 + i, seconds=1.5).path for i in range(2)]
    r = run_cli("watermark", "learn", *clips, "--out", str(tmp_path / "m.png"))
    assert r.returncode == 1 and "no overlay found" in r.stderr and not (tmp_path / "m.png").exists()
    r = run_cli("watermark", "learn", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "m.png"))
    assert r.returncode == 2 and "nope.mp4" in r.stderr
