"""Flash safety (WCAG 2.3.1 / Ofcom): synthetic flashes just either side of each limit."""

from __future__ import annotations

import numpy as np
import pytest

from audit.pipeline import AuditTask, audit_clip
from audit.quality.flash import _LIN, worst_window
from audit.synth import make_scene
from conftest import write_frames

FPS = 24
W, H = 192, 108


def _srgb(y: float) -> int:
    """The 8-bit sRGB grey whose relative luminance is ``y``."""
    return int(np.argmin(np.abs(_LIN - y)))


def _clip(path, *, per_s: float, area: float, change: float, seconds: float = 2.0,
          red: bool = False, dark: float = 0.20) -> str:
    """A textured picture whose left ``area`` share toggles between two luminances
    ``per_s`` flashes a second (a flash: one change up and one back)."""
    rng = np.random.default_rng(3)
    base = make_scene(W, H, seed=5)
    cols = int(round(area * W))
    half = FPS / (2 * per_s)   # frames between two transitions
    frames = []
    for i in range(int(seconds * FPS)):
        img = base.copy()
        on = int(i // half) % 2 == 1
        if red:
            # saturated red whose luminance changes by only ~0.06 (not a general flash)
            img[:, :cols] = (0, 0, 200 if on else 150)
        else:
            img[:, :cols] = _srgb(dark + (change if on else 0.0))
        frames.append(np.clip(img.astype(np.int16) + rng.integers(-1, 2, img.shape), 0, 255).astype(np.uint8))
    return write_frames(path, frames, fps=FPS, crf=10)


def _flash(path):
    r = audit_clip(AuditTask(path))
    return r["metrics"]["flash"], [f for f in r["findings"] if f["code"] == "quality.flash"]


def test_four_flashes_a_second_over_30_percent_fails_with_its_time_range(tmp_path):
    block, found = _flash(_clip(tmp_path / "f.mp4", per_s=4, area=0.30, change=0.12))
    assert block["max_flashes_per_s"] > 3
    assert 0.25 < block["area"] < 0.4
    (f,) = found
    assert f["severity"] == "fail" and f["evidence"]["kind"] == "general"
    a, b = f["evidence"]["range"]
    assert 0.0 <= a < b <= 2.1 and b - a <= 1.2


@pytest.mark.parametrize("kw", [dict(per_s=2, area=0.30, change=0.12),    # 2 flashes a second
                                dict(per_s=4, area=0.20, change=0.12),    # 20 % of the frame
                                dict(per_s=4, area=0.30, change=0.08)],   # an 8 % change
                         ids=["2_per_s", "20_percent_area", "8_percent_change"])
def test_just_under_each_limit_passes(tmp_path, kw):
    block, found = _flash(_clip(tmp_path / "p.mp4", **kw))
    assert not found, block
    assert block["max_flashes_per_s"] <= 3


def test_the_darker_image_must_be_below_080(tmp_path):
    # 0.82 <-> 0.97: a large change, but between two bright images: not a flash
    block, found = _flash(_clip(tmp_path / "bright.mp4", per_s=4, area=0.30, change=0.15, dark=0.82))
    assert not found and block["max_flashes_per_s"] == 0
    # the same change from 0.70 is
    block, found = _flash(_clip(tmp_path / "dim.mp4", per_s=4, area=0.30, change=0.15, dark=0.70))
    assert found and block["max_flashes_per_s"] > 3


def test_saturated_red_flashes_fail_as_red(tmp_path):
    block, found = _flash(_clip(tmp_path / "r.mp4", per_s=4, area=0.30, change=0.0, red=True))
    assert block["red_flashes_per_s"] > 3
    assert [f["evidence"]["kind"] for f in found] == ["red"]


def test_worst_window_counts_half_open_seconds():
    assert worst_window([0.0, 0.25, 0.5, 0.75, 1.0], 1.0)[0] == 4
    assert worst_window([], 1.0)[0] == 0
