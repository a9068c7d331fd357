"""``sora-audit trend --metric NAME --by model --html FILE``: a metric over the stored runs.

One self-contained HTML page (inline SVG, no script): the metric's median per model (or case)
run after run, and the pass rate, warn rate, provider-policy-error rate and runtime-error rate
beside it (``audit.history.rates`` defines them).
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.table import Table

from .. import contract, history
from ..errors import UsageError
from ..terminal import markup as escape  # untrusted text: markup escaped, control characters shown
from .history import add_db_option, console

RATES = (("pass_rate", "pass rate (verdict pass)"), ("warn_rate", "warn rate (passed with warnings)"), ("policy_error_rate", "policy-error rate (provider refusals)"),
         ("runtime_error_rate", "runtime-error rate (could not be audited)"))


def register(sub) -> None:
    p = sub.add_parser(
        "trend", help="a metric over the stored runs, per model: HTML page with charts",
        description="Chart a metric (e.g. flicker.score, watermark.coverage) over the stored runs, oldest first, "
        "one line per model (or case), with the shares of clips that passed, passed with warnings, were "
        "refused by the provider (policy errors) or could not be audited (runtime errors).",
    )
    p.add_argument("--metric", required=True, metavar="NAME", help="metric name as stored, e.g. flicker.score")
    p.add_argument("--by", choices=("model", "case"), default="model", help="one line per model (default) or case")
    add_db_option(p)
    p.add_argument("--last", type=int, default=30, metavar="N", help="the N newest runs (default 30; 0 = all)")
    p.add_argument("--html", metavar="FILE", help="write the page here")
    p.add_argument("--json", metavar="FILE", help="write the series as JSON here")
    p.add_argument("-q", "--quiet", action="store_true", help="no table; files only")
    p.set_defaults(func=run)


def trend_data(conn, metric: str, by: str, last: int | None) -> dict[str, Any]:
    """Per run (oldest first) and group: the metric's median and clip count, and the rates."""
    runs = history.runs_chronological(conn, last)
    key = "model" if by == "model" else "case_id"
    out_runs = []
    groups: set[str] = set()
    for r in runs:
        by_group: dict[str, list] = defaultdict(list)
        for c in history.run_clips(conn, r["id"]):
            by_group[c.get(key) or "(unknown)"].append(c)
        per = {}
        for g, cs in by_group.items():
            vals = [c["metrics"][metric] for c in cs if metric in c["metrics"]]
            per[g] = {"median": statistics.median(vals) if vals else None, "n": len(vals), **history.rates(cs)}
            groups.add(g)
        out_runs.append({"id": r["id"], "label": r["label"], "stored_at": r["stored_at"], "groups": per})
    return {"metric": metric, "by": by, "groups": sorted(groups), "runs": out_runs}


def _known_metrics(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT name FROM metrics ORDER BY name")]


def run(args: argparse.Namespace) -> int:
    args.db = str(args.db or history.default_db())
    conn = history.connect(args.db, create=False)
    try:
        data = trend_data(conn, args.metric, args.by, args.last or None)
        if not data["runs"]:
            raise UsageError(f"{args.db}: no run stored yet")
        if not any(g["n"] for r in data["runs"] for g in r["groups"].values()):
            known = _known_metrics(conn)
            raise UsageError(f"no stored run has metric '{args.metric}'; stored metrics: "
                             + (", ".join(known[:30]) or "(none)"))
    finally:
        conn.close()
    written = []
    if args.json:
        written.append(contract.write_json_atomic(args.json, data))
    if args.html:
        written.append(_html(Path(args.html), data))
    if not args.quiet:
        _print(data)
        for w in written:
            print(f"wrote {w}")
    return 0


def _xlabel(r: dict) -> str:
    return r["label"] or r["id"]


def _html(path: Path, data: dict) -> Path:
    from ..history_html import svg_chart, write_trend_html

    xl = [_xlabel(r) for r in data["runs"]]

    def series(field: str) -> dict:
        return {g: [r["groups"].get(g, {}).get(field) for r in data["runs"]] for g in data["groups"]}

    charts = [svg_chart(f"{data['metric']} (median per {data['by']})", xl, series("median"))]
    charts += [svg_chart(title, xl, {g: [None if v is None else 100 * v for v in vs] for g, vs in series(f).items()},
                         y_min=0.0, y_max=100.0, unit="%") for f, title in RATES]
    return write_trend_html(path, data, charts)


def _print(data: dict) -> None:
    table = Table(title=f"trend: {escape(data['metric'])} by {data['by']}")
    table.add_column("run", overflow="fold")
    for g in data["groups"]:
        table.add_column(escape(g), overflow="fold")
    for r in data["runs"]:
        cells = []
        for g in data["groups"]:
            x = r["groups"].get(g)
            if not x:
                cells.append("-")
                continue
            med = "-" if x["median"] is None else f"{x['median']:.4g}"
            cells.append(f"{med} (pass {100 * x['pass_rate']:.0f}%, warn {100 * x['warn_rate']:.0f}%)")
        table.add_row(escape(_xlabel(r)), *cells)
    console().print(table)
