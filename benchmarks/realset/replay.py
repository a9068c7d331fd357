#!/usr/bin/env python3
"""Drift and jitter replayed from recorded point tracks: a design experiment in seconds instead
of an hour of audits (run by hand, not part of the test run).

    python benchmarks/realset/replay.py record --root /tmp/realset --out /tmp/tracks [--sets clean,drift-16px]
    python benchmarks/realset/replay.py record --root /tmp/realset --crf 28 --out /tmp/tracks  # re-encode line
    python benchmarks/realset/replay.py score --tracks /tmp/tracks

``record`` audits each clip of the clean set (``clean``) and of the injected sets under
``<root>/injected`` with only the detectors the tracks need (shots, camera, drift) and keeps
every step of the shared point tracker (``audit.quality.tracks.TrackStep``) and the clip's
shots, one pickle per clip (``<set>__<clip>.pkl``; kept between runs). With ``--crf N`` it
records the CRF-N copies that ``benchmarks/reencode.py`` wrote under ``<root>/crfN/<set>/``
instead, as the sets ``crfN_<set>``.

``score`` feeds those steps to the project's own ``DriftDetector`` and ``JitterDetector`` (their
``frame_tracks`` replaced by the recording; everything else is the code under ``audit/``) and
prints, for drift and jitter: the clean clips' distribution and fail/warn counts at the policy's
levels, per injected set the fail and warn-or-fail rates, Spearman(amplitude, score) per base
clip and the AUC of clean against the 8 px set; how many clips of each set got no score at all
(an unscored injected clip is a miss); the fail rates at the level that lets at most one clean
clip fail (so variants compare without recalibrating the policy first); and, when ``crfN_``
sets are recorded, the share of clips whose score moves within 10 % from CRF 18 to CRF N
(``benchmarks/reencode.py``'s line, in seconds). The numbers are the ones
``benchmarks/real_footage.py`` gets from full audits as long as the tracker itself is unchanged
(change it, and record again).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

METRICS = ("drift", "jitter")


def _record_one(job: tuple[str, str]) -> str:
    src, out = job
    from audit import pipeline
    from audit.detectors import registry
    from audit.pipeline import AuditTask, audit_clip
    from audit.quality import drift as D
    from audit.quality.tracks import frame_tracks

    steps: list = []
    shots: list = []
    feed, finish = D.DriftDetector.feed, D.DriftDetector.finish

    def rec_feed(self, frame):
        s = frame_tracks(self.ctx, frame)
        if s is not None:
            steps.append((s, frame.width, frame.scale))
        return feed(self, frame)

    def rec_finish(self):
        shots.extend(self.ctx.shared.get("shots") or [])
        return finish(self)

    D.DriftDetector.feed, D.DriftDetector.finish = rec_feed, rec_finish
    pipeline.registry = lambda: [c for c in registry() if c.name in {"shots", "camera", "drift"}]
    try:
        audit_clip(AuditTask(src))
    finally:
        D.DriftDetector.feed, D.DriftDetector.finish = feed, finish
        pipeline.registry = registry
    part = Path(out).with_suffix(".part")
    part.write_bytes(pickle.dumps({"steps": steps, "shots": shots}))
    part.replace(out)
    return out


def record(root: Path, out: Path, sets: list[str] | None, jobs: int, crf: int | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    todo = []
    if crf is None:
        folders = {"clean": root / "clips"} | {p.name: p for p in sorted((root / "injected").glob("*")) if p.is_dir()}
    else:
        folders = {f"crf{crf}_{p.name}": p for p in sorted((root / f"crf{crf}").glob("*")) if p.is_dir()}
        sets = [f"crf{crf}_{x}" for x in sets] if sets else None
    for name, folder in folders.items():
        if sets and name not in sets:
            continue
        for clip in sorted(folder.glob("*.mp4")):
            dst = out / f"{name}__{clip.stem}.pkl"
            if not dst.exists():
                todo.append((str(clip), str(dst)))
    print(f"recording the tracks of {len(todo)} clips, {jobs} processes", file=sys.stderr)
    with ProcessPoolExecutor(jobs) as pool:
        for i, _ in enumerate(pool.map(_record_one, todo), 1):
            if i % 10 == 0 or i == len(todo):
                print(f"  {i}/{len(todo)}", file=sys.stderr)


def replay(path: Path) -> dict[str, float | None]:
    """drift and jitter scores of one recorded clip, from the project's own detectors."""
    from audit.policy import load_policy
    from audit.quality import drift as D
    from audit.quality import jitter as J

    rec = pickle.loads(path.read_bytes())
    ctx = SimpleNamespace(policy=load_policy(), shared={"shots": rec["shots"]}, reference=None)
    saved = D.frame_tracks, J.frame_tracks, D.small_gray
    D.frame_tracks = J.frame_tracks = lambda ctx, frame: frame.step
    D.small_gray = lambda frame, side: None   # only the reference check reads pixels (none here)
    try:
        dets = [D.DriftDetector(ctx), J.JitterDetector(ctx)]
        for step, width, scale in rec["steps"]:
            frame = SimpleNamespace(step=step, width=width, scale=scale, t=step.t, index=step.index)
            for d in dets:
                d.feed(frame)
        return {m: d.finish().data["score"] for m, d in zip(METRICS, dets)}
    finally:
        D.frame_tracks, J.frame_tracks, D.small_gray = saved


def score(tracks: Path) -> None:
    from audit.policy import load_policy
    from real_footage import auc, spearman

    pol = load_policy()
    scores: dict[str, dict[str, dict]] = {}
    for p in sorted(tracks.glob("*.pkl")):
        name, clip = p.stem.split("__", 1)
        scores.setdefault(name, {})[clip] = replay(p)
    clean = scores.get("clean", {})
    for m in METRICS:
        warn, fail = pol.get(m, "warn"), pol.get(m, "fail")
        cs = [v[m] for v in clean.values() if v[m] is not None]
        print(f"\n== {m} (warn {warn:g}, fail {fail:g})")
        if cs:
            q = statistics.quantiles(cs, n=20, method="inclusive")
            print(f"clean: {len(cs)} scored of {len(clean)}, median {statistics.median(cs):.2f}, p85 {q[16]:.2f}, "
                  f"p95 {q[18]:.2f}, max {max(cs):.2f}; fail {sum(x >= fail for x in cs)}, "
                  f"warn (not fail) {sum(warn <= x < fail for x in cs)}")
            top = sorted(((v[m], c) for c, v in clean.items() if v[m] is not None), reverse=True)[:4]
            print("  highest: " + ", ".join(f"{c} {x:.2f}" for x, c in top))
        sets = sorted((s for s in scores if s.startswith(m + "-")), key=lambda s: float(s.split("-")[1][:-2]))
        # the level that lets at most one clean clip fail: variants compare before recalibrating
        one = sorted(cs)[-2] * (1 + 1e-9) if len(cs) >= 2 else None
        for s in sets:
            v = [x[m] for x in scores[s].values()]
            n = len(v)
            at_one = f", at {one:.2f} {sum(x is not None and x >= one for x in v)}/{n}" if one is not None else ""
            print(f"{s:12s} fail {sum(x is not None and x >= fail for x in v)}/{n}, "
                  f"warn or fail {sum(x is not None and x >= warn for x in v)}/{n}, "
                  f"unscored {sum(x is None for x in v)}{at_one}")
        rhos = []
        for c in clean:
            amps = [0.0] + [float(s.split("-")[1][:-2]) for s in sets if c in scores[s]]
            vals = [clean[c][m]] + [scores[s][c][m] for s in sets if c in scores[s]]
            if len(vals) >= 3 and all(x is not None for x in vals) and len(set(vals)) > 1:
                rhos.append(spearman(amps, vals))
        if rhos:
            print(f"Spearman per base clip: {len(rhos)} clips, median {statistics.median(rhos):.2f}, "
                  f">= 0.9 on {sum(r >= 0.9 for r in rhos)}")
        eight = scores.get(f"{m}-8px", {})
        pos = [v[m] for v in eight.values() if v[m] is not None]
        if cs and pos:
            print(f"AUC clean vs {m}-8px: {auc(cs, pos):.3f}")
        for s in sorted(x for x in scores if x.startswith("crf") and x.split("_", 1)[1].startswith(m + "-")):
            base = scores.get(s.split("_", 1)[1], {})
            ch = [(v[m] - base[c][m]) / base[c][m] for c, v in scores[s].items()
                  if c in base and base[c][m] and v[m] is not None]
            if ch:
                print(f"re-encode {s}: within 10 % on {sum(abs(x) <= 0.1 for x in ch)}/{len(ch)} scored "
                      f"(of {len(scores[s])}), median change {statistics.median(ch):+.1%}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--root", type=Path, default=Path("/tmp/realset"))
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--sets", default="", help="only these sets (clean, drift-16px, ...)")
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--crf", type=int, default=None, help="record <root>/crfN/<set>/ (benchmarks/reencode.py's copies)")
    s = sub.add_parser("score")
    s.add_argument("--tracks", type=Path, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "record":
        record(a.root, a.out, [x for x in a.sets.split(",") if x] or None, a.jobs, a.crf)
    else:
        score(a.tracks)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
