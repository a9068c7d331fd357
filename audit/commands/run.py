"""``sora-audit run SUITE``: generate every case x model x repeat of a suite through a Videos API
provider, audit each clip, and report refusals and failures as clips of their own."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from ..errors import UsageError
from ..pipeline import AuditTask
from ..policy import load_policy
from ..terminal import plain
from .common import add_audit_options, default_jobs, executor_from_args, finish_run, new_run_id, now_iso, options_from_args, run_tasks

DEFAULT_OUT = Path("reports") / "generated"


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="generate a suite's clips through a Videos API provider, then audit them",
        description="Generate every case x model x repeat of SUITE (TOML) through a provider's Videos API "
        "(default: the suite's provider, else the local emulator started in-process), audit each clip, and "
        "report provider refusals (category policy, verdict fail) and failures (category runtime, verdict "
        "error) as entries of their own. Every paid job is journaled in OUT/jobs.sqlite before it is polled; "
        "--resume continues the last run of this suite without paying twice. Exit codes as 'check'.",
    )
    p.add_argument("suite", metavar="SUITE", help="suite file (TOML); see fixtures/suites/")
    p.add_argument("--provider", metavar="NAME", help="provider name: openai, cometapi, emulator, or one of --providers")
    p.add_argument("--providers", metavar="FILE", help="TOML file of providers ([providers.NAME] base_url, api_key_env, models)")
    p.add_argument("--resume", nargs="?", const="latest", metavar="RUN_ID",
                   help="continue the last run of this suite (or RUN_ID): journaled jobs are polled and downloaded, "
                   "never created again")
    p.add_argument("--out", metavar="DIR", default=str(DEFAULT_OUT),
                   help=f"folder for the job journal and the downloaded clips (default {DEFAULT_OUT})")
    p.add_argument("--concurrency", type=int, metavar="N", help="jobs in flight at once (default: the provider's, 2)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="seconds per HTTP request (default 60)")
    p.add_argument("--job-timeout", type=float, default=1800.0, metavar="S",
                   help="seconds to wait for one job to finish (default 1800)")
    p.add_argument("--poll-interval", type=float, default=2.0, metavar="S",
                   help="seconds between polls when the provider does not say (default 2, backs off to 20)")
    p.add_argument("--max-retries", type=int, default=3, metavar="N",
                   help="retries of a request on 429/5xx/connection errors (default 3)")
    add_audit_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..sora.client import ClientConfig, RetryPolicy, VideosClient
    from ..sora.emulator import Emulator
    from ..sora.generate import Generator, failure_clip
    from ..sora.jobs import JobStore
    from ..sora.providers import get_provider
    from ..sora.suite import load_suite

    policy = load_policy(args.policy)
    options = options_from_args(args, policy)
    suite = load_suite(args.suite)
    provider = get_provider(args.provider or suite.provider or "emulator", args.providers)
    key = provider.api_key()
    for case in suite.cases:
        for m in case.models:
            if provider.models and m not in provider.models:
                print(plain(f"sora-audit: note: {provider.name} is not known to serve '{m}' (case {case.id}); trying anyway"),
                      file=sys.stderr)
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError("--concurrency must be 1 or more")
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 0:
        raise UsageError("--jobs must be 0 or more")
    executor = executor_from_args(args, jobs)  # flag errors now, before any paid job

    if args.resume and provider.is_emulator and not provider.base_url:
        raise UsageError("--resume: the in-process emulator keeps no jobs between runs; serve it with "
                         "`sora-audit emulator --port 8089` and point a provider at it (--providers FILE) to try resume")
    out = Path(args.out)
    store = JobStore(out / "jobs.sqlite")
    suite_key = str(suite.path)
    if args.resume:
        gen_run = store.latest_run(suite_key) if args.resume == "latest" else args.resume
        info = store.run_info(gen_run) if gen_run else None
        if info is None:
            raise UsageError(f"nothing to resume: no run of {args.suite} in {store.path}"
                             if args.resume == "latest" else f"--resume {args.resume}: no such run in {store.path}")
        if info["suite"] != suite_key:
            raise UsageError(f"--resume {gen_run}: that run was of {info['suite']}, not {suite_key}")
        if info["suite_sha"] != suite.sha256:
            print(f"sora-audit: note: {args.suite} changed since run {gen_run}; cases are matched by id",
                  file=sys.stderr)
        if info["provider"] != provider.name:
            raise UsageError(f"--resume {gen_run}: that run used provider '{info['provider']}', not '{provider.name}'")
        run_id = new_run_id()
    else:
        gen_run = run_id = new_run_id()
        store.new_run(gen_run, suite_key, suite.sha256, provider.name)

    emu = None
    base_url = provider.base_url
    if provider.is_emulator and not base_url:
        emu = Emulator()
        base_url = emu.start()
    cfg = ClientConfig(timeout=args.timeout, poll_interval=args.poll_interval, job_timeout=args.job_timeout,
                       retry=RetryPolicy(max_retries=args.max_retries))
    client = VideosClient(provider, key, cfg, base_url=base_url)
    started = now_iso()
    try:
        outcomes = _generate(Generator(client, store, gen_run, out / gen_run, provider.name), suite, args,
                             provider.max_concurrency)
    except KeyboardInterrupt:
        print(f"sora-audit: interrupted; every paid job is journaled in {store.path}. Continue with: "
              f"sora-audit run {args.suite} --resume {gen_run}", file=sys.stderr)
        raise
    finally:
        client.close()
        if emu is not None:
            emu.stop()

    tasks = [AuditTask(str(o.clip), options, source=o.source) for o in outcomes if o.clip is not None]
    audited = iter(run_tasks(tasks, jobs, args.quiet, executor=executor) if tasks else [])
    clips = []
    for o in outcomes:
        row = store.get(o.job_key)
        gen = {"run": gen_run, "job_key": o.job_key, "provider": provider.name, "video_id": row.video_id if row else None,
               "status": row.status if row else None, "creates_sent": row.creates_sent if row else 0,
               "reused": o.reused}
        if o.clip is not None:
            c = next(audited)
        else:
            c = failure_clip(o.error, case_id=o.case.id, model=o.model, prompt=o.case.prompt, source=o.source,
                             policy=policy, path=str(Path(args.out) / gen_run / o.case.id / f"{o.model}-r{o.repeat}.mp4"))
        c["generation"] = gen
        clips.append(c)
    store.finish_run(gen_run)
    extra = {"suite": {"name": suite.name, "path": suite_key},
             "generation": {"suite": suite_key, "suite_name": suite.name, "provider": provider.name,
                            "base_url": base_url, "run": gen_run, "resumed": bool(args.resume),
                            "journal": str(store.path), "jobs": store.counts(gen_run)}}
    if emu is not None:
        extra["generation"]["emulator"] = dict(emu.counts)
    store.close()
    return finish_run(args, run_id, started, clips, policy, extra=extra)


def _generate(gen, suite, args, provider_concurrency: int):
    console = Console(stderr=True)
    labels = {gen.job_key(c, m, r): f"{c.id}/{m}/r{r}" for c, m, r in suite.jobs()}
    # label (suite case ids) and status (the provider's words) are shown as plain text, never markup
    with Progress(TextColumn("[bold]generating"), TextColumn("{task.fields[label]}", markup=False), BarColumn(),
                  TaskProgressColumn(), TextColumn("{task.fields[status]}", markup=False), TimeElapsedColumn(),
                  console=console, disable=args.quiet) as bar:
        tasks = {k: bar.add_task("", total=100, label=plain(v), status="pending") for k, v in labels.items()}
        lock = threading.Lock()

        def progress(key: str, status: str, pct: int) -> None:
            with lock:
                bar.update(tasks[key], completed=pct, status=plain(status))

        gen.progress = progress
        return gen.run_all(suite.jobs(), args.concurrency or provider_concurrency)

