"""``sora-audit watermark learn CLIP... --out mark.png``: a template of the overlay a few clips
share (``audit.watermark.learn``), for ``--watermark-template`` or ``[watermark] templates``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError, UsageError


def register(sub) -> None:
    p = sub.add_parser("watermark", help="visible watermarks: learn a template from clips that carry one",
                       description="Visible watermarks. The Sora mark is shipped and searched by default; "
                       "learn adds another (a generator's, your studio's) from a few clips that carry it.")
    wsub = p.add_subparsers(dest="watermark_command", metavar="ACTION")
    wsub.required = True
    learn = wsub.add_parser(
        "learn", help="extract a template PNG (with alpha) of the overlay a few clips share",
        description="Find the overlay the clips share (fixed in the frame while the picture moves; it may jump "
        "between places) and write it as a PNG with alpha, for --watermark-template. Give 2-5 clips whose "
        "picture moves; a still shot contributes nothing.")
    learn.add_argument("clips", nargs="+", metavar="CLIP", help="video files carrying the same overlay")
    learn.add_argument("--out", required=True, metavar="PNG", help="where to write the template")
    learn.add_argument("--policy", metavar="TOML", help="policy file ([watermark] settings of the search)")
    learn.set_defaults(func=run_learn)


def run_learn(args: argparse.Namespace) -> int:
    import cv2

    from ..policy import load_policy
    from ..watermark.learn import LearnError, learn

    for c in args.clips:
        if not Path(c).is_file():
            raise UsageError(f"{c}: clip not found")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"{out}: the template is written as PNG (with alpha): give a .png path")
    policy = load_policy(args.policy) if args.policy else None
    try:
        got = learn(args.clips, policy)
    except (InputError, LearnError) as e:
        print(f"sora-audit: {e}. {e.hint}.", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), got.template):
        raise UsageError(f"{out}: cannot write the template")
    h, w = got.template.shape[:2]
    print(f"{out}: {w}x{h} px template from {got.places} place(s), {got.frames} frames of "
          f"{len(got.clips_used)} clip(s)")
    for c in got.clips_without:
        print(f"  {c}: no overlay found (a still shot, or no overlay): not used", file=sys.stderr)
    return 0
