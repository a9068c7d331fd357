"""The gate policy: thresholds and requirements from TOML, and the verdict they give.

Defaults live in ``policy_defaults.toml`` beside this module (documented there). A user file
overrides any subset; unknown keys or wrong types are refused with the file and key named.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import ConfigError
from .files import config_file
from .findings import CATEGORIES, FAIL, RUNTIME, SEVERITIES, WARN, Finding

# Sections whose keys are free (maps), not a fixed schema.
OPEN_SECTIONS = {"severity"}
# Keys whose value is one of a few words: refused when the file loads (exit 2, before any clip),
# not discovered clip by clip.
CHOICES = {
    "gate.warn_as": ("warn", "fail"),
    "conformance.severity": ("info", "warn", "fail"),
    "provenance.require": ("any", "manifest", "watermark", "both", "none"),
    "provenance.unmet": ("warn", "fail"),
}
VERDICTS = ("pass", "warn", "fail", "error")


def default_files() -> list[tuple[str, str]]:
    """(name, text) of every defaults file: ``policy_defaults.toml`` (gate, media, severity)
    then ``defaults/*.toml``, one per capability (flicker, watermark, provenance...)."""
    root = resources.files("audit")
    out = [("policy_defaults.toml", root.joinpath("policy_defaults.toml").read_text(encoding="utf-8"))]
    frag = root.joinpath("defaults")
    if frag.is_dir():
        for f in sorted(frag.iterdir(), key=lambda f: f.name):
            if f.name.endswith(".toml"):
                out.append((f"defaults/{f.name}", f.read_text(encoding="utf-8")))
    return out


def _defaults() -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, text in default_files():
        part = tomllib.loads(text)
        clash = set(part) & set(data)
        if clash:  # a programming error: two capabilities claiming one section
            raise RuntimeError(f"audit/{name}: section(s) {sorted(clash)} already defined elsewhere")
        data.update(part)
    return data


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, list):
        return isinstance(value, list)
    if isinstance(default, dict):
        return isinstance(value, dict)
    return isinstance(value, type(default))


def _merge(base: dict, user: Mapping, where: str, path: str) -> None:
    for key, value in user.items():
        dotted = f"{where}.{key}" if where else key
        if where in OPEN_SECTIONS:
            base[key] = value
            continue
        if key not in base:
            known = ", ".join(sorted(base)) or "(none)"
            raise ConfigError(path, f"unknown policy key '{dotted}' (known here: {known})")
        default = base[key]
        if isinstance(default, dict) and not (dotted in OPEN_SECTIONS):
            if not isinstance(value, dict):
                raise ConfigError(path, f"'{dotted}' must be a table")
            _merge(default, value, dotted, path)
        elif not _type_ok(default, value):
            raise ConfigError(
                path, f"'{dotted}' must be {type(default).__name__}, got {type(value).__name__} {value!r}"
            )
        else:
            base[key] = float(value) if isinstance(default, float) else value


@dataclass(frozen=True)
class Policy:
    """A merged policy. ``data`` is plain TOML-shaped dicts; ``source`` says where it came from."""

    data: Mapping[str, Any]
    source: str = "defaults"
    user_text: str = field(default="", repr=False)

    def section(self, name: str) -> Mapping[str, Any]:
        return self.data.get(name, {})

    def get(self, section: str, key: str) -> Any:
        return self.data[section][key]

    @property
    def digest(self) -> str:
        """sha256 of the merged policy (stable key order): identifies the gate a run used."""
        blob = json.dumps(self.data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    def apply_overrides(self, findings: Iterable[Finding]) -> list[Finding]:
        """Findings after the ``[severity]`` overrides (``ignore`` drops a finding)."""
        table = self.section("severity")
        out = []
        for f in findings:
            sev = table.get(f.code, f.severity)
            if sev == "ignore":
                continue
            out.append(f.with_severity(sev) if sev != f.severity else f)
        return out

    def verdict(self, findings: Iterable[Finding]) -> str:
        """pass | warn | fail | error, from findings already passed through ``apply_overrides``.

        Only categories listed in ``[gate] categories`` count (runtime always does)."""
        gated = set(self.get("gate", "categories")) | {RUNTIME}
        fs = [f for f in findings if f.category in gated]
        if any(f.severity == FAIL and f.category != RUNTIME for f in fs):
            return "fail"
        if any(f.severity == FAIL for f in fs):
            return "error"
        if any(f.severity == WARN for f in fs):
            return "fail" if self.get("gate", "warn_as") == "fail" else "warn"
        return "pass"


def load_policy(path: str | Path | None = None) -> Policy:
    """Defaults merged with the TOML file at ``path``. Raises ``ConfigError`` naming the file."""
    data = _defaults()
    if path is None:
        return Policy(data)
    p = config_file(path, "policy file")  # never a FIFO or device: reading one blocks or never ends
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(p, "policy file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(p, f"cannot read policy file ({e})") from None
    try:
        user = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(p, f"not valid TOML: {e}") from None
    merged = copy.deepcopy(data)
    _merge(merged, user, "", str(p))
    for code, sev in merged.get("severity", {}).items():
        if sev not in (*SEVERITIES, "ignore"):
            raise ConfigError(p, f"severity.'{code}' must be one of info, warn, fail, ignore; got {sev!r}")
    unknown = set(merged["gate"]["categories"]) - set(CATEGORIES)
    if unknown:
        raise ConfigError(p, f"gate.categories has unknown {sorted(unknown)}; known: {', '.join(CATEGORIES)}")
    for dotted, allowed in CHOICES.items():
        section, key = dotted.split(".")
        value = merged.get(section, {}).get(key)
        if value is not None and value not in allowed:
            raise ConfigError(p, f"'{dotted}' must be one of {', '.join(allowed)}; got {value!r}")
    return Policy(merged, str(p), text)


def exit_code(verdicts: Iterable[str]) -> int:
    """docs/contract.md: 0 all passed (warnings allowed), 1 any failed, 3 any error and none failed."""
    vs = list(verdicts)
    if "fail" in vs:
        return 1
    if "error" in vs:
        return 3
    return 0
