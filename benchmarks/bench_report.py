#!/usr/bin/env python3
"""HTML report and JUnit at scale: render time and file size for N clips.

    python benchmarks/bench_report.py [--clips 20 200] [--seconds 12] [--fps 30]

Audits one small synthetic clip for real (to get real keyframe thumbnails), then builds N clip
dicts from it with every block filled as the other detectors fill them (flicker, drift and
camera curves, watermark track at the analysis rate, provenance) for a clip of SECONDS at FPS,
and times ``audit.outputs.html.render`` and ``audit.outputs.junit.to_xml``. Prints the figures.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.outputs import html, junit  # noqa: E402
from audit.pipeline import AuditTask, audit_clip  # noqa: E402
from audit.synth import ClipSpec, MarkSpec, render  # noqa: E402


def curve(n: int, fps: float, f) -> dict:
    return {"t": [round(i / fps, 3) for i in range(n)], "v": [round(f(i), 4) for i in range(n)]}


def filled(base: dict, i: int, seconds: float, fps: float) -> dict:
    n = int(seconds * fps)
    c = copy.deepcopy(base)
    c["path"] = f"clips/clip_{i:03d}.mp4"
    c["verdict"] = ("pass", "warn", "fail", "error")[i % 4]
    c["media"]["duration_s"] = seconds
    c["source"] = {"model": ("sora-2", "sora-2-pro")[i % 2], "prompt": "Slow pan left across the harbour " * 3,
                   "seconds": seconds, "size": "1280x720", "case_id": f"case-{i}"}
    c["metrics"]["flicker"] = {"score": 0.2, "threshold": {"warn": 1.0, "fail": 2.0}, "curve": curve(n, fps, lambda k: 0.1)}
    c["metrics"]["drift"] = {"score": 0.3, "threshold": {"warn": 0.5, "fail": 1.0}, "curve": curve(n, fps, lambda k: k / n),
                             "inlier_ratio": curve(n, fps, lambda k: 1 - k / (4 * n))}
    c["metrics"]["camera"] = {"motion": "pan_left", "segments": [{"start_s": 0.0, "end_s": seconds, "motion": "pan_left"}],
                              "expected": [{"start_s": 0.0, "end_s": seconds, "motion": "pan_left"}],
                              "thresholds": {"pan": 0.03, "tilt": 0.03, "zoom": 0.03, "roll": 2.0},
                              "curves": {k: curve(n, fps, lambda j: 0.01) for k in ("pan", "tilt", "zoom", "roll")}}
    c["watermark"] = {"present": True, "coverage": 1.0, "sample_fps": 5.0,
                      "track": [[round(k / 5, 3), 40, 40, 120, 40] for k in range(int(seconds * 5))]}
    c["provenance"] = {"status": "valid", "issuer": "OpenAI", "claim_generator": "Sora",
                       "digital_source_type": "trainedAlgorithmicMedia", "codes": ["signingCredential.untrusted"]}
    c["findings"] = [{"category": "quality", "severity": "warn", "code": "quality.x", "message": "m", "evidence": {}}]
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, nargs="+", default=[20, 200])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--fps", type=float, default=30.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "c.mp4"
        render(ClipSpec(seed=3, seconds=1.0, audio=False, mark=MarkSpec()), p)
        base = audit_clip(AuditTask(str(p)))
    print(f"clip of {a.seconds:g} s at {a.fps:g} fps: {int(a.seconds * a.fps)} points per curve")
    for n in a.clips:
        clips = [filled(base, i, a.seconds, a.fps) for i in range(n)]
        run = {"run_id": "bench", "exit_code": 1, "policy": {"source": "defaults"}, "clips": clips}
        t = time.perf_counter()
        page = html.render(run)
        t_html = time.perf_counter() - t
        t = time.perf_counter()
        xml = junit.to_xml(run)
        t_xml = time.perf_counter() - t
        print(f"{n:5d} clips: index.html {len(page.encode()) / 1e6:6.2f} MB in {t_html:5.2f} s "
              f"({1000 * t_html / n:5.1f} ms/clip); junit {len(xml.encode()) / 1e3:7.1f} KB in {t_xml:5.3f} s")


if __name__ == "__main__":
    main()
