"""Detectors: one module each, fed analysis frames by the pipeline, knowing nothing of decoding.

The interface (after PySceneDetect's ``SceneDetector``)::

    class MyDetector(Detector):
        name = "flicker"            # key of its result
        slot = "metrics"            # where the result goes in the JSON contract:
                                    #   "metrics" -> clip["metrics"][name]
                                    #   "watermark" / "provenance" -> clip[slot]
        wants_frames = True         # False: runs once, in finish(), on the file and context
        lane = "main"               # detectors of one lane see the frames in order on one thread;
                                    # other lanes run beside it on their own threads (OpenCV
                                    # releases the GIL). Work shared across lanes must be safe
                                    # for that (audit.quality.motion.frame_motion is).

        def __init__(self, ctx): ...          # ctx: audit.pipeline.AuditContext
        def feed(self, frame): ...            # frame: audit.media.Frame (t in seconds)
        def finish(self) -> DetectorResult: ...

Adding a detector is one new module in this package (or in ``audit.quality`` for a quality
metric, or a module named in ``MODULES``) that lists its classes in ``DETECTORS``
(and, optionally, rules on several detectors' results in ``CROSS_CHECKS``); the pipeline finds
it, no other file changes. Detectors run in ``order`` (then name). Thresholds are read from
``ctx.policy`` (defaults: ``audit/policy_defaults.toml`` plus ``audit/defaults/*.toml``), never
hard-coded in a detector.
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
    order: ClassVar[int] = 50
    lane: ClassVar[str] = "main"

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


_MODULES: list | None = None


# Packages whose modules may hold detectors: this one (conformance, keyframes...),
# ``audit.quality`` (the quality metrics and the helpers they share) and ``audit.watermark``;
# plus single modules of packages that hold other things too (the provenance detector beside
# the C2PA reading code).
PACKAGES = (__name__, "audit.quality", "audit.watermark")
MODULES = ("audit.provenance.detector",)


def _modules() -> list:
    """Every module of the detector packages, imported once per process."""
    global _MODULES
    if _MODULES is None:
        import importlib
        import pkgutil

        _MODULES = []
        for package in PACKAGES:
            pkg = importlib.import_module(package)
            _MODULES += [
                importlib.import_module(f"{package}.{m.name}")
                for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name)
                if not m.name.startswith("_")
            ]
        _MODULES += [importlib.import_module(m) for m in MODULES]
    return _MODULES


def registry() -> list[type[Detector]]:
    """The detectors the pipeline runs, in order: every ``DETECTORS`` list of this package."""
    found = [cls for mod in _modules() for cls in getattr(mod, "DETECTORS", ())]
    return sorted(found, key=lambda c: (c.order, c.name))


def cross_checks() -> list:
    """Rules run after every detector finished, on their combined results: every module's
    ``CROSS_CHECKS`` list.

    Each is ``check(ctx, blocks, metrics) -> list[Finding]`` where ``blocks`` maps contract
    slots ("provenance", "watermark") to their data and ``metrics`` the metric blocks.
    """
    return [fn for mod in _modules() for fn in getattr(mod, "CROSS_CHECKS", ())]
