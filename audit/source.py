"""Where a clip came from: the generation request (model, prompt, seconds, size, reference).

Known for clips made by ``sora-audit run``; for other clips, from a sidecar file beside the
clip named ``<clip file name>.json`` (e.g. ``pan.mp4.json``) holding the same fields.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .files import what_is


@dataclass(frozen=True)
class Source:
    """The request behind a clip. ``seconds`` in seconds, ``size`` as ``WxH`` pixels."""

    model: str | None = None
    prompt: str | None = None
    video_id: str | None = None
    seconds: float | None = None
    size: str | None = None
    fps: float | None = None
    audio: bool | None = None
    reference: str | None = None
    case_id: str | None = None
    repeat: int | None = None
    provider: str | None = None
    expected_camera: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra") or {}
        d.update(extra)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base: Path | None = None, where: str = "") -> "Source":
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs: dict[str, Any] = {k: v for k, v in d.items() if k in known}
        extra = {k: v for k, v in d.items() if k not in known}
        if kwargs.get("seconds") is not None:
            try:
                kwargs["seconds"] = float(kwargs["seconds"])
            except (TypeError, ValueError):
                raise ConfigError(where, f"'seconds' must be a number, got {kwargs['seconds']!r}") from None
        if kwargs.get("size") is not None and not _is_size(kwargs["size"]):
            raise ConfigError(where, f"'size' must look like 1280x720, got {kwargs['size']!r}")
        ref = kwargs.get("reference")
        if ref and base is not None and not Path(ref).is_absolute():
            kwargs["reference"] = str((base / ref))
        return cls(**kwargs, extra=extra)

    @property
    def size_wh(self) -> tuple[int, int] | None:
        if not self.size:
            return None
        w, h = self.size.lower().split("x")
        return int(w), int(h)


def _is_size(s: Any) -> bool:
    if not isinstance(s, str) or "x" not in s.lower():
        return False
    w, _, h = s.lower().partition("x")
    return w.isdigit() and h.isdigit()


def sidecar_path(clip: Path) -> Path:
    return clip.with_name(clip.name + ".json")


def load_sidecar(clip: str | Path) -> Source | None:
    """The ``Source`` from ``<clip>.json`` if it exists. Raises ``ConfigError`` naming the sidecar."""
    sc = sidecar_path(Path(clip))
    kind = what_is(sc)
    if kind == "missing":
        return None
    if kind is not None:  # a FIFO or device is never opened: reading it would block or never end
        raise ConfigError(sc, f"sidecar is {kind}, not a regular file")
    try:
        d = json.loads(sc.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(sc, f"sidecar is not valid JSON ({e})") from None
    if not isinstance(d, dict):
        raise ConfigError(sc, "sidecar must hold a JSON object")
    return Source.from_dict(d, base=sc.parent, where=str(sc))
