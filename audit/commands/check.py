"""``sora-audit check PATH...``: audit clips that exist and gate them against the policy."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from ..media import find_clips
from ..pipeline import AuditTask
from ..policy import load_policy
from ..terminal import plain
from .common import add_audit_options, default_jobs, executor_from_args, finish_run, new_run_id, now_iso, options_from_args, run_tasks


def register(sub) -> None:
    p = sub.add_parser(
        "check", help="audit existing clips (files or folders) and gate them",
        description="Audit clips (files, or folders searched recursively for .mp4 .mov .m4v). "
        "Exit 0: all passed (warnings allowed); 1: a clip failed the gate; 2: usage error; "
        "3: a clip could not be audited and none failed.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="clip files or folders")
    add_audit_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    options = options_from_args(args, policy)
    clips, notes = find_clips(args.paths)
    for n in notes:
        print(f"sora-audit: note: {plain(n)}", file=sys.stderr)
    if not clips:
        raise UsageError("nothing to audit: no clip found in " + ", ".join(args.paths))
    run_id, started = new_run_id(), now_iso()
    tasks = [AuditTask(str(c), options) for c in clips]
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 0:
        raise UsageError("--jobs must be 0 or more")
    results = run_tasks(tasks, jobs, args.quiet, executor=executor_from_args(args, jobs))
    return finish_run(args, run_id, started, results, policy)
