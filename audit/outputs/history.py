"""Run output: store every auditing run in the history database (``audit.history``).

Runs last (``ORDER = 90``): the other outputs have been written. Clips whose content (sha256)
was audited before get ``clip["history"]["seen_before"]`` and ``results.json`` (and ``--json``)
are rewritten with it. A database that cannot be written costs a warning, never the run.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from .. import contract, history
from ..terminal import plain

ORDER = 90


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("history")
    g.add_argument("--db", metavar="PATH", default=None,
                   help=f"history database this run is stored in (default: ${history.DB_ENV}, else {history.DEFAULT_DB})")
    g.add_argument("--label", metavar="TEXT", help="label of this run in the history (e.g. sora-2-pro-2026-11); "
                   "'sora-audit compare' takes labels")
    g.add_argument("--no-history", action="store_true", help="do not store this run in the history database")


def _suite(run: dict, args: argparse.Namespace) -> str | None:
    s = run.get("suite")
    if isinstance(s, dict):
        s = s.get("name") or s.get("path")
    if s:
        return str(s)
    paths = getattr(args, "paths", None) or getattr(args, "suite", None)
    if isinstance(paths, (list, tuple)):
        return " ".join(map(str, paths))
    return str(paths) if paths else None


def write(run: dict, args: argparse.Namespace, out_dir: Path) -> list[Path]:
    if getattr(args, "no_history", False):
        return []
    db = Path(getattr(args, "db", None) or history.default_db())
    try:
        conn = history.connect(db)
        try:
            stored = history.store_run(conn, run, label=getattr(args, "label", None), suite=_suite(run, args))
        finally:
            conn.close()
    except (history.HistoryError, sqlite3.Error, OSError) as e:
        print(plain(f"sora-audit: warning: {db}: run not stored in the history ({e}); "
                    "check the path and its permissions, or pass --no-history"), file=sys.stderr)
        return []
    run["history"] = {"db": str(db), "run_id": stored.run_id, "label": getattr(args, "label", None)}
    if stored.seen_before:
        for clip in run["clips"]:
            prior = stored.seen_before.get(clip["path"])
            if prior:
                clip["history"] = {"seen_before": prior}
        if not getattr(args, "quiet", False):
            for path, prior in stored.seen_before.items():
                last = prior[0]
                label = f" ({last['label']})" if last.get("label") else ""
                print(plain(f"seen before: {path} has the same content (sha256) as {last['path']} in run "
                            f"{last['run_id']}{label}, verdict then {last['verdict']}"))
    # results.json was written before the outputs ran: add the history fields to it.
    contract.write_json_atomic(out_dir / "results.json", run)
    if getattr(args, "json", None):
        contract.write_json_atomic(args.json, run)
    return [db]
