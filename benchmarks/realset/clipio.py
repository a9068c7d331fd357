"""Reading and writing the development set's clips with PyAV (shared by build, inject, make_injected).

Frames are numpy BGR uint8 arrays paired with explicit timestamps (PySceneDetect's lesson: a
variable-frame-rate source keeps its cadence only if timestamps travel with the frames)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np


class Encoder:
    """libx264 / yuv420p writer; ``write(img, pts)`` with ``pts`` in ``time_base`` units.

    Writes to ``<out>.part.mp4`` and renames on close, so an interrupted run leaves no clip
    that looks finished."""

    def __init__(self, out: Path, rate: Fraction, time_base: Fraction, crf: int = 18, preset: str = "fast"):
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.out.with_suffix(".part.mp4")
        self.container = av.open(str(self.tmp), "w")
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(crf), "preset": preset}
        self.stream.time_base = time_base
        self.stream.codec_context.time_base = time_base
        self.time_base = time_base
        self.count = 0
        self._last: int | None = None

    def write(self, img: np.ndarray, pts: int) -> None:
        if self.count == 0:
            self.stream.width, self.stream.height = img.shape[1], img.shape[0]
        if self._last is not None and pts <= self._last:  # the muxer needs rising timestamps
            pts = self._last + 1
        # OpenCV's BGR -> I420 is BT.601 limited range with rounding, the inverse of what
        # decoders assume for an untagged stream; PyAV's own bgr24 -> yuv420p conversion
        # (swscale defaults) darkens mid-grey 128 to 124 and would compound at every rebuild
        yuv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts, frame.time_base, self._last = pts, self.time_base, pts
        for pkt in self.stream.encode(frame):
            self.container.mux(pkt)
        self.count += 1

    def close(self) -> int:
        for pkt in self.stream.encode():
            self.container.mux(pkt)
        self.container.close()
        self.tmp.replace(self.out)
        return self.count

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.container.close()
            self.tmp.unlink(missing_ok=True)


def stream_info(path: Path) -> tuple[Fraction, Fraction, int, int]:
    """(average frame rate, time base, width, height) of the first video stream."""
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        rate = st.average_rate or st.guessed_rate or Fraction(25)
        return Fraction(rate), Fraction(st.time_base or Fraction(1, 90000)), st.codec_context.width, st.codec_context.height


def to_bgr(frame: av.VideoFrame) -> np.ndarray:
    """BGR uint8 of a decoded frame; yuv420p through OpenCV, the exact inverse of
    :class:`Encoder`'s conversion (swscale's is ~1 level darker on textured colour frames)."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24")


def read_frames(path: Path) -> Iterator[tuple[np.ndarray, int, float]]:
    """(BGR frame, pts, seconds since the first frame) of every decoded frame, in order."""
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        tb = st.time_base or Fraction(1, 90000)
        first = None
        for i, f in enumerate(c.decode(st)):
            pts = f.pts if f.pts is not None else i
            if first is None:
                first = pts
            yield to_bgr(f), pts, float((pts - first) * tb)


def count_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))
