"""The artefact injector of the real-footage benchmark (benchmarks/realset/inject.py) and the
shipped real clips (fixtures/real/): the injector must do what its levels say, or every figure
measured with it is wrong."""

from __future__ import annotations

import sys

import av
import numpy as np
import pytest

from conftest import FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "benchmarks" / "realset"))
import inject  # noqa: E402

REAL = FIXTURES / "real"


def _frames(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def test_sign_runs_flip_after_one_to_three_frames():
    signs, runs = inject.sign_runs(300, np.random.default_rng(1))
    assert set(np.unique(signs)) == {-1.0, 1.0}
    change = np.flatnonzero(np.diff(signs)) + 1
    lengths = np.diff(np.r_[0, change])
    assert lengths.min() >= 1 and lengths.max() <= 3
    assert len(set(lengths.tolist())) == 3  # runs of 1, 2 and 3 frames all occur
    assert (np.diff(runs)[np.diff(signs) != 0] == 1).all()


@pytest.mark.parametrize("level", [0.01, 0.08])
def test_global_flicker_scales_luminance_by_one_plus_a_s(level):
    frame = np.full((36, 64, 3), 100, np.uint8)
    inj = inject.make_injector("flicker", level, 30, 36, 64, seed=4)
    means = np.array([inj(i, frame).mean() for i in range(30)])
    assert np.allclose(means / 100.0, 1.0 + level * inj.amplitude / level, atol=0.006)
    again = inject.make_injector("flicker", level, 30, 36, 64, seed=4)
    assert np.array_equal(again.amplitude, inj.amplitude)  # the seed decides everything
    other = inject.make_injector("flicker", level, 30, 36, 64, seed=5)
    assert not np.array_equal(other.amplitude, inj.amplitude)


def test_local_flicker_region_is_a_quarter_of_the_frame():
    mask = inject.soft_region(180, 320, np.random.default_rng(3))
    assert 0.2 < (mask > 0.5).mean() < 0.3 and 0.2 < mask.mean() < 0.3
    assert mask.max() == pytest.approx(1.0, abs=1e-3) and mask.min() < 1e-3
    frame = np.full((180, 320, 3), 120, np.uint8)
    inj = inject.make_injector("local_flicker", 0.08, 10, 180, 320, seed=2)
    out = inj(0, frame).astype(float) / 120.0 - 1.0
    assert np.abs(out).max() == pytest.approx(0.08, abs=0.01)
    assert (np.abs(out[..., 0]) < 0.004).mean() > 0.5  # the feathered edge reaches a little further


def test_warp_field_is_pure_deformation_with_unit_peak():
    h, w = 90, 160
    field = inject.warp_field(h, w, np.random.default_rng(7))
    assert np.sqrt((field ** 2).sum(-1)).max() == pytest.approx(1.0, rel=1e-4)
    yy, xx = np.mgrid[0:h, 0:w]
    basis = np.stack([np.ones(h * w), xx.ravel() / w, yy.ravel() / h], 1)
    coef, *_ = np.linalg.lstsq(basis, field.reshape(-1, 2), rcond=None)
    assert np.abs(coef).max() < 0.05  # no translation, zoom or shear left for a camera model


def test_drift_grows_linearly_to_w_scaled_by_width_and_jitter_switches():
    drift = inject.make_injector("drift", 16.0, 11, 90, 640, seed=1)
    assert drift.amplitude[0] == 0.0 and drift.amplitude[-1] == pytest.approx(16.0 * 640 / 1280)
    assert np.allclose(np.diff(drift.amplitude), drift.amplitude[-1] / 10)
    jitter = inject.make_injector("jitter", 8.0, 60, 90, 640, seed=1)
    assert np.allclose(np.abs(jitter.amplitude), 4.0)
    assert 20 <= (np.diff(np.sign(jitter.amplitude)) != 0).sum() <= 59


def test_injected_real_clip_keeps_frames_and_timing(tmp_path):
    src = REAL / "person_static.mp4"
    out = tmp_path / "flicker.mp4"
    inj = inject.inject_clip(src, out, "flicker", 0.04, seed=3)
    a, b = _frames(src), _frames(out)
    assert len(a) == len(b) == len(inj.amplitude) == 40
    ratio = np.array([y.mean() / x.mean() for x, y in zip(a, b)])
    assert np.corrcoef(ratio, inj.amplitude)[0, 1] > 0.95  # brighter exactly where s = +1
    assert np.abs(ratio - 1 - inj.amplitude).max() < 0.015  # CRF 18 and rounding only
    with av.open(str(src)) as c1, av.open(str(out)) as c2:
        assert c1.streams.video[0].average_rate == c2.streams.video[0].average_rate


@pytest.mark.parametrize("name,frames", [("person_static.mp4", 40), ("pool_handheld.mp4", 120),
                                         ("cut_person_bottles.mp4", 40)])
def test_shipped_real_clips_are_small_real_videos(name, frames):
    p = REAL / name
    assert p.stat().st_size <= 1_000_000
    imgs = _frames(p)
    assert len(imgs) == frames
    assert imgs[0].shape[1] <= 640
    assert (REAL / "SOURCES.md").read_text().count(name) >= 1


def test_real_fixture_flicker_both_ways(tmp_path):
    """On a real tripod clip with a person walking: the clean clip has no flicker finding, the
    same clip with 4 % global flicker fails (issue 20: a >= 4 % must fail on >= 95 % of clips)."""
    from audit.pipeline import AuditTask, audit_clip

    def flicker(path):
        r = audit_clip(AuditTask(str(path)))
        return r["metrics"]["flicker"]["score"], {f["severity"] for f in r["findings"] if f["code"] == "quality.flicker"}

    clean_score, clean_sev = flicker(REAL / "person_static.mp4")
    assert clean_sev == set()
    out = tmp_path / "flicker4.mp4"
    inject.inject_clip(REAL / "person_static.mp4", out, "flicker", 0.04, seed=3)
    score, sev = flicker(out)
    assert sev == {"fail"} and score > 3 * clean_score
