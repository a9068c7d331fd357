"""``sora-audit compare A B``: did quality move between two stored runs? Exit 1 on a regression.

A is the baseline, B the candidate (run ids, id prefixes or labels). ``--baseline LABEL`` names
the baseline by label; B then defaults to the newest other run. See ``audit.comparison``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.table import Table

from .. import comparison, contract, history
from ..errors import UsageError
from ..policy import load_policy
from ..terminal import markup as escape  # untrusted text: markup escaped, control characters shown
from .history import add_db_option, console

_STYLE = {comparison.REGRESSION: "bold red", comparison.IMPROVEMENT: "green", comparison.WITHIN: "",
          comparison.UNGATED: "dim", comparison.TOO_FEW: "yellow"}


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="compare two stored runs per model and metric; exit 1 on a regression",
        description="Compare run B (candidate) against run A (baseline), both from the history database, by run "
        "id, id prefix or label. Clips are matched by model, case id and repeat; per model and metric: medians, "
        "the median per-clip change and its bootstrap confidence interval. A regression is a change in the bad "
        "direction beyond the policy's tolerance ([history] in 'sora-audit policy') with the interval excluding "
        "zero. Exit 0: no regression; 1: a regression; 2: usage error (unknown run, nothing matched).",
    )
    p.add_argument("runs", nargs="*", metavar="RUN", help="A B (baseline then candidate), or only B with --baseline")
    p.add_argument("--baseline", metavar="LABEL", help="baseline run: the newest run with this label (or id)")
    add_db_option(p)
    p.add_argument("--policy", metavar="FILE", help="policy file with [history] tolerances (default: the defaults)")
    p.add_argument("--models", nargs=2, metavar=("MODEL_A", "MODEL_B"),
                   help="compare model B's clips against model A's, matched by case id and repeat; with one run, "
                   "both from that run (e.g. --models sora-2 sora-2-pro)")
    p.add_argument("--metric", action="append", default=[], metavar="NAME",
                   help="compare only this metric (e.g. flicker.score); repeatable")
    p.add_argument("--all", action="store_true", help="show ungated metrics in the table too")
    p.add_argument("--json", metavar="FILE", help="write the comparison as JSON here")
    p.add_argument("--html", metavar="FILE", help="write the comparison as a self-contained HTML page here")
    p.add_argument("-q", "--quiet", action="store_true", help="no table; exit code and files only")
    p.set_defaults(func=run)


def _pick(conn, args) -> tuple[dict, dict]:
    where = args.db
    if args.baseline:
        if len(args.runs) > 1:
            raise UsageError("with --baseline give at most one run (the candidate)")
        base = history.resolve_run(conn, args.baseline, where)
        cand = (history.resolve_run(conn, args.runs[0], where) if args.runs
                else history.latest_run(conn, where, exclude=[base["id"]]))
        return base, cand
    if len(args.runs) == 1 and args.models:
        one = history.resolve_run(conn, args.runs[0], where)
        return one, one
    if len(args.runs) != 2:
        raise UsageError("give two runs (baseline then candidate), or --baseline LABEL and at most one run "
                         "(or one run with --models A B)")
    return history.resolve_run(conn, args.runs[0], where), history.resolve_run(conn, args.runs[1], where)


def run(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    args.db = str(args.db or history.default_db())
    conn = history.connect(args.db, create=False)
    try:
        base, cand = _pick(conn, args)
        a_clips, b_clips = history.run_clips(conn, base["id"]), history.run_clips(conn, cand["id"])
        if args.models:
            a_clips, b_clips = comparison.pair_models(a_clips, b_clips, *args.models)
            if not a_clips or not b_clips:
                missing = args.models[0] if not a_clips else args.models[1]
                raise UsageError(f"no clip of model '{missing}' in run {(base if not a_clips else cand)['id']}")
        cmp = comparison.compare(base, a_clips, cand, b_clips, policy, args.metric or None)
    finally:
        conn.close()
    if not cmp.models:
        raise UsageError(f"runs {base['id']} and {cand['id']} share no clip (matched by model, case id and "
                         "repeat): nothing to compare. Are the sidecars' case_id and model set?")
    data = cmp.to_dict()
    written = []
    if args.json:
        written.append(contract.write_json_atomic(args.json, data))
    if args.html:
        from ..history_html import write_compare_html

        written.append(write_compare_html(Path(args.html), data))
    if not args.quiet:
        print_comparison(cmp, show_all=args.all)
        for w in written:
            print(f"wrote {w}")
    return 1 if cmp.regressions else 0


def _run_name(r: dict) -> str:
    return r["id"] + (f" ({r['label']})" if r.get("label") else "")


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if abs(x) >= 1e-4 or x == 0 else f"{x:.2e}"


def _rate(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def print_comparison(cmp: comparison.Comparison, show_all: bool = False) -> None:
    out = console()
    pct = round(100 * cmp.confidence)
    table = Table(title=f"compare: baseline {escape(_run_name(cmp.baseline))} -> candidate "
                  f"{escape(_run_name(cmp.candidate))}")
    for col in ("model", "metric", "n", "baseline", "candidate", "change", f"{pct}% CI", "tolerance", "status"):
        table.add_column(col, overflow="fold", no_wrap=col in ("metric", "status"))
    hidden = 0
    for r in cmp.rows:
        if r.status == comparison.UNGATED and not show_all:
            hidden += 1
            continue
        style = _STYLE.get(r.status, "")
        tol = "-" if r.tolerance is None else f"{'+' if r.worse == 'higher' else '-'}{fmt(r.tolerance)}"
        table.add_row(escape(r.model), r.metric, str(r.n), fmt(r.baseline_median), fmt(r.candidate_median),
                      f"{r.delta:+.4g}", f"[{fmt(r.ci[0])}, {fmt(r.ci[1])}]", tol,
                      f"[{style}]{r.status}[/]" if style else r.status)
    out.print(table)
    if hidden:
        out.print(f"{hidden} metric(s) without a direction in the policy not shown (--all, or --json)")
    for model, m in cmp.models.items():
        a, b = m["baseline"], m["candidate"]
        out.print(f"{escape(model)}: {m['pairs']} matched clip(s); pass {_rate(a['pass_rate'])} -> "
                      f"{_rate(b['pass_rate'])}, warn {_rate(a.get('warn_rate'))} -> {_rate(b.get('warn_rate'))}, "
                      f"policy errors {_rate(a['policy_error_rate'])} -> "
                      f"{_rate(b['policy_error_rate'])}, runtime errors {_rate(a['runtime_error_rate'])} -> "
                      f"{_rate(b['runtime_error_rate'])}")
    for side, keys in cmp.unmatched.items():
        if keys:
            out.print(f"unmatched in {side}: {escape(', '.join(keys[:10]))}" + (" ..." if len(keys) > 10 else ""))
    regs = cmp.regressions
    if regs:
        out.print(f"[bold red]REGRESSION[/]: {escape(', '.join(f'{r.model} {r.metric}' for r in regs))}. exit code 1")
    else:
        out.print("no regression. exit code 0")
    sys.stdout.flush()
