#!/usr/bin/env python3
"""The real-footage table of issues 20 and 21 (run by hand, not part of the test run):

    python benchmarks/realset/build.py --mirror /work/.mirror --out /tmp/realset   # the clean set
    python benchmarks/realset/make_injected.py --out /tmp/realset                  # the injected sets
    python benchmarks/real_footage.py --root /tmp/realset [--kinds clean,flicker,drift] [--limit N]

Audits the clean development set and whatever injected sets exist with the project's own
``audit.pipeline.audit_clip`` (a process pool of ``--jobs``, 2 by default), then prints:

- per clean clip: verdict, quality findings, metrics.flicker.score, metrics.drift.score and, when
  the metrics exist, metrics.jitter.score, metrics.flash and the number of metrics.shots
  ("-" while a metric does not exist);
- the "Done when" lines: share of clean clips with a flicker/flash/shot fail and with a
  drift/jitter fail or warn; per injected kind and level the fail (and warn-or-fail) rate; per
  base clip Spearman(amplitude, score) (median, min) for global flicker, drift and jitter; AUC
  clean vs flicker 2 % and clean vs drift 8 px (and jitter 8 px); for clips with listed cuts,
  whether shot boundaries match them within 1 frame and whether a flicker/drift finding sits at
  a cut, fade or dissolve.

Results are cached per (clip sha256, hash of the audit package's files) under ``<root>/cache``,
so a second run after no code change costs nothing; --no-cache audits again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "realset"))
from inject import KINDS, LEVELS, level_name  # noqa: E402

CODE = {"flicker": "quality.flicker", "local_flicker": "quality.flicker", "drift": "quality.drift",
        "jitter": "quality.jitter"}
SCORE = {"flicker": "flicker", "local_flicker": "flicker", "drift": "drift", "jitter": "jitter"}
SHOT_WORDS = ("shot", "cut")  # quality.* codes about shots (today: quality.cut)


# --- auditing (in worker processes) ---------------------------------------------------------


def _time_range(ev: dict) -> tuple[float, float] | None:
    """A finding's time range in seconds from its evidence, whatever the detector calls it."""
    for k in ("range", "range_s", "time_range"):
        r = ev.get(k)
        if isinstance(r, (list, tuple)) and len(r) == 2 and all(isinstance(x, (int, float)) for x in r):
            return float(r[0]), float(r[1])
    if isinstance(ev.get("start_s"), (int, float)) and isinstance(ev.get("end_s"), (int, float)):
        return float(ev["start_s"]), float(ev["end_s"])
    for k in ("at_s", "t"):
        if isinstance(ev.get(k), (int, float)):
            return float(ev[k]), float(ev[k])
    return None


def slim(result: dict) -> dict:
    """What the table needs from one clip's JSON contract (small enough to cache)."""
    m = result.get("metrics") or {}
    findings = []
    for f in result.get("findings", []):
        findings.append({"code": f["code"], "severity": f["severity"],
                         "range": _time_range(f.get("evidence") or {})})
    tech = m.get("technical") or {}
    return {
        "verdict": result.get("verdict"),
        "findings": findings,
        "flicker": (m.get("flicker") or {}).get("score"),
        "drift": (m.get("drift") or {}).get("score"),
        "jitter": (m.get("jitter") or {}).get("score") if isinstance(m.get("jitter"), dict) else None,
        "flash": m.get("flash"),
        "shots": m.get("shots"),
        "technical_cuts": [c.get("t") for c in tech.get("cuts", []) if isinstance(c, dict)],
        "total_s": (result.get("timings") or {}).get("total_s"),
    }


def audit_one(path: str) -> dict:
    from audit.pipeline import AuditTask, audit_clip
    try:
        return slim(audit_clip(AuditTask(path)))
    except Exception as e:  # one clip must not stop the table
        return {"verdict": "harness_error", "error": f"{type(e).__name__}: {e}", "findings": []}


# --- cache and inputs -------------------------------------------------------------------------


def package_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((ROOT / "audit").rglob("*")):
        if p.suffix in (".py", ".toml") and p.is_file():
            h.update(str(p.relative_to(ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frame_times(path: Path) -> list[float]:
    """Presentation times (s from the first frame) of every frame, from the packets alone."""
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        pts = sorted(p.pts for p in c.demux(st) if p.pts is not None)
        tb = float(st.time_base)
    return [(p - pts[0]) * tb for p in pts] if pts else []


def audit_all(paths: list[Path], cache: Path | None, jobs: int) -> dict[Path, dict]:
    out: dict[Path, dict] = {}
    todo: list[tuple[Path, Path | None]] = []
    for p in paths:
        c = cache / f"{file_sha(p)}.json" if cache else None
        if c and c.exists():
            out[p] = json.loads(c.read_text())
        else:
            todo.append((p, c))
    if todo:
        print(f"auditing {len(todo)} clips ({len(paths) - len(todo)} cached), {jobs} processes", file=sys.stderr)
        with ProcessPoolExecutor(jobs) as pool:
            for i, ((p, c), r) in enumerate(zip(todo, pool.map(audit_one, [str(p) for p, _ in todo])), 1):
                out[p] = r
                if c and r.get("verdict") != "harness_error":
                    c.parent.mkdir(parents=True, exist_ok=True)
                    c.write_text(json.dumps(r))
                if i % 10 == 0 or i == len(todo):
                    print(f"  {i}/{len(todo)}", file=sys.stderr)
    return out


# --- measures ---------------------------------------------------------------------------------


def has(rec: dict, code: str, severities: tuple[str, ...] = ("fail",)) -> bool:
    return any(f["code"] == code and f["severity"] in severities for f in rec.get("findings", []))


def has_shot_fail(rec: dict) -> bool:
    return any(f["code"].startswith("quality.") and any(w in f["code"] for w in SHOT_WORDS)
               and f["severity"] == "fail" for f in rec.get("findings", []))


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rho (average ranks for ties); nan when either side is constant."""
    def ranks(v):
        v = np.asarray(v, float)
        order = v.argsort(kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for u in np.unique(v):  # ties share their mean rank
            r[v == u] = r[v == u].mean()
        return r
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def auc(neg: list[float], pos: list[float]) -> float:
    """P(positive score > negative score) + half the ties: the Mann-Whitney AUC."""
    if len(neg) == 0 or len(pos) == 0:
        return math.nan
    n, p = np.asarray(neg, float)[:, None], np.asarray(pos, float)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def shot_starts(shots: Any, times: list[float]) -> list[int] | None:
    """First frame of every shot after the first, from metrics.shots in whichever form it comes
    (a list of shots, or a dict holding one; start as a frame index or in seconds)."""
    if shots is None:
        return None
    if isinstance(shots, dict):
        shots = shots.get("shots") or shots.get("list") or []
    starts = []
    for s in shots[1:] if isinstance(shots, list) else []:
        if not isinstance(s, dict):
            continue
        for k in ("start_frame", "first_frame", "start_index"):
            if isinstance(s.get(k), int):
                starts.append(s[k])
                break
        else:
            t = s.get("start_s", s.get("start"))
            if isinstance(t, int) and not isinstance(t, bool) and "start_s" not in s:
                starts.append(t)
            elif isinstance(t, (int, float)) and times:
                starts.append(int(np.argmin(np.abs(np.asarray(times) - float(t)))))
    return starts


def expected_boundaries(clip: dict) -> list[tuple[int, int]]:
    """Listed boundaries as frame ranges: a cut at c is (c, c); a fade or dissolve (a, b)."""
    return [(c, c) for c in clip.get("cuts", [])] + [tuple(r) for r in clip.get("fades", []) + clip.get("dissolves", [])]


def match_boundaries(listed: list[tuple[int, int]], found: list[int], tol: int = 1) -> tuple[int, int]:
    """(listed boundaries matched by a found one within ``tol`` frames, found ones matching none)."""
    hit = sum(any(a - tol <= f <= b + tol for f in found) for a, b in listed)
    extra = sum(not any(a - tol <= f <= b + tol for a, b in listed) for f in found)
    return hit, extra


def findings_at_boundaries(rec: dict, listed: list[tuple[int, int]], times: list[float]) -> list[str]:
    """Flicker/drift/jitter findings whose time range touches a listed cut, fade or dissolve."""
    if not times:
        return []
    dt = (times[-1] / max(len(times) - 1, 1)) if len(times) > 1 else 0.04
    spans = [(times[min(a, len(times) - 1)] - dt, times[min(b, len(times) - 1)] + dt) for a, b in listed]
    out = []
    for f in rec.get("findings", []):
        if f["code"] in ("quality.flicker", "quality.drift", "quality.jitter") and f.get("range"):
            s, e = f["range"]
            if s == e:  # a point (the peak): within a quarter second of the boundary
                s, e = s - 0.25, e + 0.25
            if any(s <= hi and e >= lo for lo, hi in spans):
                out.append(f"{f['code'].split('.')[1]}@{f['range'][0]:.2f}")
    return out


# --- printing ---------------------------------------------------------------------------------


def fmt(v: Any, nd: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.{nd}f}"
    return str(v)


def flash_cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, dict):
        for k in ("score", "max_flashes_per_s", "count"):
            if isinstance(v.get(k), (int, float)):
                return fmt(float(v[k]))
        return "yes"
    return fmt(v)


def pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f} %)" if n else "-"


def print_clean(clean: list[dict], recs: dict[str, dict]) -> None:
    print(f"{'clip':<24} {'verdict':<7} {'flicker':>7} {'drift':>7} {'jitter':>6} {'flash':>5} {'shots':>5}  quality findings")
    for c in clean:
        r = recs[c["id"]]
        q = [f"{f['code'].split('.', 1)[1]}:{f['severity'][0]}" for f in r.get("findings", [])
             if f["code"].startswith("quality.")]
        shots = r.get("shots")
        n_shots = "-" if shots is None else str(len(shots if isinstance(shots, list) else shots.get("shots", [])))
        print(f"{c['id']:<24} {r.get('verdict', '?'):<7} {fmt(r.get('flicker')):>7} {fmt(r.get('drift')):>7} "
              f"{fmt(r.get('jitter')):>6} {flash_cell(r.get('flash')):>5} {n_shots:>5}  {' '.join(q) or '-'}"
              + (f"  [{r['error']}]" if r.get("error") else ""))


def summary(clean: list[dict], recs: dict[str, dict], inj: dict[tuple[str, float], dict[str, dict]],
            times: dict[str, list[float]]) -> None:
    n = len(clean)
    R = [recs[c["id"]] for c in clean]
    print("\n== clean clips (issue 20: <= 1 in 20 with a flicker/flash/shot fail; issue 21: drift/jitter fail <= 1 in 20, warn <= 1 in 5)")
    print(f"flicker fail       {pct(sum(has(r, 'quality.flicker') for r in R), n)}")
    absent = " (metric absent)"
    flash_on = any(r.get("flash") is not None for r in R)
    print(f"flash fail         {pct(sum(has(r, 'quality.flash') for r in R), n) if flash_on else '-' + absent}")
    print(f"shot-related fail  {pct(sum(has_shot_fail(r) for r in R), n)}")
    print(f"flicker|flash|shot {pct(sum(has(r, 'quality.flicker') or has(r, 'quality.flash') or has_shot_fail(r) for r in R), n)}")
    for code in ("quality.drift", "quality.jitter"):
        if not any(r.get(code.split(".")[1]) is not None for r in R):
            print(f"{code:<18} -{absent}")
            continue
        print(f"{code:<18} fail {pct(sum(has(r, code) for r in R), n)}, warn (not fail) "
              f"{pct(sum(has(r, code, ('warn',)) and not has(r, code) for r in R), n)}")

    if inj:
        print("\n== injected: fail rate (warn-or-fail) of the kind's own code")
        for (kind, level), rs in sorted(inj.items()):
            rr = list(rs.values())
            code = CODE[kind]
            if not any(r.get(SCORE[kind]) is not None for r in rr):
                print(f"{level_name(kind, level):<20} {code:<16} -{absent}")
                continue
            print(f"{level_name(kind, level):<20} {code:<16} fail {pct(sum(has(r, code) for r in rr), len(rr)):<14} "
                  f"warn|fail {pct(sum(has(r, code, ('warn', 'fail')) for r in rr), len(rr))}")

        print("\n== per base clip Spearman(amplitude, score), amplitude 0 = the clean clip")
        for kind in ("flicker", "local_flicker", "drift", "jitter"):
            levels = sorted(lv for k, lv in inj if k == kind)
            if not levels:
                continue
            rhos = []
            for cid in sorted(set().union(*(inj[(kind, lv)].keys() for lv in levels))):
                xs, ys = [0.0], [recs.get(cid, {}).get(SCORE[kind])]
                for lv in levels:
                    xs.append(lv)
                    ys.append(inj[(kind, lv)].get(cid, {}).get(SCORE[kind]))
                pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
                if len(pts) >= 3:
                    rhos.append(spearman(*zip(*pts)))
            ok = [r for r in rhos if not math.isnan(r)]
            if ok:
                print(f"{kind:<14} over {len(levels) + 1} levels, {len(ok)} clips: median {statistics.median(ok):.2f}, "
                      f"min {min(ok):.2f}, >= 0.9 on {pct(sum(r >= 0.9 for r in ok), len(ok))}"
                      + (f" ({len(rhos) - len(ok)} constant)" if len(rhos) > len(ok) else ""))
            else:
                print(f"{kind:<14} -  (score {SCORE[kind]!r} absent or constant)")

        print("\n== AUC clean vs injected (issue 20: flicker 2 % >= 0.9; issue 21: drift 8 px >= 0.9)")
        for kind, level in (("flicker", 0.02), ("local_flicker", 0.04), ("drift", 8.0), ("jitter", 8.0)):
            rs = inj.get((kind, level))
            if not rs:
                continue
            neg = [recs[c][SCORE[kind]] for c in rs if recs.get(c, {}).get(SCORE[kind]) is not None]
            pos = [r[SCORE[kind]] for r in rs.values() if r.get(SCORE[kind]) is not None]
            print(f"clean vs {level_name(kind, level):<18} {fmt(auc(neg, pos)) if neg and pos else '-':>5}  "
                  f"({len(neg)} clean, {len(pos)} injected)")

    cut_clips = [c for c in clean if expected_boundaries(c)]
    if cut_clips:
        print("\n== clips with listed cuts/fades/dissolves: shots within 1 frame; findings at a boundary")
        print(f"{'clip':<24} {'listed':>6} {'shots hit':>9} {'extra':>5} {'tech.cuts hit':>13}  findings at a boundary")
        for c in cut_clips:
            r, t = recs[c["id"]], times[c["id"]]
            listed = expected_boundaries(c)
            found = shot_starts(r.get("shots"), t)
            hit = match_boundaries(listed, found) if found is not None else None
            tc = [int(np.argmin(np.abs(np.asarray(t) - x))) for x in r.get("technical_cuts", []) if x is not None]
            thit = match_boundaries(listed, tc)
            at = findings_at_boundaries(r, listed, t)
            print(f"{c['id']:<24} {len(listed):>6} {('-' if hit is None else hit[0]):>9} {('-' if hit is None else hit[1]):>5} "
                  f"{f'{thit[0]} (+{thit[1]})':>13}  {' '.join(at) or 'none'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("/tmp/realset"))
    ap.add_argument("--kinds", default="clean," + ",".join(KINDS), help="clean and/or injected kinds")
    ap.add_argument("--levels", default="", help="only these injected levels (e.g. 0.02,8)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N clips of each set")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="write every clip's slim record here")
    a = ap.parse_args(argv)
    kinds = [k for k in a.kinds.split(",") if k]
    levels_only = [float(x) for x in a.levels.split(",") if x]
    index_path = a.root / "clips" / "index.json"
    if not index_path.exists():
        print(f"{index_path} missing: run benchmarks/realset/build.py first", file=sys.stderr)
        return 2
    index = json.loads(index_path.read_text())
    clean = [c for c in index if Path(c["file"]).exists()][:a.limit] if a.limit else [c for c in index if Path(c["file"]).exists()]
    if len(clean) < len(index) and not a.limit:
        print(f"warning: {len(index) - len(clean)} listed clips are not built", file=sys.stderr)
    jobs: list[tuple[str, float, str, Path]] = []
    base_ids = {c["id"] for c in clean}
    for kind in kinds:
        if kind == "clean":
            continue
        if kind not in KINDS:
            ap.error(f"unknown kind {kind!r}")
        for lv in LEVELS[kind]:
            if levels_only and not any(abs(lv - x) < 1e-9 for x in levels_only):
                continue
            d = a.root / "injected" / level_name(kind, lv)
            found = sorted(p for p in d.glob("*.mp4") if p.stem in base_ids and not p.name.endswith(".part.mp4"))
            for p in found[:a.limit] if a.limit else found:
                jobs.append((kind, lv, p.stem, p))
    # injected clips need their clean base audited too (amplitude 0, the AUC's negatives)
    need_clean = {cid for *_, cid, _ in jobs}
    audit_clean = [c for c in clean if "clean" in kinds or c["id"] in need_clean]
    cache = None if a.no_cache else a.root / "cache" / package_hash()
    paths = [Path(c["file"]) for c in audit_clean] + [p for *_, p in jobs]
    results = audit_all(paths, cache, a.jobs)
    recs = {c["id"]: results[Path(c["file"])] for c in audit_clean}
    inj: dict[tuple[str, float], dict[str, dict]] = {}
    for kind, lv, cid, p in jobs:
        inj.setdefault((kind, lv), {})[cid] = results[p]
    shown = [c for c in audit_clean] if "clean" in kinds else [c for c in clean if c["id"] in need_clean]
    times = {c["id"]: frame_times(Path(c["file"])) for c in shown if expected_boundaries(c)}
    print_clean(shown, recs)
    summary(shown, recs, inj, times)
    if a.json:
        a.json.write_text(json.dumps({"clean": recs, "injected": {level_name(k, lv): v for (k, lv), v in inj.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
