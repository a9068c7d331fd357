"""Every error sora-audit raises on purpose, in one tree.

    AuditError                  base: catch this to catch anything of ours
    ├── UsageError              bad arguments; the CLI exits 2
    │   └── ConfigError         a policy, suite or config file that cannot be used (names the file)
    └── InputError              one clip cannot be audited: verdict ``error``, a ``runtime`` finding,
        │                       the rest of the batch goes on
        ├── MissingFileError    the path does not exist
        ├── EmptyFileError      zero bytes
        ├── NotAVideoError      no video stream (text, audio-only, random bytes, image)
        └── UndecodableError    a video stream that cannot be decoded (truncated, corrupt)

Each ``InputError`` carries the path, a stable finding ``code`` and a ``hint`` that says what to
do. Other branches (the generation API, provenance) hang their own classes under ``AuditError``
in their own modules and are drawn here when they are added:
``audit/sora/errors.py`` (GenerationError: PolicyRefusal | GenerationRuntimeError ...).
"""

from __future__ import annotations

from pathlib import Path


class AuditError(Exception):
    """Base of every error sora-audit raises on purpose."""


class UsageError(AuditError):
    """Bad command-line usage; the CLI exits 2."""


class ConfigError(UsageError):
    """A policy, suite or config file that cannot be used. The message names the file."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = str(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class InputError(AuditError):
    """One clip cannot be audited. Becomes an ``error`` verdict with a ``runtime`` finding."""

    code = "runtime.input_error"
    hint = "Check the file"

    def __init__(self, path: str | Path, problem: str, hint: str | None = None):
        self.path = str(path)
        self.problem = problem
        if hint is not None:
            self.hint = hint
        super().__init__(f"{self.path}: {problem}")


class MissingFileError(InputError):
    code = "runtime.file_missing"
    hint = "Check the path: nothing exists there"


class EmptyFileError(InputError):
    code = "runtime.file_empty"
    hint = "A zero-byte file is usually a cut-off download or copy: fetch it again"


class NotAVideoError(InputError):
    code = "runtime.not_a_video"
    hint = "Give an MP4, MOV or M4V clip with a video stream"


class UndecodableError(InputError):
    code = "runtime.undecodable"
    hint = "The file is truncated or corrupt: download or export it again"
