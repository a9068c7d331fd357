"""Keyframe thumbnails for the report: first, middle and last frame (``[keyframes] count``).

Targets are timestamps chosen up front from the probed duration, so no frame is kept: a frame
is encoded (downscaled JPEG, base64) the moment it reaches the next target. The last frame of
a clip is only known once decoding ends, so the most recent frame is held (one frame, not a
growing buffer) and encoded in ``finish`` if the last target was not reached (the container
declared a longer duration than the frames cover).

Block (top-level ``keyframes`` field of the clip)::

    {"display_width": 1280, "display_height": 720,          # pixels the watermark track uses
     "width": 160, "height": 90,                             # thumbnail size
     "frames": [{"t": 0.0, "label": "first", "jpeg_b64": "..."}, ...]}
"""

from __future__ import annotations

import base64

import cv2

from . import Detector, DetectorResult


def _labels(n: int) -> list[str]:
    if n == 3:
        return ["first", "middle", "last"]
    return ["first", *[f"{i}/{n - 1}" for i in range(1, n - 1)], "last"]


class KeyframesDetector(Detector):
    name = "keyframes"
    slot = "keyframes"
    order = 90

    def __init__(self, ctx):
        super().__init__(ctx)
        pol = ctx.policy.section("keyframes")
        self.count = max(2, min(6, int(pol.get("count", 3))))
        self.width = max(16, int(pol.get("width", 160)))
        self.quality = max(1, min(100, int(pol.get("quality", 70))))
        media = ctx.media
        frame_s = 1.0 / media.fps if media.fps else 0.0
        last = max(0.0, media.duration_s - frame_s)
        # Evenly spaced targets in seconds; the first frame always matches target 0.
        self.targets = [last * i / (self.count - 1) for i in range(self.count)]
        self.labels = _labels(self.count)
        self.next = 0
        self.frames: list[dict] = []
        self.size: tuple[int, int, int, int] | None = None  # thumb w, h, display w, h
        self.held = None  # most recent frame not encoded yet (stand-in for "last")

    def feed(self, frame) -> None:
        if self.size is None:
            h, w = frame.height, frame.width
            tw = min(self.width, w)
            th = max(2, int(round(h * tw / w)))
            self.size = (tw, th, int(round(w * frame.scale)), int(round(h * frame.scale)))
        eps = 1e-3
        if self.next < self.count and frame.t + eps >= self.targets[self.next]:
            self._encode(frame, self.labels[self.next])
            # A frame can stand for only one target; skip the ones it has passed.
            while self.next < self.count and frame.t + eps >= self.targets[self.next]:
                self.next += 1
            self.held = None
        else:
            self.held = frame

    def _encode(self, frame, label: str) -> None:
        tw, th = self.size[0], self.size[1]
        small = cv2.resize(frame.bgr, (tw, th), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            self.frames.append({"t": round(float(frame.t), 3), "label": label,
                                "jpeg_b64": base64.b64encode(buf.tobytes()).decode("ascii")})

    def finish(self) -> DetectorResult:
        if self.held is not None and self.next < self.count:
            self._encode(self.held, "last")
        self.held = None
        if self.size is None:
            return DetectorResult(None)
        tw, th, dw, dh = self.size
        return DetectorResult({"display_width": dw, "display_height": dh, "width": tw, "height": th,
                               "frames": self.frames})


DETECTORS = [KeyframesDetector]
