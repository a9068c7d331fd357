"""Suites: TOML files of generation cases.

    [suite]                       # optional defaults for every case
    name = "harbour"
    provider = "emulator"         # overridden by --provider
    models = ["sora-2"]
    seconds = 4                   # "4" | 4 (the API takes "4", "8", "12")
    size = "1280x720"
    repeats = 1

    [[case]]
    id = "harbour-pan"            # letters, digits, . _ - ; unique in the suite
    prompt = "Slow pan left across the harbour at dawn"
    reference = "../references/clean_pan.jpg"   # relative to the suite file; optional
    models = ["sora-2", "sora-2-pro"]           # optional: else [suite].models
    seconds = 8                                 # optional
    size = "1280x720"                           # optional
    repeats = 2                                 # optional
    expected_camera = "pan_left"                # optional: else none expected

Every problem is a ``ConfigError`` naming the file and the key (``case[2] 'harbour-pan'.size``).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..files import config_file

CAMERA = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "roll", "complex")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SUITE_KEYS = {"name", "provider", "models", "seconds", "size", "repeats", "description"}
CASE_KEYS = {"id", "prompt", "reference", "models", "seconds", "size", "repeats", "expected_camera", "description"}


@dataclass(frozen=True)
class Case:
    id: str
    prompt: str
    models: tuple[str, ...]
    seconds: str
    size: str
    repeats: int = 1
    reference: str | None = None      # absolute path
    expected_camera: str | None = None


@dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    provider: str | None
    cases: tuple[Case, ...]
    sha256: str

    def jobs(self):
        """Every (case, model, repeat) in a stable order. ``repeat`` counts from 1."""
        for c in self.cases:
            for m in c.models:
                for r in range(1, c.repeats + 1):
                    yield c, m, r


def load_suite(path: str | Path) -> Suite:
    p = config_file(path, "suite file")
    try:
        raw = p.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(p, "suite file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(p, f"cannot read suite file ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(p, f"not valid TOML: {e}") from None
    unknown = set(data) - {"suite", "case"}
    if unknown:
        raise ConfigError(p, f"unknown top-level key(s) {sorted(unknown)}; expected [suite] and [[case]]")
    head = data.get("suite", {})
    if not isinstance(head, dict):
        raise ConfigError(p, "[suite] must be a table")
    _no_unknown(p, "suite", head, SUITE_KEYS)
    defaults = {
        "models": _models(p, "suite.models", head.get("models", ["sora-2"])),
        "seconds": _seconds(p, "suite.seconds", head.get("seconds", "4")),
        "size": _size(p, "suite.size", head.get("size", "1280x720")),
        "repeats": _repeats(p, "suite.repeats", head.get("repeats", 1)),
    }
    provider = head.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise ConfigError(p, f"'suite.provider' must be a string, got {provider!r}")
    cases_raw = data.get("case", [])
    if not isinstance(cases_raw, list) or not cases_raw:
        raise ConfigError(p, "no [[case]] in the suite: add at least one")
    cases, seen = [], set()
    for i, c in enumerate(cases_raw, 1):
        if not isinstance(c, dict):
            raise ConfigError(p, f"case[{i}] must be a table")
        cid = c.get("id")
        where = f"case[{i}]" + (f" '{cid}'" if isinstance(cid, str) else "")
        _no_unknown(p, where, c, CASE_KEYS)
        if not isinstance(cid, str) or not _ID.match(cid):
            raise ConfigError(p, f"{where}.id must be 1-64 letters, digits, '.', '_' or '-', got {cid!r}")
        if cid in seen:
            raise ConfigError(p, f"{where}.id is used twice")
        seen.add(cid)
        prompt = c.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigError(p, f"{where}.prompt must be a non-empty string")
        if len(prompt) > 32000:
            raise ConfigError(p, f"{where}.prompt is longer than the API's 32000 characters")
        ref = c.get("reference")
        if ref is not None:
            if not isinstance(ref, str):
                raise ConfigError(p, f"{where}.reference must be a path string")
            try:
                rp = (p.parent / ref).resolve()
            except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
                raise ConfigError(p, f"{where}.reference: {ref} is a symlink loop") from None
            if not rp.is_file():  # (a FIFO or device is not a file: never opened)
                raise ConfigError(p, f"{where}.reference: image not found at {rp}")
            if rp.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
                raise ConfigError(p, f"{where}.reference must be a PNG, JPEG or WebP image, got {rp.name}")
            ref = str(rp)
        cam = c.get("expected_camera")
        if cam is not None and cam not in CAMERA:
            raise ConfigError(p, f"{where}.expected_camera must be one of {', '.join(CAMERA)}, got {cam!r}")
        cases.append(Case(
            id=cid, prompt=prompt,
            models=_models(p, f"{where}.models", c["models"]) if "models" in c else defaults["models"],
            seconds=_seconds(p, f"{where}.seconds", c["seconds"]) if "seconds" in c else defaults["seconds"],
            size=_size(p, f"{where}.size", c["size"]) if "size" in c else defaults["size"],
            repeats=_repeats(p, f"{where}.repeats", c["repeats"]) if "repeats" in c else defaults["repeats"],
            reference=ref, expected_camera=cam,
        ))
    return Suite(p.resolve(), head.get("name") or p.stem, provider, tuple(cases), hashlib.sha256(raw).hexdigest())


def _no_unknown(p: Path, where: str, d: dict, known: set[str]) -> None:
    extra = set(d) - known
    if extra:
        raise ConfigError(p, f"unknown key(s) {', '.join(f'{where}.{k}' for k in sorted(extra))} "
                             f"(known: {', '.join(sorted(known))})")


def _models(p: Path, key: str, v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(m, str) and m for m in v):
        raise ConfigError(p, f"'{key}' must be a non-empty list of model names, got {v!r}")
    if len(set(v)) != len(v):
        raise ConfigError(p, f"'{key}' lists a model twice")
    return tuple(v)


def _seconds(p: Path, key: str, v: Any) -> str:
    try:
        f = float(v) if not isinstance(v, bool) else float("nan")
    except (TypeError, ValueError):
        f = float("nan")
    if not (0 < f <= 60):
        raise ConfigError(p, f"'{key}' must be a number of seconds like 4, 8 or 12, got {v!r}")
    return str(int(f)) if f.is_integer() else str(f)


def _size(p: Path, key: str, v: Any) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"\d{2,5}x\d{2,5}", v.lower()):
        raise ConfigError(p, f"'{key}' must look like 1280x720 (width x height in pixels), got {v!r}")
    return v.lower()


def _repeats(p: Path, key: str, v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not (1 <= v <= 100):
        raise ConfigError(p, f"'{key}' must be a whole number from 1 to 100, got {v!r}")
    return v
