"""Flicker: motion-compensated, so motion and slow exposure change are not flicker."""

from __future__ import annotations

import pytest

from audit.pipeline import AuditTask, audit_clip
from audit.synth import CameraSegment

PAN = (CameraSegment("pan_left", 0.0, 2.0, 0.2),)


def _flicker(path):
    r = audit_clip(AuditTask(str(path)))
    return r, r["metrics"]["flicker"]


def test_ladder_is_monotone_on_moving_content(render_clip):
    scores = []
    for amp in (0.0, 0.01, 0.02, 0.04, 0.08):
        _, f = _flicker(render_clip(f"f{amp}.mp4", seed=11, camera=PAN, flicker_amp=amp, seconds=1.5))
        scores.append(f["score"])
    assert scores == sorted(scores), scores
    assert scores[0] < 0.5                 # a clean pan is not flicker
    assert scores[-1] > 4 * max(scores[0], 0.5)


def test_motion_is_not_flicker_but_vbench_says_it_is(render_clip):
    _, static = _flicker(render_clip("static.mp4", seed=12, seconds=1.5))
    _, pan = _flicker(render_clip("pan.mp4", seed=12, camera=(CameraSegment("pan_right", 0, 2, 0.35),), seconds=1.5))
    _, zoom = _flicker(render_clip("zoom.mp4", seed=12, camera=(CameraSegment("zoom_in", 0, 2, 0.25),), seconds=1.5))
    for f in (static, pan, zoom):
        assert f["score"] < 0.5, f["score"]
    # VBench's frame-difference formula cannot tell motion from flicker: it drops on the pan.
    assert pan["vbench_temporal_flickering"] < static["vbench_temporal_flickering"] - 0.01


def test_slow_exposure_ramp_is_not_flicker(render_clip):
    _, f = _flicker(render_clip("ramp.mp4", seed=13, exposure_ramp=0.3, seconds=1.5))
    assert f["score"] < 0.5
    assert f["exposure_change_pct"] > 10  # reported as exposure change instead


@pytest.mark.parametrize("hz", [6.0, None])
def test_flicker_fails_the_gate_with_its_time_range(render_clip, hz):
    r, f = _flicker(render_clip("flk.mp4", seed=14, camera=PAN, flicker_amp=0.06, flicker_hz=hz, seconds=1.5))
    assert f["score"] >= f["threshold"]["fail"]
    codes = {x["code"]: x for x in r["findings"]}
    assert codes["quality.flicker"]["severity"] == "fail"
    t0, t1 = codes["quality.flicker"]["evidence"]["range"]
    assert 0 <= t0 < t1 <= 1.5
    assert r["verdict"] == "fail"
    assert len(f["curve"]["t"]) == len(f["curve"]["v"]) == 35
