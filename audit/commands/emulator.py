"""``sora-audit emulator --port N``: serve the local Videos API emulator by hand."""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "emulator", help="serve a local Videos API emulator on 127.0.0.1 (no key, no network)",
        description="Serve the OpenAI Videos API shape on 127.0.0.1 with real rendered MP4s and faults on demand "
        "(prompt keywords such as [refuse], [real-person], [fail-internal], [429], [5xx], [slow], [cut]; see "
        "audit/sora/emulator.py). Request bodies are read as strictly as the real API reads them. "
        "Point a provider at it: [providers.local] base_url = \"http://127.0.0.1:PORT/v1\".",
    )
    p.add_argument("--port", type=int, default=8089, help="TCP port (0 = any free port; default 8089)")
    p.add_argument("--job-seconds", type=float, default=3.0, help="how long a job takes (default 3)")
    p.add_argument("--api-key", metavar="KEY_ENV", help="require the key held in this environment variable")
    p.add_argument("--strict", action="store_true", help="accept only the API's seconds (4/8/12) and sizes, and a reference image of the requested "
                   "size (bodies are always read strictly: multipart or JSON, no unknown field, model required)")
    p.add_argument("--webhook-url", help="POST signed video.completed / video.failed events here")
    p.add_argument("--webhook-secret-env", metavar="VAR", default="SORA_WEBHOOK_SECRET",
                   help="environment variable holding the webhook secret (default SORA_WEBHOOK_SECRET)")
    p.add_argument("--fps", type=float, default=24.0, help="frame rate of rendered clips (default 24)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from ..errors import UsageError
    from .common import serve_until_stopped
    from ..sora.emulator import Emulator, EmulatorSettings

    key = None
    if args.api_key:
        key = os.environ.get(args.api_key)
        if not key:
            raise UsageError(f"--api-key {args.api_key}: that environment variable is not set")
    secret = os.environ.get(args.webhook_secret_env)
    if args.webhook_url and not secret:
        raise UsageError(f"--webhook-url needs a secret in ${args.webhook_secret_env}")
    emu = Emulator(EmulatorSettings(job_seconds=args.job_seconds, api_key=key, strict=args.strict, fps=args.fps,
                                    webhook_url=args.webhook_url, webhook_secret=secret), port=args.port)
    serve_until_stopped(emu, f"127.0.0.1:{args.port}", "sora-audit emulator serving")
    print(f"stopped; counts: {emu.counts}", file=sys.stderr)
    return 0
