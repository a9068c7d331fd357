"""``sora-audit policy``: print the default gate policy (every section, documented), or check a file."""

from __future__ import annotations

import argparse

from ..policy import default_files, load_policy


def register(sub) -> None:
    p = sub.add_parser(
        "policy", help="print the default policy, or validate a policy file",
        description="Without FILE: print every default policy section with its documentation, to copy "
        "into your own file. With FILE: check it (unknown keys, wrong types) and print its digest.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="a policy TOML file to validate")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.file:
        pol = load_policy(args.file)
        print(f"{args.file}: ok (sha256 {pol.digest})")
        return 0
    for name, text in default_files():
        print(f"# ---- audit/{name} ----")
        print(text.rstrip() + "\n")
    return 0
