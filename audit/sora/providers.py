"""Named providers of the Videos API: base URL + the environment variable holding the API key +
the models it is known to serve.

Built in: ``openai`` (shut its Sora API down on 2026-09-24; kept for archives and compatible
gateways), ``cometapi`` (an aggregator serving the same shape), ``emulator`` (our local server;
with no base URL, ``sora-audit run`` starts one in-process). Any of them can be overridden,
and others added, in a TOML file given with ``--providers FILE``::

    [providers.mygateway]
    base_url = "https://gateway.example.com/v1"
    api_key_env = "MYGATEWAY_KEY"        # the NAME of the variable, never the key itself
    models = ["sora-2", "sora-2-pro"]
    max_concurrency = 2                  # optional: jobs in flight at once

A base URL also comes from ``<NAME>_BASE_URL`` in the environment (``OPENAI_BASE_URL`` for
``openai``), so no host is ever wired in.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError

SORA_MODELS = ("sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06", "sora-2-2025-12-08")
EMULATOR_KEY = "emulator-local-key"


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str | None
    api_key_env: str | None
    models: tuple[str, ...] = ()
    max_concurrency: int = 2
    notes: str = ""

    @property
    def is_emulator(self) -> bool:
        return self.name == "emulator"

    def api_key(self) -> "Secret":
        """The key from the provider's variable. The emulator needs none."""
        if self.api_key_env and os.environ.get(self.api_key_env):
            return Secret(os.environ[self.api_key_env])
        if self.is_emulator:
            return Secret(EMULATOR_KEY)
        raise UsageError(
            f"provider '{self.name}' needs an API key: set the environment variable {self.api_key_env} "
            "(or pick another provider with --provider)"
        )


class Secret:
    """An API key that does not print itself: repr/str show only that it is set."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def redact(self, text: str) -> str:
        """``text`` with the key (and its longer fragments, as providers echo them) masked."""
        if not text or not self._value:
            return text
        out = text.replace(self._value, "***")
        v = self._value
        if len(v) >= 8:  # providers echo "sk-abc1***wxyz": mask such tokens too
            def mask(m: re.Match) -> str:
                s = m.group(0)
                return "***" if "*" in s and (s[:4] == v[:4] or s.rstrip(".,'\"").endswith(v[-4:])) else s
            out = re.sub(r"\S+", mask, out)
        return out


BUILTIN: dict[str, Provider] = {
    "openai": Provider("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", SORA_MODELS,
                       notes="OpenAI shut the Sora API down on 2026-09-24: expect model_unavailable"),
    "cometapi": Provider("cometapi", "https://api.cometapi.com/v1", "COMETAPI_KEY", ("sora-2", "sora-2-pro")),
    "emulator": Provider("emulator", None, "SORA_EMULATOR_KEY", SORA_MODELS,
                         notes="local server; started in-process when base_url is unset"),
}

_KEYS = {"base_url": str, "api_key_env": str, "models": list, "max_concurrency": int, "notes": str}


def load_providers(path: str | Path | None = None) -> dict[str, Provider]:
    """Built-ins, then environment base URLs, then the user's TOML file (validated)."""
    out = dict(BUILTIN)
    for name, p in list(out.items()):
        env = os.environ.get(f"{name.upper()}_BASE_URL")
        if env:
            out[name] = replace(p, base_url=env.rstrip("/"))
    if path is None:
        return out
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(p, "providers file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(p, f"cannot read providers file ({e})") from None
    unknown = set(data) - {"providers"}
    if unknown:
        raise ConfigError(p, f"unknown top-level key(s) {sorted(unknown)}; expected [providers.<name>] tables")
    for name, table in (data.get("providers") or {}).items():
        if not isinstance(table, dict):
            raise ConfigError(p, f"providers.{name} must be a table")
        for k, v in table.items():
            if k not in _KEYS:
                raise ConfigError(p, f"unknown key 'providers.{name}.{k}' (known: {', '.join(_KEYS)})")
            if not isinstance(v, _KEYS[k]) or isinstance(v, bool):
                raise ConfigError(p, f"'providers.{name}.{k}' must be {_KEYS[k].__name__}, got {v!r}")
        if "api_key" in table:  # defensive: refused above, but say why
            raise ConfigError(p, f"providers.{name}: put the key in an environment variable, not in the file")
        if "models" in table and not all(isinstance(m, str) for m in table["models"]):
            raise ConfigError(p, f"'providers.{name}.models' must be a list of strings")
        base = out.get(name, Provider(name, None, None))
        kw: dict[str, Any] = {k: v for k, v in table.items()}
        if "models" in kw:
            kw["models"] = tuple(kw["models"])
        if "base_url" in kw:
            if not kw["base_url"].startswith(("http://", "https://")):
                raise ConfigError(p, f"'providers.{name}.base_url' must start with http:// or https://")
            kw["base_url"] = kw["base_url"].rstrip("/")
        prov = replace(base, **kw)
        if prov.base_url is None and not prov.is_emulator:
            raise ConfigError(p, f"providers.{name} needs a base_url")
        if prov.max_concurrency < 1:
            raise ConfigError(p, f"'providers.{name}.max_concurrency' must be 1 or more")
        out[name] = prov
    return out


def get_provider(name: str, path: str | Path | None = None) -> Provider:
    provs = load_providers(path)
    if name not in provs:
        raise UsageError(f"unknown provider '{name}' (known: {', '.join(sorted(provs))}); add it with --providers FILE")
    return provs[name]
