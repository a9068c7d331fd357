"""Detectors: one module each, fed analysis frames by the pipeline, knowing nothing of decoding.

The interface (after PySceneDetect's ``SceneDetector``)::

    class MyDetector(Detector):
        name = "flicker"            # key of its result
        slot = "metrics"            # where the result goes in the JSON contract:
                                    #   "metrics" -> clip["metrics"][name]
                                    #   "watermark" / "provenance" -> clip[slot]
        wants_frames = True         # False: runs once, in finish(), on the file and context

        def __init__(self, ctx): ...          # ctx: audit.pipeline.AuditContext
        def feed(self, frame): ...            # frame: audit.media.Frame (t in seconds)
        def finish(self) -> DetectorResult: ...

Adding a detector is one new module here plus one line in ``REGISTRY`` below. Thresholds are
read from ``ctx.policy`` (see ``audit/policy_defaults.toml``), never hard-coded in a detector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from ..findings import Finding

if TYPE_CHECKING:  # pragma: no cover
    from ..media import Frame
    from ..pipeline import AuditContext


@dataclass(frozen=True)
class DetectorResult:
    """What a detector hands back: its JSON block (``data``) and its findings."""

    data: Mapping[str, Any] | None
    findings: tuple[Finding, ...] = field(default_factory=tuple)


class Detector:
    """Base class: override ``feed`` and ``finish``. One instance audits one clip."""

    name: ClassVar[str] = ""
    slot: ClassVar[str] = "metrics"
    wants_frames: ClassVar[bool] = True

    def __init__(self, ctx: "AuditContext"):
        self.ctx = ctx

    @classmethod
    def enabled(cls, ctx: "AuditContext") -> bool:
        """Whether to run on this clip (e.g. only when the policy or options ask for it)."""
        return True

    def feed(self, frame: "Frame") -> None:
        """Take one analysis frame. Must not keep frames: memory must not grow with clip length."""

    def finish(self) -> DetectorResult:
        raise NotImplementedError


def registry() -> list[type[Detector]]:
    """The detectors the pipeline runs, in order. Imported lazily so that workers import once."""
    from .flicker import FlickerDetector

    REGISTRY: list[type[Detector]] = [FlickerDetector]
    return REGISTRY


def cross_checks() -> list:
    """Rules run after every detector finished, on their combined results.

    Each is ``check(ctx, blocks, metrics) -> list[Finding]`` where ``blocks`` maps contract
    slots ("provenance", "watermark") to their data and ``metrics`` the metric blocks.
    """
    CHECKS: list = []
    return CHECKS
