#!/usr/bin/env python3
"""Cost of the watermark detector inside the decode pass, per analysed frame and per clip frame.

    python benchmarks/bench_watermark.py [--seconds 12] [--size 1280x720] [--repeat 2]

Generates (once, under benchmarks/out/) a clip with our mark at opacity 0.5 and the same clip
without it (H.264, 30 fps, a slow pan), then audits each with only the watermark detector
registered, by template and template-free, and prints from the pipeline's own timings: the
detector's time, ms per analysed frame, ms per clip frame, and that time as a share of the
decode pass of the same run (decode_s). Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"
TEMPLATE = ROOT / "fixtures" / "watermark" / "sa-mark.png"


def make_clip(seconds: float, w: int, h: int, marked: bool) -> Path:
    from audit.synth import CameraSegment, ClipSpec, MarkSpec, render

    p = OUT / f"wm_{'marked' if marked else 'clean'}_{w}x{h}_{seconds:g}s.mp4"
    if not p.exists():
        spec = ClipSpec(width=w, height=h, fps=30, seconds=seconds, seed=11, crf=23, audio=False,
                        camera=(CameraSegment("pan_left", 0, seconds, 0.05),),
                        mark=MarkSpec(opacity=0.5) if marked else None)
        render(spec, p)
    return p


def run(path: Path, templates: tuple[str, ...]) -> dict:
    from audit import pipeline
    from audit.detectors.watermark import WatermarkDetector
    from audit.pipeline import AuditOptions, AuditTask, audit_clip

    with patch.object(pipeline, "registry", lambda: [WatermarkDetector]):
        r = audit_clip(AuditTask(str(path), AuditOptions(watermark_templates=templates)))
    w, t = r["watermark"], r["timings"]
    cost = t["detectors"]["watermark"]
    return {"cost_s": cost, "decode_s": t["decode_s"], "analysed": w["frames_analysed"],
            "frames": r["media"]["frames"], "present": w["present"], "coverage": w["coverage"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"clip: {a.seconds:g} s {w}x{h} 30 fps, pan, mark opacity 0.5 (or none); best of {a.repeat}")
    print(f"{'clip':8} {'method':14} {'present':>7} {'cover':>6} {'analysed':>8} {'frames':>6} "
          f"{'wm s':>7} {'ms/analysed':>11} {'ms/frame':>8} {'decode s':>8} {'wm/decode':>9}")
    for marked in (True, False):
        path = make_clip(a.seconds, w, h, marked)
        for method, tpls in (("template", (str(TEMPLATE),)), ("template_free", ())):
            best = min((run(path, tpls) for _ in range(a.repeat)), key=lambda r: r["cost_s"])
            print(f"{'marked' if marked else 'clean':8} {method:14} {str(best['present']):>7} {best['coverage']:6.3f} "
                  f"{best['analysed']:8d} {best['frames']:6d} {best['cost_s']:7.3f} "
                  f"{1000 * best['cost_s'] / max(1, best['analysed']):11.2f} "
                  f"{1000 * best['cost_s'] / max(1, best['frames']):8.2f} {best['decode_s']:8.3f} "
                  f"{best['cost_s'] / max(1e-9, best['decode_s']):9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
