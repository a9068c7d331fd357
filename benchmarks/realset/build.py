#!/usr/bin/env python3
"""Rebuild the real-footage development set (issue 20 item 1) from mirrored git repositories.

    python benchmarks/realset/build.py --mirror /work/.mirror --out /tmp/realset

reads ``clips.toml`` (beside this file). Each ``[[clip]]`` is either

- a source clip: ``repo`` (owner/name), ``commit``, ``path``, ``sha256`` of the file in that
  commit, ``start`` and ``duration`` (seconds) to keep; read from the bare git directory
  ``<mirror>/<owner>+<name>/repo`` (``git show commit:path``), checked against ``sha256``,
  trimmed, scaled to at most ``--max-width`` px wide and written with libx264 CRF 18 keeping the
  source's timestamps (a variable-frame-rate source keeps its cadence); or
- a derived clip: ``derive`` names an operation on clips built before it (``from``), see
  :data:`DERIVATIONS`.

Output: ``<out>/clips/<id>.mp4`` and ``<out>/clips/index.json`` (id, file, sha256 of the built
clip, frames, tags, expected boundaries). Missing mirrors, absent objects (Git LFS pointers,
objects not in the snapshot) and sha256 mismatches are listed at the end; the exit code is 1 if
any clip could not be built. Third-party media stay under ``--out``: never commit them.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import subprocess
import sys
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clipio import Encoder, read_frames, stream_info  # noqa: E402

HERE = Path(__file__).resolve().parent
LFS_MAGIC = b"version https://git-lfs"


class Missing(Exception):
    """A clip that cannot be built, with the reason a person can act on."""


def sha256(data: bytes | Path) -> str:
    if isinstance(data, Path):
        data = data.read_bytes()
    return hashlib.sha256(data).hexdigest()


def git_blob(mirror: Path, repo: str, commit: str, path: str) -> bytes:
    gitdir = mirror / repo.replace("/", "+") / "repo"
    if (gitdir / ".git").is_dir():
        gitdir = gitdir / ".git"
    if not gitdir.is_dir():
        raise Missing(f"no mirror of {repo} at {gitdir} (fetch github:{repo})")
    r = subprocess.run(["git", "--git-dir", str(gitdir), "show", f"{commit}:{path}"], capture_output=True)
    if r.returncode != 0:
        raise Missing(f"{repo}@{commit[:10]}:{path} not in the snapshot ({r.stderr.decode().strip()[:120]})")
    if r.stdout.startswith(LFS_MAGIC):
        raise Missing(f"{repo}@{commit[:10]}:{path} is a Git LFS pointer, not the video")
    return r.stdout


def fit(img: np.ndarray, max_width: int) -> np.ndarray:
    """Scale down to ``max_width`` (even width and height, as yuv420p needs)."""
    h, w = img.shape[:2]
    if w > max_width:
        h, w = int(round(h * max_width / w)), max_width
    h, w = h - h % 2, w - w % 2
    if (h, w) != img.shape[:2]:
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return img


def build_source(spec: dict, mirror: Path, out_dir: Path, max_width: int) -> Path:
    data = git_blob(mirror, spec["repo"], spec["commit"], spec["path"])
    got = sha256(data)
    if got != spec["sha256"]:
        raise Missing(f"{spec['repo']}@{spec['commit'][:10]}:{spec['path']} sha256 {got[:16]}... != listed {spec['sha256'][:16]}...")
    src = out_dir / "src" / f"{spec['id']}{Path(spec['path']).suffix}"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    rate, tb, _, _ = stream_info(src)
    start, dur = float(spec.get("start", 0.0)), float(spec.get("duration", 12.0))
    dst = out_dir / "clips" / f"{spec['id']}.mp4"
    with Encoder(dst, rate, tb) as enc:
        first = None
        for img, pts, t in read_frames(src):
            if t < start - 1e-6:
                continue
            if t >= start + dur - 1e-6:
                break
            first = pts if first is None else first
            enc.write(fit(img, max_width), pts - first)
    return dst


# --- derivations: each takes the built input clips and the spec, yields frames at a constant rate


def _frames(path: Path) -> Iterator[np.ndarray]:
    for img, _, _ in read_frames(path):
        yield img


def _like(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``img`` scaled to cover ``shape`` (h, w) and centre-cropped: joins clips of other sizes."""
    h, w = shape
    s = max(h / img.shape[0], w / img.shape[1])
    r = cv2.resize(img, (max(w, round(img.shape[1] * s)), max(h, round(img.shape[0] * s))), interpolation=cv2.INTER_AREA)
    y, x = (r.shape[0] - h) // 2, (r.shape[1] - w) // 2
    return r[y:y + h, x:x + w]


def d_fade(inputs: list[Path], spec: dict, rate: Fraction) -> Iterator[np.ndarray]:
    """Fade in from black over ``fade_in`` s and out to black over ``fade_out`` s (linear)."""
    frames = list(_frames(inputs[0]))
    n, fi, fo = len(frames), round(spec.get("fade_in", 0) * rate), round(spec.get("fade_out", 0) * rate)
    for i, f in enumerate(frames):
        g = 1.0
        if fi and i < fi:
            g = i / fi
        if fo and i >= n - fo:
            g = min(g, (n - 1 - i) / fo)
        yield f if g >= 1.0 else np.clip(f.astype(np.float32) * g + 0.5, 0, 255).astype(np.uint8)


def _resampled(path: Path, rate: Fraction) -> Iterator[np.ndarray]:
    """The clip's frames at ``rate``: for each tick k / rate the latest frame shown by then
    (frames dropped or repeated by timestamp), so clips of other rates join without slow motion."""
    k = 0
    last = None
    for img, _, t in read_frames(path):
        while last is not None and k / rate < t - 1e-6:
            yield last
            k += 1
        last = img
    if last is not None:
        yield last


def d_concat(inputs: list[Path], spec: dict, rate: Fraction) -> Iterator[np.ndarray]:
    """The inputs one after the other (hard cuts), each resampled to the first's rate and
    fitted to its size, the first ``take[j]`` seconds of each when given. ``overlap`` > 0 s makes
    each join a linear cross-dissolve of that length."""
    k = round(spec.get("overlap", 0.0) * rate)
    take = spec.get("take", [])
    shape = None
    tail: list[np.ndarray] = []
    for j, p in enumerate(inputs):
        frames = _resampled(p, rate)
        if j < len(take):
            frames = itertools.islice(frames, round(take[j] * rate))
        if j and k:
            for i, (a, b) in enumerate(zip(tail, frames)):
                w = (i + 1) / (k + 1)
                yield cv2.addWeighted(a, 1.0 - w, _like(b, shape), w, 0.0)
        tail = []
        for f in frames:
            if shape is None:
                shape = f.shape[:2]
            f = _like(f, shape)
            if k and j < len(inputs) - 1:
                tail.append(f)
                if len(tail) > k:
                    yield tail.pop(0)
            else:
                yield f


def d_repeat(inputs: list[Path], spec: dict, rate: Fraction) -> Iterator[np.ndarray]:
    """Every ``every``-th frame replaced by the one before (the count and timing stay): the
    uneven cadence of phone clips and frame-rate conversions."""
    every, prev = int(spec.get("every", 3)), None
    for i, f in enumerate(_frames(inputs[0])):
        yield prev if (prev is not None and i % every == every - 1) else f
        prev = f


def d_recode(inputs: list[Path], spec: dict, rate: Fraction) -> Iterator[np.ndarray]:
    """The frames as they are; the clip's ``crf`` (e.g. 40) does the damage."""
    yield from _frames(inputs[0])


def d_lowlight(inputs: list[Path], spec: dict, rate: Fraction) -> Iterator[np.ndarray]:
    """Under-exposure and sensor noise: levels x ``gain`` then gaussian noise of ``noise``
    (8-bit levels), a fixed noise seed per clip."""
    rng = np.random.default_rng(int(spec.get("seed", 0)))
    g, s = float(spec.get("gain", 0.25)), float(spec.get("noise", 3.0))
    for f in _frames(inputs[0]):
        x = f.astype(np.float32) * g + rng.normal(0.0, s, f.shape[:2] + (1,)).astype(np.float32)
        yield np.clip(x + 0.5, 0, 255).astype(np.uint8)


DERIVATIONS = {"fade": d_fade, "concat": d_concat, "repeat": d_repeat, "recode": d_recode, "lowlight": d_lowlight}


def build_derived(spec: dict, built: dict[str, Path], out_dir: Path) -> Path:
    missing = [i for i in spec["from"] if i not in built]
    if missing:
        raise Missing(f"derived from {', '.join(missing)}, which could not be built")
    inputs = [built[i] for i in spec["from"]]
    rate, _, _, _ = stream_info(inputs[0])
    rate = Fraction(rate).limit_denominator(1001)
    dst = out_dir / "clips" / f"{spec['id']}.mp4"
    with Encoder(dst, rate, 1 / rate, crf=int(spec.get("crf", 18))) as enc:
        for i, f in enumerate(DERIVATIONS[spec["derive"]](inputs, spec, rate)):
            enc.write(f, i)
    return dst


def load_list(path: Path = HERE / "clips.toml") -> list[dict]:
    with path.open("rb") as fh:
        return tomllib.load(fh)["clip"]


def boundaries(spec: dict) -> dict:
    """Expected shot boundaries: ``cuts`` (first frame of the new shot), ``fades`` and
    ``dissolves`` ([first, last] frame of the transition), frame indices of the built clip."""
    return {k: spec.get(k, []) for k in ("cuts", "fades", "dissolves")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/realset"))
    ap.add_argument("--list", type=Path, default=HERE / "clips.toml")
    ap.add_argument("--max-width", type=int, default=1280)
    ap.add_argument("--only", default="", help="comma-separated clip ids (their inputs are built too)")
    ap.add_argument("--force", action="store_true", help="rebuild clips that exist")
    a = ap.parse_args(argv)
    specs = load_list(a.list)
    only = set(filter(None, a.only.split(",")))
    if only:
        need = set(only)
        for s in reversed(specs):
            if s["id"] in need:
                need.update(s.get("from", []))
        specs = [s for s in specs if s["id"] in need]
    built: dict[str, Path] = {}
    problems: list[str] = []
    index = []
    for s in specs:
        dst = a.out / "clips" / f"{s['id']}.mp4"
        try:
            if not dst.exists() or a.force:
                if "derive" in s:
                    build_derived(s, built, a.out)
                else:
                    build_source(s, a.mirror, a.out, a.max_width)
            built[s["id"]] = dst
            rate, _, w, h = stream_info(dst)
            index.append({"id": s["id"], "file": str(dst), "sha256": sha256(dst), "width": w, "height": h,
                          "fps": float(rate), "tags": s.get("tags", []), "derived": "derive" in s,
                          **boundaries(s)})
            print(f"ok      {s['id']:<28} {w}x{h} {' '.join(s.get('tags', []))}")
        except Missing as e:
            problems.append(f"{s['id']}: {e}")
            print(f"MISSING {s['id']:<28} {e}")
    (a.out / "clips").mkdir(parents=True, exist_ok=True)
    path = a.out / "clips" / "index.json"
    if only and path.exists():  # a partial build keeps the other clips' entries
        done = {c["id"] for c in index}
        index = [c for c in json.loads(path.read_text()) if c["id"] not in done] + index
    path.write_text(json.dumps(index, indent=1))
    print(f"\n{len(built)} of {len(specs)} clips in {a.out / 'clips'}")
    if problems:
        print("not built:\n  " + "\n  ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
