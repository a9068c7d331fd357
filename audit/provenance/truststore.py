"""The public C2PA trust lists: where they come from, the user cache that holds them, and the
trust configuration a run uses.

``sora-audit trust update`` fills the cache (HTTPS download with httpx, or ``--from DIR``) and
records each file's source, time and sha256 in ``sources.json``. Runs read the cache when no
trust file is given; they never download.

Cache folder: ``$SORA_AUDIT_TRUST_DIR`` if set, else ``$XDG_CACHE_HOME/sora-audit/trust``,
else ``~/.cache/sora-audit/trust``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..errors import AuditError, ConfigError
from .reading import TrustConfig

_RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class ListFile:
    name: str        # file name in the cache (and in a --from folder)
    url: str         # where `trust update` downloads it
    role: str        # anchors | allowed | trust_config | tsa_anchors
    what: str


LISTS: tuple[ListFile, ...] = (
    ListFile("C2PA-TRUST-LIST.pem", f"{_RAW}/c2pa-org/conformance-public/main/trust-list/C2PA-TRUST-LIST.pem",
             "anchors", "official C2PA trust list"),
    ListFile("C2PA-TSA-TRUST-LIST.pem", f"{_RAW}/c2pa-org/conformance-public/main/trust-list/C2PA-TSA-TRUST-LIST.pem",
             "tsa_anchors", "official C2PA time-stamping authority list"),
    ListFile("CAI-ANCHORS.pem", f"{_RAW}/contentauth/verify-site/main/static/trust/anchors.pem",
             "anchors", "Content Credentials (CAI) interim trust anchors"),
    ListFile("CAI-ALLOWED.pem", f"{_RAW}/contentauth/verify-site/main/static/trust/allowed.pem",
             "allowed", "Content Credentials (CAI) interim allowed end-entity certificates"),
    ListFile("EKU-CONFIG.cfg", f"{_RAW}/contentauth/c2pa-rs/main/sdk/tests/fixtures/certs/trust/store.cfg",
             "trust_config", "extended key usages accepted for signing"),
)
SOURCES = "sources.json"
BASE_URL_ENV = "SORA_AUDIT_TRUST_BASE_URL"   # test/mirror override: <base>/<file name> for every list


class TrustUpdateError(AuditError):
    """`trust update` could not fetch or install the lists (nothing in the cache was changed)."""


def cache_dir() -> Path:
    if os.environ.get("SORA_AUDIT_TRUST_DIR"):
        return Path(os.environ["SORA_AUDIT_TRUST_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sora-audit" / "trust"


def _check_content(f: ListFile, data: bytes, origin: str) -> None:
    text = data.decode("utf-8", errors="replace")
    if f.name.endswith(".pem") and "-----BEGIN CERTIFICATE-----" not in text:
        raise TrustUpdateError(f"{origin}: not a PEM certificate list (no -----BEGIN CERTIFICATE-----); "
                               "nothing was installed")
    if f.role == "trust_config" and not any(line.strip()[:1].isdigit() for line in text.splitlines()):
        raise TrustUpdateError(f"{origin}: no OID line in this EKU configuration; nothing was installed")


def _install(files: Mapping[str, tuple[bytes, str]], dest: Path) -> Path:
    """Write every file then ``sources.json``; each via a temporary file and a rename."""
    dest.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    sources = {"updated_at": now, "files": {}}
    for f in LISTS:
        data, origin = files[f.name]
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{f.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest / f.name)
        sources["files"][f.name] = {"source": origin, "fetched_at": now, "sha256": hashlib.sha256(data).hexdigest(),
                                    "bytes": len(data), "role": f.role, "what": f.what,
                                    "certificates": data.count(b"-----BEGIN CERTIFICATE-----")}
    (dest / SOURCES).write_text(json.dumps(sources, indent=2) + "\n", encoding="utf-8")
    return dest / SOURCES


def install_from_dir(src: str | Path, dest: Path | None = None) -> Path:
    """Install the lists from a local folder holding files named as in ``LISTS``."""
    src = Path(src)
    if not src.is_dir():
        raise TrustUpdateError(f"{src}: not a folder")
    files = {}
    for f in LISTS:
        p = src / f.name
        if not p.is_file():
            raise TrustUpdateError(f"{p}: missing (a --from folder must hold {', '.join(x.name for x in LISTS)}); "
                                   "nothing was installed")
        data = p.read_bytes()
        _check_content(f, data, str(p))
        files[f.name] = (data, str(p.resolve()))
    return _install(files, dest or cache_dir())


def download(dest: Path | None = None, base_url: str | None = None, *, client=None,
             progress: Callable[[ListFile, int], None] | None = None, timeout: float = 30.0) -> Path:
    """Download every list over HTTPS (or from ``base_url``/<name>) and install them together:
    a failure leaves the cache as it was."""
    import httpx

    base_url = base_url or os.environ.get(BASE_URL_ENV)
    own = client is None
    client = client or httpx.Client(timeout=timeout, follow_redirects=True)
    files = {}
    try:
        for f in LISTS:
            url = f"{base_url.rstrip('/')}/{f.name}" if base_url else f.url
            try:
                r = client.get(url)
                r.raise_for_status()
            except httpx.HTTPStatusError as e:
                raise TrustUpdateError(f"{url}: HTTP {e.response.status_code}; nothing was installed. "
                                       "Retry later, or install local copies with --from DIR") from None
            except httpx.HTTPError as e:
                raise TrustUpdateError(f"{url}: {type(e).__name__}: {e}; nothing was installed. "
                                       "Check the network, or install local copies with --from DIR") from None
            _check_content(f, r.content, url)
            files[f.name] = (r.content, url)
            if progress:
                progress(f, len(r.content))
    finally:
        if own:
            client.close()
    return _install(files, dest or cache_dir())


def cached_sources(directory: Path | None = None) -> dict[str, Any] | None:
    p = (directory or cache_dir()) / SOURCES
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_cached(directory: Path | None = None) -> TrustConfig | None:
    """The trust configuration from the cache, or None when `trust update` never ran."""
    d = directory or cache_dir()
    if cached_sources(d) is None:
        return None
    try:
        anchors = "".join((d / f.name).read_text(encoding="utf-8").strip() + "\n" for f in LISTS if f.role == "anchors")
        allowed = "".join((d / f.name).read_text(encoding="utf-8") for f in LISTS if f.role == "allowed")
        eku = "".join((d / f.name).read_text(encoding="utf-8") for f in LISTS if f.role == "trust_config")
    except OSError:
        return None
    return TrustConfig(anchors, allowed, eku, (f"cache:{d}",))


def resolve(pol: Mapping[str, Any], anchors: Iterable[str] = (), allowed: str | None = None,
            trust_config: str | None = None) -> TrustConfig | None:
    """The trust configuration of a run: the flags and the policy's files (added together);
    without any, the cache of `trust update` (unless ``use_trust_cache = false``); else None."""
    a = [*(pol.get("trust_anchors") or []), *anchors]
    al = allowed or pol.get("allowed_list") or None
    tc = trust_config or pol.get("trust_config") or None
    if a or al:
        cfg = TrustConfig.from_files(a, al, tc)
        if not tc:
            cached = load_cached() if pol.get("use_trust_cache", True) else None
            if cached and cached.eku_config:  # the usual EKU set, when the user gave none
                cfg = TrustConfig(cfg.anchors, cfg.allowed, cached.eku_config, cfg.sources + ("trust_config:cache",))
        return cfg
    if tc:
        raise ConfigError(tc, "a trust config (EKU list) alone trusts nobody: give --trust-anchors or --allowed-list too")
    if pol.get("use_trust_cache", True):
        return load_cached()
    return None
