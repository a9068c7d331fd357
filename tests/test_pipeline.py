import json


import audit.media as media
from audit.detectors import Detector, DetectorResult
from audit.findings import QUALITY, WARN, Finding
from audit.pipeline import AuditOptions, AuditTask, audit_clip
from audit.synth import remux

CONTRACT_CLIP_KEYS = {"path", "verdict", "source", "media", "provenance", "watermark", "metrics", "findings"}
CONTRACT_MEDIA_KEYS = {"duration_s", "fps", "width", "height", "frames", "codec", "has_audio"}


def test_one_decode_pass_per_clip_and_contract_fields(render_clip):
    clips = [render_clip(f"c{i}.mp4", seconds=0.5, seed=i) for i in range(3)]
    before = media.DECODE_PASSES
    results = [audit_clip(AuditTask(str(c))) for c in clips]
    assert media.DECODE_PASSES - before == 3
    for r in results:
        assert CONTRACT_CLIP_KEYS <= set(r)
        assert CONTRACT_MEDIA_KEYS <= set(r["media"])
        assert r["media"]["frames"] == 12
        assert {"flicker", "drift", "camera"} <= set(r["metrics"])
        assert len(r["sha256"]) == 64
        json.dumps(r)  # serialisable as is


class _Counting(Detector):
    """A detector that sees every frame once and reports how many it saw."""

    name = "counting"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.n, self.ts = 0, []

    def feed(self, frame):
        self.n += 1
        self.ts.append(frame.t)

    def finish(self):
        ok = all(b > a for a, b in zip(self.ts, self.ts[1:]))
        return DetectorResult({"frames": self.n, "monotonic": ok},
                              (Finding(QUALITY, WARN, "quality.counted", f"{self.n} frames"),))


class _Crashing(Detector):
    name = "crashing"

    def feed(self, frame):
        if frame.index == 3:
            raise RuntimeError("boom")

    def finish(self):  # pragma: no cover - never reached after a crash
        return DetectorResult({"never": True})


def test_detectors_get_every_frame_and_a_crash_costs_one_detector(render_clip, monkeypatch):
    monkeypatch.setattr("audit.pipeline.registry", lambda: [_Counting, _Crashing])
    clip = render_clip(seconds=1.0, fps=20)
    r = audit_clip(AuditTask(str(clip)))
    assert r["metrics"]["counting"] == {"frames": 20, "monotonic": True}
    assert "crashing" not in r["metrics"]
    codes = {f["code"]: f for f in r["findings"]}
    assert "quality.counted" in codes
    crash = codes["runtime.detector_failed"]
    assert crash["evidence"]["detector"] == "crashing" and "boom" in crash["message"]
    assert r["verdict"] == "error"
    assert set(r["timings"]["detectors"]) == {"counting", "crashing"}


class _SideCounting(_Counting):
    name = "side_counting"
    lane = "side"


class _SideCrashing(_Crashing):
    name = "side_crashing"
    lane = "side"


def test_a_lane_on_its_own_thread_gets_every_frame_in_order_and_a_crash_there_costs_one_detector(
        render_clip, monkeypatch):
    import threading

    seen = set()

    class _Where(_Counting):
        name = "where"
        lane = "other"

        def feed(self, frame):
            seen.add(threading.current_thread().name)
            super().feed(frame)

    monkeypatch.setattr("audit.pipeline.registry", lambda: [_Counting, _SideCrashing, _SideCounting, _Where])
    monkeypatch.setattr("audit.pipeline.SIDE_LANES", True)  # as on 3+ cores, whatever this machine has
    clip = render_clip(seconds=1.0, fps=20)
    r = audit_clip(AuditTask(str(clip)))
    for name in ("counting", "side_counting", "where"):
        assert r["metrics"][name] == {"frames": 20, "monotonic": True}
    assert seen == {"sora-audit-other"}  # not the caller's thread
    crash = [f for f in r["findings"] if f["code"] == "runtime.detector_failed"]
    assert len(crash) == 1 and crash[0]["evidence"]["detector"] == "side_crashing"
    assert "boom" in crash[0]["message"] and "RuntimeError" in crash[0]["evidence"]["traceback"]
    assert "side_crashing" not in r["metrics"] and r["verdict"] == "error"
    assert threading.active_count() == 1 or all(not t.name.startswith("sora-audit-")
                                                 for t in threading.enumerate())


def test_parallel_lanes_give_the_same_result_as_one_thread(render_clip, tmp_path, monkeypatch):
    """Every real detector, on a clip with motion, flicker and a cut: lanes change nothing."""
    from audit.policy import load_policy
    from audit.synth import CameraSegment

    monkeypatch.setattr("audit.pipeline.SIDE_LANES", True)  # as on 3+ cores, whatever this machine has

    clip = render_clip(seconds=2.0, camera=(CameraSegment("pan_left", 0, 2, 0.2),), flicker_amp=0.03,
                       warp_amp=6.0, cut_at=1.2)
    pol = tmp_path / "serial.toml"
    pol.write_text("[analysis]\nparallel = false\n")
    par = audit_clip(AuditTask(str(clip)))
    ser = audit_clip(AuditTask(str(clip), AuditOptions(policy=load_policy(pol))))
    for r in (par, ser):
        r.pop("timings")
    # drift has no score on shots this short (under 3 intervals each), but it did its work
    assert par["metrics"]["flicker"]["score"] > 1.0 and par["metrics"]["drift"]["intervals"] > 0
    assert par["metrics"]["jitter"]["score"] is not None
    assert json.dumps(par, sort_keys=True) == json.dumps(ser, sort_keys=True)


def test_single_frame_clip_is_an_error_that_says_why(render_clip):
    clip = render_clip("still.mp4", seconds=0.04, fps=25)
    r = audit_clip(AuditTask(str(clip)))
    assert r["media"]["frames"] == 1
    f = [f for f in r["findings"] if f["code"] == "runtime.too_few_frames"][0]
    assert "still.mp4" in f["message"] and "at least 2" in f["message"]
    assert r["verdict"] == "error"


def test_clip_cut_mid_stream_is_reported_as_truncated(tmp_path, render_clip):
    # 4 s at 12 fps with a keyframe every 2 s, remuxed as fragmented MP4 (one fragment per GOP)
    # and cut at 75 %: the first GOP still decodes, the rest of the clip is gone.
    src = render_clip("src.mp4", seconds=4.0, fps=12, audio=False)
    frag = tmp_path / "frag.mp4"
    remux(src, frag, options={"movflags": "frag_keyframe+empty_moov"})
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(frag.read_bytes()[: int(frag.stat().st_size * 0.75)])
    r = audit_clip(AuditTask(str(cut)))
    f = [f for f in r["findings"] if f["code"] == "runtime.truncated"][0]
    assert "cut.mp4" in f["message"] and f["evidence"]["declared_s"] == 4.0
    assert f["evidence"]["decoded_s"] < 3.0
    assert r["verdict"] == "error"
    assert 0 < r["media"]["frames"] < 48


def test_sidecar_fills_source_and_a_broken_one_is_a_warning(render_clip, tmp_path):
    clip = render_clip("pan.mp4", seconds=0.5)
    (tmp_path / "pan.mp4.json").write_text(json.dumps({"prompt": "pan left", "model": "sora-2", "seconds": "4",
                                                        "reference": "ref.png", "case_id": "c1"}))
    r = audit_clip(AuditTask(str(clip)))
    assert r["source"]["prompt"] == "pan left" and r["source"]["seconds"] == 4.0
    assert r["source"]["reference"] == str(tmp_path / "ref.png")
    (tmp_path / "pan.mp4.json").write_text("{not json")
    r = audit_clip(AuditTask(str(clip)))
    f = [f for f in r["findings"] if f["code"] == "runtime.sidecar_invalid"][0]
    assert "pan.mp4.json" in f["message"] and f["severity"] == "warn"
    assert r["source"] is None


def test_internal_error_becomes_error_verdict(render_clip, monkeypatch):
    def broken(path):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr("audit.pipeline.open_clip", broken)
    r = audit_clip(AuditTask(str(render_clip(seconds=0.3))))
    assert r["verdict"] == "error"
    assert r["findings"][0]["code"] == "runtime.internal_error"
    assert "ZeroDivisionError" in r["findings"][0]["message"]


def test_memory_does_not_depend_on_clip_length(render_clip, monkeypatch):
    """Frames are streamed: a detector sees each frame once and the pipeline keeps none."""
    import gc
    import weakref

    refs = []

    class Watch(Detector):
        name = "watch"

        def feed(self, frame):
            refs.append(weakref.ref(frame.bgr))

        def finish(self):
            gc.collect()
            alive = sum(1 for r in refs if r() is not None)
            return DetectorResult({"alive": alive, "seen": len(refs)})

    monkeypatch.setattr("audit.pipeline.registry", lambda: [Watch])
    r = audit_clip(AuditTask(str(render_clip(seconds=2.0, fps=24))))
    assert r["metrics"]["watch"]["seen"] == 48
    assert r["metrics"]["watch"]["alive"] <= 2
