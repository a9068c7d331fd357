#!/usr/bin/env python3
"""Our shot boundaries against PySceneDetect's on the real development set (run by hand):

    python benchmarks/shots_vs_scenedetect.py [--root /tmp/realset] [--limit N]

PySceneDetect is not a dependency of the package (it needs the GUI OpenCV build); it only has
to be importable here (``pip install scenedetect`` without its opencv-python, beside our
opencv-python-headless). For each clip of ``<root>/clips/index.json`` it prints the frames where
a new shot starts by PySceneDetect's ``AdaptiveDetector`` (defaults) and ``ContentDetector``,
by ours (``audit.quality.shots``: cuts, fades, dissolves), and the labels listed in
clips.toml; then how many of our boundaries match AdaptiveDetector's and the labels within one
frame (a fade or dissolve label is a range [first, last]).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def ours(path: str) -> list[tuple[int, str]]:
    from audit.media import open_clip
    from audit.pipeline import AuditContext, AuditOptions, _seed_rng
    from audit.quality.shots import ShotDetector

    _seed_rng()
    opts = AuditOptions()
    with open_clip(path) as r:
        ctx = AuditContext(Path(path), r.info, opts.policy, opts, None)
        det = ShotDetector(ctx)
        for f in r.frames(max_side=opts.policy.get("analysis", "max_side")):
            det.feed(f)
    return [(s["start_frame"], s["boundary"]) for s in det.finish().data[1:]]


def theirs(path: str) -> tuple[list[int], list[int]]:
    from scenedetect import AdaptiveDetector, ContentDetector, detect

    a = [s[0].get_frames() for s in detect(path, AdaptiveDetector())[1:]]
    c = [s[0].get_frames() for s in detect(path, ContentDetector())[1:]]
    return a, c


def _both(path: str):
    return ours(path), theirs(path)


def matched(found: list[int], listed: list[tuple[int, int]], tol: int = 1) -> int:
    return sum(any(a - tol <= f <= b + tol for a, b in listed) for f in found)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("/tmp/realset"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    index = json.loads((a.root / "clips" / "index.json").read_text())[: a.limit]
    with ProcessPoolExecutor(a.jobs) as pool:
        results = list(pool.map(_both, [c["file"] for c in index]))
    print(f"{'clip':<22} {'labels':<26} {'adaptive':<22} {'content':<22} ours")
    agree = total_ours = total_adapt = lab_hit_ours = lab_hit_adapt = n_lab = 0
    for c, (mine, (adapt, content)) in zip(index, results):
        labels = [(x, x) for x in c.get("cuts", [])] + [tuple(r) for r in c.get("fades", []) + c.get("dissolves", [])]
        starts = [f for f, _ in mine]
        agree += matched(starts, [(x, x) for x in adapt])
        total_ours += len(starts)
        total_adapt += len(adapt)
        n_lab += len(labels)
        lab_hit_ours += sum(any(lo - 1 <= f <= hi + 1 for f in starts) for lo, hi in labels)
        lab_hit_adapt += sum(any(lo - 1 <= f <= hi + 1 for f in adapt) for lo, hi in labels)
        lab = ",".join(str(x[0]) if x[0] == x[1] else f"{x[0]}-{x[1]}" for x in labels)
        print(f"{c['id']:<22} {lab:<26} {str(adapt):<22} {str(content):<22} "
              + ", ".join(f"{f}{k[0]}" for f, k in mine))
    print(f"\nours {total_ours} boundaries, AdaptiveDetector {total_adapt}; ours within 1 frame of an "
          f"AdaptiveDetector cut: {agree}/{total_ours}")
    print(f"labelled boundaries found within 1 frame: ours {lab_hit_ours}/{n_lab}, AdaptiveDetector {lab_hit_adapt}/{n_lab}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
