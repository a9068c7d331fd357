"""``sora-audit trust``: install the public C2PA trust lists into the user cache, or show them.

    sora-audit trust update               # download over HTTPS (explicit: runs never download)
    sora-audit trust update --from DIR    # install local copies (same file names)
    sora-audit trust show                 # where the cached lists came from, and when
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ..provenance import truststore
from ..errors import UsageError


# The help text: the docstring's first line is reStructuredText, which --help must not show.
DESCRIPTION = "Install the public C2PA trust lists into the user cache, or show them.\n\n" + __doc__.split("\n\n", 1)[1]


def register(sub) -> None:
    p = sub.add_parser("trust", help="install or show the C2PA trust lists used to establish 'trusted'",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    tsub = p.add_subparsers(dest="trust_command", metavar="ACTION")
    tsub.required = True
    u = tsub.add_parser("update", help="download the public lists (or install them --from a folder)")
    u.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="install from this folder instead of downloading (files: "
                   + ", ".join(f.name for f in truststore.LISTS) + ")")
    u.add_argument("--base-url", metavar="URL",
                   help=f"download every list from URL/<file name> (a mirror); env {truststore.BASE_URL_ENV}")
    u.set_defaults(func=run_update)
    s = tsub.add_parser("show", help="print the cache folder and the sources of its lists")
    s.set_defaults(func=run_show)


def run_update(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    dest = truststore.cache_dir()
    try:
        if args.from_dir:
            if args.base_url:
                raise UsageError("give --from or --base-url, not both")
            src = truststore.install_from_dir(args.from_dir, dest)
        else:
            with Progress(TextColumn("[bold]downloading"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.description}"), console=console) as bar:
                job = bar.add_task("", total=len(truststore.LISTS))
                src = truststore.download(dest, args.base_url,
                                          progress=lambda f, n: bar.update(job, advance=1, description=f.name))
    except truststore.TrustUpdateError as e:
        print(f"sora-audit: error: {e}", file=sys.stderr)
        return 3
    info = json.loads(src.read_text())
    for name, f in info["files"].items():
        print(f"{name}: {f['certificates']} certificate(s), sha256 {f['sha256'][:16]}..., from {f['source']}")
    print(f"installed into {dest} ({src.name} records the sources); later runs use these lists")
    return 0


def run_show(args: argparse.Namespace) -> int:
    dest = truststore.cache_dir()
    info = truststore.cached_sources(dest)
    if info is None:
        print(f"{dest}: no trust lists installed. Without them 'trusted' cannot be established; "
              "run `sora-audit trust update` (or pass --trust-anchors).")
        return 0
    print(f"{dest} (updated {info['updated_at']})")
    for name, f in info["files"].items():
        print(f"  {name}: {f['what']}, {f['certificates']} certificate(s), from {f['source']} at {f['fetched_at']}")
    return 0
