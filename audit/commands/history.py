"""``sora-audit history``: the runs stored in the history database, newest first, with counts."""

from __future__ import annotations

import argparse
import json
import os
import sys

from rich.console import Console
from rich.table import Table

from .. import history
from ..terminal import markup as escape  # untrusted text: markup escaped, control characters shown


def console() -> Console:
    """A console for tables: piped output (CI logs) gets 140 columns instead of rich's 80, so
    metric names do not fold; COLUMNS still wins."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=140)


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="PATH", default=None,
                   help=f"history database (default: ${history.DB_ENV}, else {history.DEFAULT_DB})")


def register(sub) -> None:
    p = sub.add_parser(
        "history", help="list the runs stored in the history database",
        description="List stored runs, newest first: id, label, time, suite, clip counts per verdict, models. "
        "Every 'check' and 'run' stores its run (see --db, --label, --no-history there).",
    )
    add_db_option(p)
    p.add_argument("--limit", type=int, default=50, metavar="N", help="show the N newest runs (default 50; 0 = all)")
    p.add_argument("--json", action="store_true", help="print the runs as JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.db = str(args.db or history.default_db())
    conn = history.connect(args.db, create=False)
    try:
        runs = history.list_runs(conn, args.limit or None)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    table = Table(title=f"history: {args.db}")
    for col in ("run", "label", "stored", "suite", "clips", "pass", "warn", "fail", "error", "models"):
        table.add_column(col, overflow="fold", no_wrap=col in ("run", "stored"))
    for r in runs:
        table.add_row(escape(r["id"]), escape(r["label"] or "-"), r["stored_at"], escape(r["suite"] or "-"),
                      str(r["n_clips"]), str(r["pass"]), str(r["warn"]), str(r["fail"]), str(r["error"]),
                      escape(r["models"] or "-"))
    console().print(table)
    if not runs:
        print("no run stored yet")
    return 0
