"""Findings: what a check says about a clip, and the categories the report keeps apart.

A finding is small and frozen; the gate (``audit.policy``) turns findings into a verdict.
Codes are stable strings ``<category>.<name>`` that users' scripts may match on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# Categories (docs/contract.md): the report keeps them apart.
POLICY = "policy"            # provider refused the request under its content policy
RUNTIME = "runtime"          # something broke; retryable or fixable by the operator
PROVENANCE = "provenance"    # Content Credentials missing / invalid / untrusted / tampered
WATERMARK = "watermark"      # visible mark absent, partial or removed
QUALITY = "quality"          # flicker, drift, camera, black/frozen frames, cuts
CONFORMANCE = "conformance"  # duration, size, fps, audio not as requested
CATEGORIES = (POLICY, RUNTIME, PROVENANCE, WATERMARK, QUALITY, CONFORMANCE)

INFO = "info"
WARN = "warn"
FAIL = "fail"
SEVERITIES = (INFO, WARN, FAIL)
_RANK = {INFO: 0, WARN: 1, FAIL: 2}


@dataclass(frozen=True)
class Finding:
    """One observation about a clip.

    ``code`` is stable (``quality.flicker``); ``message`` is for people; ``evidence`` holds
    JSON-serialisable values (numbers in the units the message names, time ranges in seconds).
    """

    category: str
    severity: str
    code: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown finding category {self.category!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown finding severity {self.severity!r}")

    def with_severity(self, severity: str) -> "Finding":
        return Finding(self.category, severity, self.code, self.message, self.evidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Finding":
        return cls(d["category"], d["severity"], d["code"], d["message"], dict(d.get("evidence") or {}))


def worst(severities) -> str | None:
    """The most severe of ``severities`` (``None`` when empty)."""
    best = None
    for s in severities:
        if best is None or _RANK[s] > _RANK[best]:
            best = s
    return best
