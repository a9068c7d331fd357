#!/usr/bin/env python3
"""Make the injected sets on the built development set (issue 20 item 2):

    python benchmarks/realset/make_injected.py --out /tmp/realset [--kinds flicker,drift] [--levels 0.02,8] [--limit N] [--jobs 2]

writes ``<out>/injected/<kind>-<level>/<clip id>.mp4`` (names from ``inject.level_name``, e.g.
``flicker-2pct``, ``drift-8px``) for every base clip of ``<out>/clips/index.json``: the clips with
no listed cut, fade or dissolve (a base clip is one shot, so the injected amplitude is the only
thing that changes along the clip). The seed of each clip is derived from its id, so a rebuild
gives the same artefacts. Existing files are kept unless --force.
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inject import KINDS, LEVELS, inject_clip, level_name  # noqa: E402


def base_clips(out: Path) -> list[dict]:
    """Entries of index.json that are one shot (no cuts, fades or dissolves listed)."""
    index = json.loads((out / "clips" / "index.json").read_text())
    return [c for c in index if not (c.get("cuts") or c.get("fades") or c.get("dissolves"))]


def clip_seed(clip_id: str) -> int:
    return zlib.crc32(clip_id.encode())


def _one(job: tuple[str, str, str, float, int]) -> str:
    src, dst, kind, level, seed = job
    inject_clip(Path(src), Path(dst), kind, level, seed)
    return dst


def jobs_for(out: Path, kinds: list[str], levels: list[float] | None, limit: int | None, force: bool) -> list[tuple]:
    jobs = []
    clips = base_clips(out)[:limit] if limit else base_clips(out)
    for kind in kinds:
        for level in LEVELS[kind]:
            if levels and not any(abs(level - x) < 1e-9 for x in levels):
                continue
            for c in clips:
                dst = out / "injected" / level_name(kind, level) / f"{c['id']}.mp4"
                if force or not dst.exists():
                    jobs.append((c["file"], str(dst), kind, level, clip_seed(c["id"])))
    return jobs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/realset"))
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--levels", default="", help="only these levels (e.g. 0.02,8)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N base clips")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args(argv)
    kinds = [k for k in a.kinds.split(",") if k]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        ap.error(f"unknown kinds {bad}; one of {', '.join(KINDS)}")
    levels = [float(x) for x in a.levels.split(",") if x] or None
    jobs = jobs_for(a.out, kinds, levels, a.limit, a.force)
    print(f"{len(jobs)} clips to write")
    with ProcessPoolExecutor(a.jobs) as pool:
        for i, dst in enumerate(pool.map(_one, jobs), 1):
            print(f"[{i}/{len(jobs)}] {dst}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
