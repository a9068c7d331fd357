#!/usr/bin/env python3
"""Provenance (C2PA read + verify) time for a ~50 MB signed clip, as a share of its whole audit.

    python benchmarks/bench_provenance.py [--seconds 18] [--size 1280x720] [--crf 14] [--noise 4] [--repeat 3]

Renders a synthetic clip (once, under benchmarks/out/) with sensor noise at a quality that makes
it ~50 MB (~23 Mbit/s, 18 s of 720p30: a high-bitrate generator download), signs
it with a TEST-ONLY chain (audit.provenance.signing), then in one run: the best of ``--repeat`` calls of
``audit.provenance.verify`` (with the chain's root as trust anchor, i.e. the full hash of the
file and the trust check) and the best of ``--repeat`` whole audits (``audit_clip``: probe,
provenance, one decode pass through every detector). Prints both and their ratio.

    python benchmarks/bench_provenance.py --fragmented [--fragment-seconds 1] [--repeat 3]

Instead: the same clip remuxed (stream copy) as a fragmented MP4 with a fragment every
``--fragment-seconds``, signed whole, cut into an init segment and its fragments; times
``verify(init, fragments=[...])`` against ``verify`` of the uncut signed file, in one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"


def make_signed(seconds: float, w: int, h: int, crf: int, noise: float) -> tuple[Path, Path]:
    from audit.provenance.signing import make_test_chain, sign_file
    from audit.synth import CameraSegment, ClipSpec, render

    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / f"prov_{w}x{h}_{seconds:g}s_crf{crf}_n{noise:g}.mp4"
    if not raw.exists():
        spec = ClipSpec(width=w, height=h, fps=30, seconds=seconds, seed=21, crf=crf, noise=noise,
                        camera=(CameraSegment("pan_left", 0, seconds, 0.05),))
        render(spec, raw)
    chain = make_test_chain(OUT / "prov-certs")
    signed = OUT / f"signed_{raw.name}"
    sign_file(raw, signed, chain, title=signed.name)
    return signed, chain.root_pem


def make_fragmented(seconds: float, w: int, h: int, crf: int, noise: float, frag_s: float):
    import struct

    from audit.provenance.signing import make_test_chain, sign_file
    from audit.synth import remux

    signed, _ = make_signed(seconds, w, h, crf, noise)
    raw = OUT / signed.name.replace("signed_", "")
    frag = OUT / f"frag{frag_s:g}s_{raw.name}"
    remux(raw, frag, format="mp4",
          options={"movflags": "empty_moov+default_base_moof", "frag_duration": str(int(frag_s * 1e6))})
    chain = make_test_chain(OUT / "prov-certs")
    whole = sign_file(frag, OUT / f"signed_{frag.name}", chain, title=frag.name)
    data = whole.read_bytes()
    moofs, off = [], 0
    while off + 8 <= len(data):
        size, typ = struct.unpack(">I4s", data[off:off + 8])
        moofs.append(off) if typ == b"moof" else None
        off += size
    seg_dir = OUT / f"segments_{frag.stem}"
    seg_dir.mkdir(exist_ok=True)
    init = seg_dir / "init.m4s"
    init.write_bytes(data[:moofs[0]])
    frags = []
    for k, (a, b) in enumerate(zip(moofs, moofs[1:] + [len(data)]), 1):
        frags.append(seg_dir / f"frag{k:04d}.m4s")
        frags[-1].write_bytes(data[a:b])
    return whole, init, frags, chain.root_pem


def bench_fragmented(a, w: int, h: int) -> int:
    from audit.provenance import TrustConfig, verify

    whole, init, frags, root = make_fragmented(a.seconds, w, h, a.crf, a.noise, a.fragment_seconds)
    trust = TrustConfig.from_files([root])
    print(f"{whole.name}: {whole.stat().st_size / 1e6:.1f} MB; init segment {init.stat().st_size / 1e3:.1f} kB "
          f"+ {len(frags)} fragments")
    t_whole, t_frag, c_whole, c_frag = [], [], [], []
    for _ in range(a.repeat):
        t, c = time.perf_counter(), time.process_time()
        assert verify(whole, trust)["status"] == "trusted"
        t_whole.append(time.perf_counter() - t)
        c_whole.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        b = verify(init, trust, fragments=frags)
        t_frag.append(time.perf_counter() - t)
        c_frag.append(time.process_time() - c)
        assert b["status"] == "trusted" and b["fragment_mode"] == "whole_file", (b["status"], b["note"])
    print(f"verify, uncut file (best of {a.repeat}):          {min(t_whole):.3f} s wall, {min(c_whole):.3f} s CPU")
    print(f"verify, init + {len(frags)} fragments (best of {a.repeat}): {min(t_frag):.3f} s wall, "
          f"{min(c_frag):.3f} s CPU")
    print(f"ratio fragments / uncut: {min(t_frag) / min(t_whole):.2f} wall, {min(c_frag) / min(c_whole):.2f} CPU")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=18.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--crf", type=int, default=14)
    ap.add_argument("--noise", type=float, default=4.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fragmented", action="store_true", help="time init + fragments against the uncut file")
    ap.add_argument("--fragment-seconds", type=float, default=1.0)
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    if a.fragmented:
        return bench_fragmented(a, w, h)
    from audit.pipeline import AuditOptions, AuditTask, audit_clip
    from audit.provenance import TrustConfig, verify

    t = time.perf_counter()
    clip, root = make_signed(a.seconds, w, h, a.crf, a.noise)
    print(f"clip {clip.name}: {clip.stat().st_size / 1e6:.1f} MB, {a.seconds:g} s {a.size} 30 fps "
          f"(prepared in {time.perf_counter() - t:.1f} s)")
    trust = TrustConfig.from_files([root])
    prov, whole, inside = [], [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        b = verify(clip, trust)
        prov.append(time.perf_counter() - t)
        assert b["status"] == "trusted", b["status"]
        t = time.perf_counter()
        r = audit_clip(AuditTask(str(clip), AuditOptions(trust=trust)))
        whole.append(time.perf_counter() - t)
        inside.append(r["timings"]["detectors"]["provenance"])
    p, wh = min(prov), min(whole)
    print(f"provenance verify (best of {a.repeat}): {p:.3f} s  ({clip.stat().st_size / 1e6 / p:.0f} MB/s)")
    print(f"provenance inside the audit (best):   {min(inside):.3f} s")
    print(f"whole audit (best of {a.repeat}):       {wh:.3f} s")
    print(f"share of provenance in the audit:     {100 * min(inside) / wh:.1f} %  (standalone verify / audit: "
          f"{100 * p / wh:.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
