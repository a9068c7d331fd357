"""Options and steps shared by the commands that audit clips (``check``, ``run``)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import contract
from ..pipeline import AuditOptions, AuditTask
from ..policy import Policy, exit_code
from ..terminal import markup, plain

DEFAULT_REPORTS = Path("reports")


def add_audit_options(p: argparse.ArgumentParser) -> None:
    """Flags every auditing command takes."""
    p.add_argument("--policy", metavar="FILE", help="TOML gate policy (defaults: audit/policy_defaults.toml)")
    p.add_argument("--json", metavar="FILE", help="also write the JSON results (the documented contract) here")
    p.add_argument(
        "--report", metavar="DIR",
        help="folder for this run's outputs (default: reports/<run id>/); results.json is always written there",
    )
    p.add_argument(
        "--jobs", type=int, default=None, metavar="N",
        help="worker processes, one clip on one core each (default: number of CPUs, at most 4; a batch of fewer "
        "clips shares the spare cores out as threads; 0 = audit in this process)",
    )
    p.add_argument(
        "--executor", choices=("local", "dask"), default="local",
        help="where clips are audited: local (a process pool of --jobs workers, the default) or dask "
        "(a Dask cluster: --scheduler, or a local cluster of --jobs worker processes); needs sora-audit[dask]",
    )
    p.add_argument(
        "--scheduler", metavar="ADDR",
        help="address of a running Dask scheduler (tcp://host:port) for --executor dask; every worker must "
        "be able to read the clips (shared file system or fsspec URLs)",
    )
    p.add_argument("--reference", metavar="IMG", help="the still image the clip(s) started from (image-to-video)")
    p.add_argument(
        "--watermark-template", metavar="PNG", action="append", default=[],
        help="template image (PNG with alpha) of the visible watermark to look for; repeatable",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no table; exit code and files only")
    add_trust_options(p)
    for out in output_modules():
        out.add_arguments(p)


def add_trust_options(p: argparse.ArgumentParser) -> None:
    """C2PA trust flags (``check``, ``provenance``); see audit/provenance/truststore.py."""
    p.add_argument("--trust-anchors", metavar="FILE", action="append", default=[],
                   help="PEM file of C2PA trust anchors (root/intermediate certificates); repeatable, concatenated")
    p.add_argument("--allowed-list", metavar="FILE", help="PEM file of end-entity signing certificates trusted as they are")
    p.add_argument("--trust-config", metavar="FILE", help="accepted extended key usages (c2pa trust_config format)")


def trust_from_args(args: argparse.Namespace, policy: Policy):
    from ..provenance.truststore import resolve

    return resolve(policy.section("provenance"), args.trust_anchors, args.allowed_list, args.trust_config)


def output_modules() -> list:
    """Run outputs beyond results.json (HTML report, JUnit, history...): every module of
    ``audit.outputs`` with ``add_arguments(parser)`` and ``write(run, args, out_dir) -> [paths]``,
    in ``ORDER`` (then name). A new output is a new module there; no edit here."""
    import importlib
    import pkgutil

    from .. import outputs

    mods = [importlib.import_module(f"audit.outputs.{m.name}") for m in pkgutil.iter_modules(outputs.__path__)
            if not m.name.startswith("_")]
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 50), m.__name__))


def serve_until_stopped(server, where: str, banner: str) -> None:
    """Start ``server`` (``start() -> url``, ``stop()``), print ``banner`` and its URL, and block
    until Ctrl-C or SIGTERM; then stop it. A port that cannot be bound is a usage error."""
    import signal
    import threading

    from ..errors import UsageError

    try:
        url = server.start()
    except OSError as e:
        raise UsageError(f"cannot listen on {where} ({e})") from None
    print(f"{banner} {plain(url)}  (Ctrl-C to stop)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    try:
        while not stop.wait(0.25):  # short waits: Ctrl-C is handled between them
            pass
    except KeyboardInterrupt:
        pass
    server.stop()


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def options_from_args(args: argparse.Namespace, policy: Policy) -> AuditOptions:
    from ..errors import InputError, UsageError
    from ..files import check_image, what_is

    cap = int(policy.get("limits", "image_max_pixels"))
    # A FIFO, a folder or a decompression bomb is refused before any clip, from its header.
    for path, what in [(t, "watermark template") for t in args.watermark_template] + \
            ([(args.reference, "reference image")] if args.reference else []):
        if what_is(path) == "missing":
            raise UsageError(f"{path}: {what} not found")
        try:
            check_image(path, cap, what=what)
        except InputError as e:
            raise UsageError(f"{e}. {e.hint}.") from None
    for tpl in args.watermark_template:
        _check_template(tpl)
    return AuditOptions(
        policy=policy,
        reference=args.reference,
        watermark_templates=tuple(args.watermark_template),
        trust=trust_from_args(args, policy),
    )


def executor_from_args(args: argparse.Namespace, jobs: int):
    """The executor the flags ask for (``--executor``, ``--scheduler``; ``jobs`` from ``--jobs``).
    Commands that audit pass it to ``run_tasks``."""
    from ..errors import UsageError
    from ..executors import make_executor

    kind = getattr(args, "executor", "local")
    scheduler = getattr(args, "scheduler", None)
    if scheduler and kind != "dask":
        raise UsageError("--scheduler needs --executor dask")
    if kind == "dask" and jobs == 0 and not scheduler:
        raise UsageError("--executor dask needs --jobs 1 or more (the local cluster's worker processes)")
    log = (lambda msg: None) if args.quiet else (
        lambda msg: Console(stderr=True).print(plain(msg), markup=False, highlight=False, soft_wrap=True))
    return make_executor(jobs, kind=kind, scheduler=scheduler, log=log)


def _check_template(path: str) -> None:
    """A template that cannot be read is the operator's mistake, refused before any clip."""
    from ..errors import UsageError
    from ..watermark.match import TemplateError, load_template

    try:
        load_template(path)
    except TemplateError as e:
        raise UsageError(f"{e}. {e.hint}.") from None


def run_tasks(tasks: Sequence[AuditTask], jobs: int, quiet: bool, executor=None) -> list[dict]:
    """Audit ``tasks`` with a progress bar; results in task order."""
    from ..executors import make_executor

    ex = executor or make_executor(jobs)
    results: list[dict | None] = [None] * len(tasks)
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}", markup=False), console=console, disable=quiet, transient=False,
    ) as bar:
        job = bar.add_task("", total=len(tasks))
        if hasattr(ex, "progress") and not quiet:
            def progress(i: int, kind: str, info: dict) -> None:
                if kind == "hashing":  # a huge file: say how far hashing has gone, in GB
                    bar.update(job, description=plain(f"{Path(tasks[i].path).name}: hashing "
                                                      f"{info['done'] / 1e9:.1f}/{info['total'] / 1e9:.1f} GB"))

            ex.progress = progress
        for i, res in ex.run(tasks):
            results[i] = res
            bar.update(job, advance=1, description=plain(Path(res["path"]).name))
    return [r for r in results if r is not None]


def finish_run(args: argparse.Namespace, run_id: str, started: str, clips: list[dict], policy: Policy,
               extra: dict | None = None) -> int:
    """Write the run's outputs, print the summary, and return the exit code."""
    code = exit_code(c["verdict"] for c in clips)
    run = contract.run_dict(
        run_id=run_id, clips=clips, started_at=started, finished_at=now_iso(),
        policy_source=policy.source, policy_digest=policy.digest, exit_code=code, extra=extra,
    )
    out_dir = Path(args.report) if args.report else DEFAULT_REPORTS / run_id
    written = [contract.write_json_atomic(out_dir / "results.json", run)]
    if args.json:
        written.append(contract.write_json_atomic(args.json, run))
    for out in output_modules():
        written.extend(out.write(run, args, out_dir) or [])
    if not args.quiet:
        print_summary(run)
        for w in written:
            print(f"wrote {plain(w)}")
    return code


_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "error": "magenta"}


def _clip_name(c: dict) -> str:
    """The clip's path; for a generation job that made no clip, the job (case · model · repeat)
    and why, not the path the clip would have had."""
    from ..outputs._clipview import job_label, no_clip

    missing = no_clip(c)
    name = f"{job_label(c) or c['path']} (no clip: {missing})" if missing else c["path"]
    return markup(name)


def print_summary(run: dict) -> None:
    console = Console()
    table = Table(title=f"sora-audit {run['run_id']}", show_lines=False)
    for col in ("clip", "verdict", "duration", "size", "findings (worst first)"):
        table.add_column(col, overflow="fold")
    rank = {"fail": 0, "warn": 1, "info": 2}
    for c in run["clips"]:
        m = c.get("media") or {}
        fs = sorted(c["findings"], key=lambda f: rank.get(f["severity"], 3))
        shown = markup("; ".join(f"{f['code']}" for f in fs if f["severity"] != "info")[:160] or "-")
        table.add_row(
            _clip_name(c),
            f"[{_STYLE[c['verdict']]}]{c['verdict']}[/]",
            f"{m['duration_s']:.2f}s" if m.get("duration_s") is not None else "-",
            f"{m['width']}x{m['height']}" if m.get("width") else "-",
            shown,
        )
    console.print(table)
    counts = ", ".join(f"{v} {k}" for k, v in run["counts"].items() if v)
    console.print(f"{len(run['clips'])} clip(s): {counts}. exit code {run['exit_code']}")
    errors = [f for c in run["clips"] for f in c["findings"] if f["category"] == "runtime" and f["severity"] == "fail"]
    for f in errors:
        print(f"error: {plain(f['message'])}", file=sys.stderr)
