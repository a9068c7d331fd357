"""The JSON contract (results.json, ``--json``), serialised in one place.

Field names here are read by users' scripts, dashboards and CI: add fields freely, rename none
without bumping ``SCHEMA_VERSION``'s major number. The contract is described by the JSON Schema
shipped in the package (``schema_path()``, audit/schema/results.schema.json) and documented in
docs/contract.md; a change here changes both, and ``SCHEMA_VERSION`` with them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from . import TOOL_NAME, __version__
from .findings import Finding
from .media import MediaInfo
from .source import Source

SCHEMA_VERSION = "1.3"
# Metric blocks every clip carries (null until the detector that fills it exists or runs).
METRIC_KEYS = ("flicker", "drift", "camera")


def schema_path() -> Path:
    """The JSON Schema (2020-12) of a results document, as installed with the package."""
    return Path(__file__).resolve().parent / "schema" / "results.schema.json"


def clip_dict(
    *,
    path: str,
    verdict: str,
    source: Source | None,
    media: MediaInfo | None,
    blocks: Mapping[str, Any],
    metrics: Mapping[str, Any],
    findings: Iterable[Finding],
    sha256: str | None = None,
    timings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    m = {k: None for k in METRIC_KEYS}
    m.update(metrics)
    d = {
        "path": path,
        "verdict": verdict,
        "source": source.to_dict() if source else None,
        "media": media.to_dict() if media else None,
        "provenance": blocks.get("provenance"),
        "watermark": blocks.get("watermark"),
        "metrics": m,
        "findings": [f.to_dict() for f in findings],
        "sha256": sha256,
        "timings": dict(timings or {}),
    }
    # blocks of detectors with their own slot (e.g. "keyframes") travel as top-level fields
    for k, v in blocks.items():
        d.setdefault(k, v)
    return d


def run_dict(
    *,
    run_id: str,
    clips: list[dict[str, Any]],
    started_at: str,
    finished_at: str,
    policy_source: str,
    policy_digest: str,
    exit_code: int,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    counts = {v: 0 for v in ("pass", "warn", "fail", "error")}
    for c in clips:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    d = {
        "tool": TOOL_NAME,
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": finished_at,
        "policy": {"source": policy_source, "sha256": policy_digest},
        "counts": counts,
        "exit_code": exit_code,
        "clips": clips,
    }
    if extra:
        d.update(extra)
    return d


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write JSON to ``path`` via a temporary file and a rename: never a half-written file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; a report is meant to be read by others (the umask still applies)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
