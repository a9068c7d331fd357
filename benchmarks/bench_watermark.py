#!/usr/bin/env python3
"""Cost of the watermark detector inside the decode pass, per analysed frame and per clip frame.

    python benchmarks/bench_watermark.py [--seconds 12] [--size 1280x720] [--repeat 2]
    python benchmarks/bench_watermark.py --real /tmp/realset/clips [--repeat 2]

Generates (once, under benchmarks/out/) a clip with our mark at opacity 0.5 and the same clip
without it (H.264, 30 fps, a slow pan), then audits each with only the watermark detector
registered (after the shared global-motion estimate, which a full audit computes anyway for
the camera detector), by our template alone, with the shipped Sora mark, by the Sora mark
alone (the default) and template-free, and prints the detector's CPU seconds
(of its own thread), ms per analysed frame, and that as a share of the CPU of a decode-only
pass of the same clip; also the pipeline's wall timings. Best of ``--repeat`` runs (by CPU).

``--real DIR``: instead, every .mp4 under DIR (real footage: the development set
``benchmarks/realset/build.py`` makes, mostly still and hand-held shots, where the search's cost
differs from a pan's), audited by the default (the Sora mark and the template-free search
beside it), by our template alone and template-free alone: the detector's CPU seconds per clip
and in all, and how many clips it flagged.
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


def _detectors():
    """The watermark detector timed in CPU seconds of the thread that runs it (wall time on a
    shared machine is noisy), after a stand-in that computes the shared global motion first,
    as the camera detector (order 20) does in a full audit: that cost is not the watermark's."""
    import time

    from audit.detectors import Detector, DetectorResult
    from audit.watermark.detector import WatermarkDetector
    from audit.quality.motion import frame_motion

    class SharedMotion(Detector):
        name, slot, order = "shared_motion", "shared_motion", 10

        def feed(self, frame):
            frame_motion(self.ctx, frame)

        def finish(self):
            return DetectorResult({}, ())

    class TimedWatermark(WatermarkDetector):
        cpu = 0.0

        def feed(self, frame):
            t = time.thread_time()
            super().feed(frame)
            TimedWatermark.cpu += time.thread_time() - t

        def finish(self):
            t = time.thread_time()
            r = super().finish()
            TimedWatermark.cpu += time.thread_time() - t
            return r

    return SharedMotion, TimedWatermark


def policy(known: bool):
    """The default policy, or with no known mark searched (``[watermark] known = []``)."""
    import copy

    from audit.policy import Policy, load_policy

    pol = load_policy()
    if known:
        return pol
    data = copy.deepcopy(dict(pol.data))
    data["watermark"]["known"] = []
    return Policy(data)


# (row name, templates given, known marks searched): our template alone (as before known marks
# existed), our template plus the shipped Sora mark (the default with a template), the Sora
# mark alone (the default), no template at all (template-free)
METHODS = (("template", True, False), ("template+sora", True, True), ("sora", False, True),
           ("template_free", False, False))


def audited(path: Path, templates: tuple[str, ...], known: bool) -> tuple[float, dict]:
    """The clip audited by the watermark detector alone (after the shared motion): the CPU
    seconds of its thread, and the clip's results."""
    from audit import pipeline
    from audit.pipeline import AuditOptions, AuditTask, audit_clip

    motion, timed = _detectors()
    timed.cpu = 0.0
    with patch.object(pipeline, "registry", lambda: [motion, timed]):
        r = audit_clip(AuditTask(str(path), AuditOptions(policy=policy(known), watermark_templates=templates)))
    return timed.cpu, r


def run(path: Path, templates: tuple[str, ...], known: bool = False) -> dict:
    import time

    from audit import pipeline
    from audit.pipeline import AuditOptions, AuditTask, audit_clip

    cpu, r = audited(path, templates, known)
    w, t = r["watermark"], r["timings"]
    # decode alone (no detector), CPU of the whole process (the decoder's threads included)
    c0 = time.process_time()
    with patch.object(pipeline, "registry", lambda: []):
        d = audit_clip(AuditTask(str(path), AuditOptions()))
    decode_cpu = time.process_time() - c0
    return {"cost_s": t["detectors"]["watermark"], "cpu_s": cpu, "decode_s": d["timings"]["decode_s"],
            "decode_cpu_s": decode_cpu, "analysed": w["frames_analysed"], "frames": r["media"]["frames"],
            "present": w["present"], "coverage": w["coverage"]}


# (column, templates given, known marks searched) of --real
REAL = (("default", False, True), ("template", True, False), ("template_free", False, False))


def real(folder: Path, repeat: int) -> int:
    clips = sorted(folder.rglob("*.mp4"))
    if not clips:
        print(f"{folder}: no .mp4 clip under it (build the set with benchmarks/realset/build.py)")
        return 2
    print(f"{len(clips)} clips under {folder}; CPU s of the watermark detector's thread, best of {repeat}")
    print(f"{'clip':40} " + " ".join(f"{name:>13}" for name, _, _ in REAL))
    total = {name: 0.0 for name, _, _ in REAL}
    flagged = {name: 0 for name, _, _ in REAL}
    for clip in clips:
        row = []
        for name, given, known in REAL:
            runs = [audited(clip, (str(TEMPLATE),) if given else (), known) for _ in range(repeat)]
            cpu, present = min(c for c, _ in runs), runs[0][1]["watermark"]["present"]
            total[name] += cpu
            flagged[name] += bool(present)
            row.append(f"{cpu:12.3f}{'*' if present else ' '}")
        print(f"{clip.name[:40]:40} " + " ".join(row), flush=True)
    print(f"{'total':40} " + " ".join(f"{total[n]:12.2f} " for n, _, _ in REAL))
    print(f"{'flagged (*)':40} " + " ".join(f"{flagged[n]:12d} " for n, _, _ in REAL))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--real", type=Path, metavar="DIR", help="every .mp4 under DIR instead of the generated pan")
    a = ap.parse_args()
    if a.real:
        return real(a.real, a.repeat)
    w, h = (int(v) for v in a.size.split("x"))
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"clip: {a.seconds:g} s {w}x{h} 30 fps, pan, mark opacity 0.5 (or none); best of {a.repeat}")
    print("wm cpu: CPU s of the watermark detector's thread; decode cpu: CPU s of the whole process for a")
    print("decode-only pass of the same clip (decoder threads included); wall: the pipeline's timings.")
    print(f"{'clip':8} {'method':14} {'present':>7} {'cover':>6} {'analysed':>8} {'wm cpu s':>8} "
          f"{'cpu ms/analysed':>15} {'decode cpu s':>12} {'cpu ratio':>9} {'wm wall s':>9} {'decode wall s':>13} "
          f"{'wall ratio':>10}")
    for marked in (True, False):
        path = make_clip(a.seconds, w, h, marked)
        for method, given, known in METHODS:
            tpls = (str(TEMPLATE),) if given else ()
            b = min((run(path, tpls, known) for _ in range(a.repeat)), key=lambda r: r["cpu_s"])
            print(f"{'marked' if marked else 'clean':8} {method:14} {str(b['present']):>7} {b['coverage']:6.3f} "
                  f"{b['analysed']:8d} {b['cpu_s']:8.3f} {1000 * b['cpu_s'] / max(1, b['analysed']):15.2f} "
                  f"{b['decode_cpu_s']:12.3f} {b['cpu_s'] / max(1e-9, b['decode_cpu_s']):9.3f} "
                  f"{b['cost_s']:9.3f} {b['decode_s']:13.3f} {b['cost_s'] / max(1e-9, b['decode_s']):10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
