"""``sora-audit webhooks serve``: receive the provider's signed ``video.completed`` /
``video.failed`` events, and download + audit the clips of journaled jobs as they finish."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..terminal import plain


def register(sub) -> None:
    p = sub.add_parser("webhooks", help="receive signed video webhooks and audit finished jobs",
                       description="Webhook receiver (Standard Webhooks signatures, 5-minute window, replays "
                       "ignored).")
    wsub = p.add_subparsers(dest="webhooks_command", metavar="ACTION")
    wsub.required = True
    s = wsub.add_parser("serve", help="listen for deliveries",
                        description="Verify each delivery (webhook-id/-timestamp/-signature with the secret in "
                        "--secret-env); on video.completed of a job journaled in OUT/jobs.sqlite, download the clip "
                        "and audit it; write REPORT/<video id>.json per event.")
    s.add_argument("--port", type=int, default=8090, help="TCP port (default 8090; 0 = any free port)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--secret-env", default="OPENAI_WEBHOOK_SECRET", metavar="VAR",
                   help="environment variable holding the webhook secret (default OPENAI_WEBHOOK_SECRET)")
    s.add_argument("--out", default=str(Path("reports") / "generated"), metavar="DIR",
                   help="the --out folder of 'sora-audit run' (its jobs.sqlite journal and clips)")
    s.add_argument("--provider", default="emulator", metavar="NAME", help="provider the jobs were made with")
    s.add_argument("--providers", metavar="FILE", help="TOML file of providers")
    s.add_argument("--base-url", metavar="URL", help="override the provider's base URL")
    s.add_argument("--report", default=str(Path("reports") / "webhooks"), metavar="DIR",
                   help="where each event's results go (default reports/webhooks)")
    s.add_argument("--policy", metavar="FILE", help="TOML gate policy")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from .common import serve_until_stopped
    from ..pipeline import AuditOptions
    from ..policy import load_policy
    from ..sora.client import VideosClient
    from ..sora.jobs import JobStore
    from ..sora.providers import get_provider
    from ..sora.receiver import handle_video_event
    from ..sora.webhooks import WebhookReceiver

    secret = os.environ.get(args.secret_env)
    if not secret:
        raise UsageError(f"set the webhook secret in ${args.secret_env} (or name another variable with --secret-env)")
    journal = Path(args.out) / "jobs.sqlite"
    if not journal.is_file():
        raise UsageError(f"{journal}: no job journal there; run `sora-audit run SUITE --out {args.out}` first")
    provider = get_provider(args.provider, args.providers)
    base = args.base_url or provider.base_url
    if not base:
        raise UsageError(f"provider '{provider.name}' has no base URL here: give --base-url")
    client = VideosClient(provider, provider.api_key(), base_url=base)
    store = JobStore(journal)
    options = AuditOptions(policy=load_policy(args.policy))

    def on_event(event: dict) -> None:
        out = handle_video_event(event, store=store, client=client, options=options, report_dir=Path(args.report))
        if out is not None:
            print(plain(f"{event.get('type')} {event.get('data', {}).get('id')}: wrote {out}"), flush=True)

    recv = WebhookReceiver(secret, on_event, host=args.host, port=args.port)
    serve_until_stopped(recv, f"{args.host}:{args.port}", "sora-audit webhooks: listening on")
    client.close()
    store.close()
    print(f"stopped; {recv.stats}", file=sys.stderr)
    return 0
