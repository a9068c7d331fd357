"""``sora-audit provenance PATH...``: read and verify Content Credentials (C2PA), like c2patool.

Works on clips (MP4, MOV, M4V) and images (JPEG, PNG, WebP). The JSON (``--json FILE``) is
``{"items": [{"path": ..., "provenance": {<the block of `check`>}, "findings": [...]}]}``.
With ``--fragment FILE`` (repeated), the one PATH is a fragmented MP4's init segment and the
files its fragments, verified together (``audit.provenance.verify_fragmented``).
Exit 0: every file read (whatever its status, except invalid); 1: a manifest is invalid
(altered after signing); 3: a file or manifest could not be read (or the file is cut short)
and none is invalid.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from .. import contract
from ..errors import UsageError
from ..media import VIDEO_EXTENSIONS, find_clips
from ..policy import load_policy
from ..provenance import ERROR, INVALID, NO_TRUST, findings_for, verify
from ..provenance.status import explain, identity_line
from ..terminal import markup as escape  # untrusted text: markup escaped, control characters shown
from ..terminal import plain
from .common import add_trust_options, trust_from_args

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
_STYLE = {"trusted": "bold green", "valid": "green", "invalid": "bold red", "absent": "yellow", "error": "magenta"}


def register(sub) -> None:
    p = sub.add_parser(
        "provenance", help="verify the Content Credentials (C2PA) of clips and images",
        description="Read and verify C2PA manifests of clips (.mp4 .mov .m4v) and images (.jpg .png .webp); "
        "folders are searched recursively. Exit 0: all read; 1: a manifest does not match its file "
        "(invalid); 3: a file or manifest could not be read.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    p.add_argument("--json", metavar="FILE", help="write {\"items\": [{\"path\", \"provenance\", \"findings\"}]} here")
    p.add_argument("--policy", metavar="FILE", help="TOML policy ([provenance] section: trust files, allow-lists)")
    p.add_argument("--fragment", metavar="FILE", action="extend", nargs="+", default=[],
                   help="fragments (media segments) of a fragmented MP4 whose init segment is the one PATH, "
                   "in playback order (--fragment F1 F2 ... or the flag repeated): the init segment and "
                   "its fragments are verified together")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary; exit code and --json only")
    add_trust_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    trust = trust_from_args(args, policy)
    files, notes = find_clips(args.paths, extensions=VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
    for n in notes:
        print(f"sora-audit: note: {plain(n)}", file=sys.stderr)
    if not files:
        raise UsageError("nothing to verify: no clip or image found in " + ", ".join(args.paths))
    if args.fragment and len(files) != 1:
        raise UsageError("--fragment needs exactly one PATH: the init segment of the fragmented clip")
    pol = dict(policy.section("provenance"))
    items = []
    console = Console()
    for f in files:
        block = verify(f, trust, fragments=args.fragment)
        fs = findings_for(block, pol, str(f))
        items.append({"path": str(f), "provenance": block, "findings": [x.to_dict() for x in fs]})
        if not args.quiet:
            print_block(console, str(f), block, fs)
    if args.json:
        contract.write_json_atomic(args.json, {"items": items})
        if not args.quiet:
            print(f"wrote {plain(args.json)}")
    statuses = [i["provenance"]["status"] for i in items]
    if INVALID in statuses:
        return 1
    # A file cut short could not be read whole, whatever its manifest says: as `check` says of it
    # (runtime.undecodable, verdict error), this exits 3.
    cut = any((i["provenance"].get("layout") or {}).get("missing_bytes") for i in items)
    return 3 if ERROR in statuses or cut else 0


def print_block(console: Console, path: str, b: dict, findings) -> None:
    e = lambda v: escape(v) if v not in (None, "", []) else "-"  # noqa: E731  (untrusted text)
    st = b["status"]
    console.print(f"[bold]{escape(path)}[/]")
    head, _, why = explain(b).partition(": ")
    said = b.get("c2pa_state") and "c2pa says" not in why
    console.print(f"  status       [{_STYLE.get(st, 'white')}]{escape(head)}[/]: {escape(why)}"
                  + (f" (c2pa: {e(b.get('c2pa_state'))})" if said else ""))
    if st in ("absent", "error"):
        if st == "error":  # (absent: the status line says it all)
            console.print(f"  note         {e(b.get('note'))}")
        for f in findings:  # the file's layout (cut short, trailing data) is said whatever the status
            if f.code in ("provenance.cut_short", "provenance.trailing_data"):
                console.print(f"  {f.severity:<5}        {escape(f.code)}: {escape(f.message)}")
        return
    console.print(f"  signed by    {e(b.get('issuer'))} / {e(b.get('common_name'))}  alg {e(b.get('alg'))}")
    for ident in b.get("identities") or []:
        console.print(f"  identity     {escape(identity_line(ident))}")
    console.print(f"  signed at    {e(b.get('signed_at'))}   timestamp authority {e(b.get('tsa'))}")
    console.print(f"  generator    {e(b.get('claim_generator'))}   claim v{e(b.get('claim_version'))}   "
                  f"manifests {b.get('manifest_count')}")
    console.print(f"  title        {e(b.get('title'))}")
    hb = b.get("hard_binding") or {}
    if hb:
        console.print(f"  hash binding {e(hb.get('label'))}{' (Merkle)' if hb.get('merkle') else ''}")
    console.print(f"  source type  {e(b.get('digital_source_type'))}   AI disclosed: {'yes' if b.get('ai_disclosure') else 'no'}")
    for a in b.get("actions") or []:
        console.print(f"  action       {e(a.get('action'))} by {e(a.get('software_agent'))}")
    for i in b.get("ingredients") or []:
        codes = ", ".join(i["codes"]) or "no failure"
        console.print(f"  ingredient   {e(i.get('title'))} ({e(i.get('relationship'))}): {i['status']}, {escape(codes)}")
    classes = b.get("code_classes") or {}
    fails = ", ".join(f"{c} ({classes[c].replace('_', ' ')})" if c in classes else c for c in b["codes"])
    console.print(f"  failures     {escape(fails) if fails else 'none'}")
    if b.get("fragment_mode"):
        console.print(f"  fragments    {len(b['fragments'])} ({b['fragment_mode']})")
        for fr in b["fragments"]:
            own = f": {fr['status']}, {', '.join(fr['codes']) or 'no failure'}" if fr.get("status") else ""
            console.print(f"    {escape(fr['path'])} (sequence {fr.get('sequence')}){escape(own)}")
    if b.get("note") and b["note"] != NO_TRUST:  # (NO_TRUST is a finding's message too)
        console.print(f"  note         {e(b.get('note'))}")
    trust = "configured (" + ", ".join(b["trust"]["sources"]) + ")" if b["trust"]["configured"] else "none configured"
    console.print(f"  trust        {escape(trust)}")
    for f in findings:
        console.print(f"  {f.severity:<5}        {escape(f.code)}: {escape(f.message)}")
