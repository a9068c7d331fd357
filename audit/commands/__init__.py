"""Subcommands of ``sora-audit``; see ``audit.cli.COMMANDS``."""
