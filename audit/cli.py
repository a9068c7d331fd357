"""The ``sora-audit`` command line. Each subcommand lives in ``audit/commands/<name>.py`` with
``register(subparsers)`` (which sets ``func``: ``run(args) -> exit code``); a new module there
is found without editing this file."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import UsageError
from .terminal import plain

# Listed first in `--help`; the other subcommand modules follow alphabetically.
FIRST = ["check"]


def command_modules() -> list[str]:
    import pkgutil

    from . import commands

    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    names = [n for n in names if n != "common"]
    return [n for n in FIRST if n in names] + sorted(n for n in names if n not in FIRST)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own usage errors: exit 2 as docs/contract.md says
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"sora-audit: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sora-audit",
        description="Audit AI-generated video clips: provenance, watermark, quality; gate them against a policy.",
    )
    parser.add_argument("--version", action="version", version=f"sora-audit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in command_modules():
        mod = importlib.import_module(f"audit.commands.{name}")
        if hasattr(mod, "register"):
            mod.register(sub)
    return parser


def _terminated(signum, frame):
    """SIGTERM is handled as Ctrl-C is: a ``KeyboardInterrupt`` in the main thread, so that the
    same clean-up runs (workers killed, pools and servers stopped, jobs journaled) and nothing
    is left running after the process ends."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return int(args.func(args))
    except UsageError as e:
        print(f"sora-audit: error: {plain(e)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sora-audit: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
