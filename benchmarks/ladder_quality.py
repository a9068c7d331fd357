#!/usr/bin/env python3
"""Ground-truth ladders for the quality metrics, printed as tables (run by hand):

    python benchmarks/ladder_quality.py

- flicker amplitude ladder on a panning clip: our score against VBench's temporal_flickering;
- camera moves without flicker or warp: our flicker and drift stay near zero, VBench drops;
- warp ladder: drift score (and jitter, which a smooth growing warp must not raise).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.pipeline import AuditTask, audit_clip  # noqa: E402
from audit.synth import CameraSegment, ClipSpec, render  # noqa: E402


def audit(spec: ClipSpec, d: Path, name: str) -> dict:
    p = d / f"{name}.mp4"
    render(spec, p)
    return audit_clip(AuditTask(str(p)))


def _num(v) -> str:
    """A score, or '-' when the metric had too little to measure (e.g. shots too short)."""
    return "-" if v is None else f"{v:.3f}"


def main() -> int:
    d = Path(tempfile.mkdtemp())
    pan = (CameraSegment("pan_left", 0, 3, 0.2),)
    print("flicker ladder (pan left 0.2 widths/s, alternate-frame flicker)")
    print(f"{'amplitude':>10} {'ours':>8} {'vbench':>8}")
    for amp in (0.0, 0.005, 0.01, 0.02, 0.04, 0.08):
        r = audit(ClipSpec(seed=11, seconds=2.0, camera=pan, flicker_amp=amp), d, f"f{amp}")
        f = r["metrics"]["flicker"]
        print(f"{amp:>10.3f} {f['score']:>8.3f} {f['vbench_temporal_flickering']:>8.4f}")
    print("\ncamera moves, no flicker, no warp")
    print(f"{'move':>10} {'flicker':>8} {'drift':>8} {'vbench':>8} {'label':>10}")
    moves = [("static", 0.0), ("pan_left", 0.3), ("tilt_up", 0.3), ("zoom_in", 0.3), ("zoom_out", 0.3), ("roll", 12.0)]
    for kind, rate in moves:
        cam = (CameraSegment(kind, 0, 3, rate),) if rate else ()
        r = audit(ClipSpec(seed=12, seconds=2.0, camera=cam), d, kind)
        m = r["metrics"]
        print(f"{kind:>10} {m['flicker']['score']:>8.3f} {_num(m['drift']['score']):>8} "
              f"{m['flicker']['vbench_temporal_flickering']:>8.4f} {m['camera']['motion']:>10}")
    print("\nwarp ladder (peak local displacement at the end, px at 320x180; drift in px at 1280 wide)")
    print(f"{'warp px':>8} {'drift':>8} {'cells':>6} {'jitter':>7}")
    for amp in (0, 2, 4, 8, 14, 20):
        r = audit(ClipSpec(seed=13, seconds=2.0, warp_amp=amp), d, f"w{amp}")
        m = r["metrics"]["drift"]
        print(f"{amp:>8} {_num(m['score']):>8} {m['cells']!s:>6} {_num(r['metrics']['jitter']['score']):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
