#!/usr/bin/env python3
"""Decode-only throughput against the pipeline with no detectors, on the same clip, in one run.

    python benchmarks/bench_pipeline.py [--seconds 12] [--size 1280x720] [--repeat 3]

Generates a 12 s 1280x720 30 fps H.264 clip (once, under benchmarks/out/), then alternates
decode-only passes (PyAV, every frame decoded, nothing else) with pipeline passes
(``audit_clip`` with an empty detector registry: probe, hash, decode, downscale to the analysis
size, frame objects) and prints the best time of each, their ratio (target >= 0.9) and the
peak RSS of a child process that runs one pipeline pass.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"


def make_clip(seconds: float, w: int, h: int) -> Path:
    from audit.synth import CameraSegment, ClipSpec, render

    p = OUT / f"bench_{w}x{h}_{seconds:g}s.mp4"
    if not p.exists():
        spec = ClipSpec(width=w, height=h, fps=30, seconds=seconds, seed=11, crf=23,
                        camera=(CameraSegment("pan_left", 0, seconds, 0.05),))
        render(spec, p)
    return p


def decode_only(path: Path) -> tuple[float, int]:
    import av

    t = time.perf_counter()
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            n += 1
    return time.perf_counter() - t, n


def pipeline_no_detectors(path: Path) -> tuple[float, int]:
    import audit.pipeline as pl
    from audit.pipeline import AuditTask, audit_clip

    pl.registry = lambda: []
    t = time.perf_counter()
    r = audit_clip(AuditTask(str(path)))
    return time.perf_counter() - t, r["media"]["frames"]


def child_rss(path: Path) -> float:
    """Peak RSS (MB) of a child process that audits ``path`` with no detector, as the child
    reads it itself (VmHWM): ``RUSAGE_CHILDREN``'s ru_maxrss survives execve, so a child forked
    from a large parent would report the parent's size."""
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import audit.pipeline as pl; pl.registry = lambda: []\n"
        "from audit.pipeline import AuditTask, audit_clip; audit_clip(AuditTask(%r))\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    ) % (str(ROOT), str(path))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    OUT.mkdir(parents=True, exist_ok=True)
    clip = make_clip(args.seconds, w, h)
    dec, pipe = [], []
    for _ in range(args.repeat):  # alternate so that machine noise hits both alike
        dec.append(decode_only(clip))
        pipe.append(pipeline_no_detectors(clip))
    d = min(t for t, _ in dec)
    p = min(t for t, _ in pipe)
    frames = dec[0][1]
    assert pipe[0][1] == frames, (pipe[0][1], frames)
    rss = child_rss(clip)
    res = {
        "clip": str(clip.relative_to(ROOT)), "frames": frames,
        "decode_only_s": round(d, 3), "pipeline_no_detectors_s": round(p, 3),
        "decode_fps": round(frames / d, 1), "pipeline_fps": round(frames / p, 1),
        "throughput_ratio_pipeline_over_decode": round(d / p, 3), "target": ">= 0.9",
        "peak_rss_mb_child": round(rss, 1),
    }
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
