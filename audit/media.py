"""Open a clip with PyAV: probe its streams, then stream analysis frames in one decode pass.

``open_clip`` checks the file and probes the container; ``ClipReader.frames`` decodes once,
downscales each frame to the analysis size, applies the display rotation, and yields ``Frame``s
with the presentation time of each frame (never recomputed from an index and a guessed fps).
Memory stays flat: one frame at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from .errors import EmptyFileError, NotAVideoError, UndecodableError
from .files import regular_file

VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v")

# How many times decoding was started in this process; tests read it to prove one pass per clip.
DECODE_PASSES = 0
# Frames decoded ahead of the detectors, on the decoding thread (0: decode on the caller's thread).
PREFETCH = 8
# Frames up to this size (1080p) keep their decoded picture for ``Frame.source_gray``: a frame in
# flight (prefetched, queued for a lane) then holds ~3 MB more. Larger ones (4K: ~12 MB) do not.
SOURCE_MAX_PIXELS = 1920 * 1088
_END = object()


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


@dataclass(frozen=True)
class MediaInfo:
    """What the container says about a clip. Sizes in pixels, times in seconds.

    From ``open_clip`` sizes are as coded; ``ClipReader.final_info()`` (after the decode pass)
    gives the displayed size, the rotation and the exact decoded frame count.
    """

    duration_s: float
    fps: float
    width: int
    height: int
    frames: int
    codec: str
    has_audio: bool
    variable_frame_rate: bool = False
    rotation: int = 0
    pix_fmt: str | None = None
    bit_rate: int | None = None
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    container: str | None = None
    size_bytes: int = 0
    # The picture inside letterbox/pillarbox bars (x, y, w, h, displayed px), found by the
    # watermark detector (``audit.watermark.active``); None when it did not run.
    active_box: tuple[int, int, int, int] | None = None

    def to_dict(self) -> dict:
        extra = {"active_box": list(self.active_box)} if self.active_box is not None else {}
        return {
            "duration_s": round(self.duration_s, 4),
            "fps": round(self.fps, 4),
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "codec": self.codec,
            "has_audio": self.has_audio,
            "variable_frame_rate": self.variable_frame_rate,
            "rotation": self.rotation,
            "pix_fmt": self.pix_fmt,
            "bit_rate": self.bit_rate,
            "audio_codec": self.audio_codec,
            "audio_sample_rate": self.audio_sample_rate,
            "container": self.container,
            "size_bytes": self.size_bytes,
            **extra,
        }


class Frame:
    """One analysis frame at the analysis size, ``t`` in seconds.

    ``bgr`` (H x W x 3 uint8) and ``gray`` (H x W uint8) are made on first use and shared by
    every detector; ``bgr_at(f)`` / ``gray_at(f)`` are copies reduced by a power of two ``f``,
    also made once. A decoded 4:2:0 frame keeps its (downscaled) Y, U, V planes, so a reduced
    colour copy is converted from reduced planes and the grey copies are the luma plane: no
    detector pays for a full-size colour conversion it does not use.
    ``scale`` maps analysis pixels back to displayed pixels (display width / analysis width).
    ``cache`` lets detectors share per-frame work (e.g. the global motion estimate).
    ``source_gray()`` is the luma at the decoded size, for a detector that needs the detail of a
    small region the analysis size loses (the watermark's mark, a few pixels tall).
    """

    __slots__ = ("index", "t", "scale", "height", "width", "_bgr", "_gray", "_i420", "cache", "_vf")

    def __init__(self, index: int, t: float, bgr: np.ndarray | None, scale: float,
                 i420: np.ndarray | None = None):
        self.index = index
        self.t = t
        self.scale = scale
        self._bgr = bgr
        self._gray = None
        self._i420 = i420  # (H * 3 / 2) x W: the I420 layout OpenCV converts from
        if bgr is not None:
            self.height, self.width = bgr.shape[:2]
        else:
            self.height, self.width = i420.shape[0] * 2 // 3, i420.shape[1]
        self.cache: dict = {}
        self._vf = None   # the decoded 4:2:0 frame (PyAV), kept for source_gray; None otherwise

    @property
    def bgr(self) -> np.ndarray:
        if self._bgr is None:
            import cv2

            self._bgr = cv2.cvtColor(self._i420, cv2.COLOR_YUV2BGR_I420)
        return self._bgr

    @property
    def gray(self) -> np.ndarray:
        if self._gray is None:
            import cv2

            if self._i420 is not None:
                self._gray = cv2.convertScaleAbs(self._i420[: self.height], alpha=_Y_ALPHA, beta=_Y_BETA)
            else:
                self._gray = cv2.cvtColor(self.bgr, cv2.COLOR_BGR2GRAY)
        return self._gray

    def source_size(self) -> tuple[int, int] | None:
        """(width, height) of the decoded frame ``source_gray`` reads, or None without one."""
        return None if self._vf is None else (self._vf.width, self._vf.height)

    def source_gray(self, box: tuple[int, int, int, int] | None = None, size: tuple[int, int] | None = None):
        """The luma at the decoded size (uint8, levels as ``gray``'s), or None (a rotated clip,
        another pixel format, or a frame not from the decoder): the part in ``box`` (x0, y0,
        x1, y1, decoded px) when given, area-resized to ``size`` (w, h) when given. Only what
        is asked for is converted: frames no detector asks for cost nothing."""
        if self._vf is None:
            return None
        import cv2

        plane = self._vf.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        if box is not None:
            x0, y0, x1, y1 = box
            y = y[y0:y1, x0:x1]
        if size is not None and (size[0], size[1]) != (y.shape[1], y.shape[0]):
            # Reduced by less than 2 each way, every decoded pixel is within the two-tap
            # footprint of some output pixel: bilinear averages about as an area resample does,
            # at a sixth of its cost (OpenCV's area resample is slow at non-integer ratios).
            gentle = size[0] * 2 > y.shape[1] and size[1] * 2 > y.shape[0]
            y = cv2.resize(y, size, interpolation=cv2.INTER_LINEAR if gentle else cv2.INTER_AREA)
        return cv2.convertScaleAbs(y, alpha=_Y_ALPHA, beta=_Y_BETA)

    def gray_at(self, f: int) -> np.ndarray:
        """Grey copy reduced by ``f`` (1, 2, 4, ...), each level halved from the one above."""
        if f == 1:
            return self.gray
        key = ("gray", f)
        img = self.cache.get(key)
        if img is None:
            img = self.cache[key] = _halve(self.gray_at(f // 2))
        return img

    def bgr_at(self, f: int) -> np.ndarray:
        """Colour copy reduced by ``f`` (1, 2, 4, ...). Level 2 of a 4:2:0 frame is converted
        from its halved planes (a quarter of the full conversion); other levels are halved."""
        if f == 1:
            return self.bgr
        key = ("bgr", f)
        img = self.cache.get(key)
        if img is None:
            if f == 2 and self._bgr is None and self._i420 is not None and self.width % 4 == 0 \
                    and self.height % 4 == 0:
                img = _i420_half_bgr(self._i420, self.width, self.height)
            else:
                img = _halve(self.bgr_at(f // 2))
            self.cache[key] = img
        return img


def _halve(img: np.ndarray) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    return cv2.resize(img, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)


def _i420_views(buf: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    flat = buf.reshape(-1)
    cw, ch = w // 2, h // 2
    return (flat[: h * w].reshape(h, w),
            flat[h * w: h * w + ch * cw].reshape(ch, cw),
            flat[h * w + ch * cw: h * w + 2 * ch * cw].reshape(ch, cw))


def _i420_half_bgr(buf: np.ndarray, w: int, h: int) -> np.ndarray:
    import cv2

    hw, hh = w // 2, h // 2
    out = np.empty((hh * 3 // 2, hw), np.uint8)
    for src, dst in zip(_i420_views(buf, w, h), _i420_views(out, hw, hh)):
        cv2.resize(src, (dst.shape[1], dst.shape[0]), dst=dst, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(out, cv2.COLOR_YUV2BGR_I420)


_YUV420 = ("yuv420p", "yuvj420p")

# OpenCV's I420 -> BGR conversion is BT.601 video range, so the grey of its output
# (0.299 R + 0.587 G + 0.114 B) is the luma plane stretched from [16, 235] to [0, 255].
_Y_ALPHA = 255.0 / 219.0
_Y_BETA = -16.0 * 255.0 / 219.0


def _to_i420(vf, aw: int, ah: int) -> np.ndarray | None:
    """The frame's 4:2:0 planes area-downscaled to (aw, ah), in one I420 buffer, or None when
    the frame is not 4:2:0 with even sides. OpenCV releases the GIL, so this overlaps the
    decoder's threads and costs little next to decoding (see benchmarks/bench_pipeline.py)."""
    if not (vf.format.name in _YUV420 and vf.width % 2 == 0 and vf.height % 2 == 0):
        return None
    import cv2

    # Each plane is resized straight into its place in one I420 buffer (no concatenation).
    buf = np.empty((ah * 3 // 2, aw), np.uint8)
    for plane, dst in zip(vf.planes, _i420_views(buf, aw, ah)):
        a = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        if a.shape == dst.shape:
            dst[...] = a
        else:
            cv2.resize(a, (dst.shape[1], dst.shape[0]), dst=dst, interpolation=cv2.INTER_AREA)
    return buf


def _to_bgr(vf, aw: int, ah: int) -> np.ndarray:
    """The frame as BGR at (aw, ah) (formats other than 4:2:0 go through swscale)."""
    import cv2

    buf = _to_i420(vf, aw, ah)
    if buf is not None:
        return cv2.cvtColor(buf, cv2.COLOR_YUV2BGR_I420)
    return vf.to_ndarray(width=aw, height=ah, format="bgr24", interpolation="AREA")


def analysis_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Even (w, h) no larger than ``max_side`` on the long side, aspect kept, never upscaled."""
    s = min(1.0, max_side / max(width, height))
    w = max(2, int(round(width * s / 2)) * 2)
    h = max(2, int(round(height * s / 2)) * 2)
    return w, h


def _sniff(path: Path) -> str:
    head = path.read_bytes()[:512] if path.stat().st_size < 512 else path.open("rb").read(512)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "isobmff"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "text" if all(c.isprintable() or c in "\r\n\t" for c in text) else "binary"


class ClipReader:
    """An open clip. Use as a context manager; ``info`` is the probe, ``frames()`` the decode."""

    def __init__(self, path: Path, container, stream, info: MediaInfo):
        self.path = path
        self._container = container
        self._stream = stream
        self.info = info
        self.decoded_frames = 0
        self.decode_error: str | None = None
        self.corrupt_packets = 0
        self.last_t: float | None = None
        self.rotation = 0
        self._deltas: list[float] = []
        self._producer = None

    def __enter__(self) -> "ClipReader":
        return self

    def __exit__(self, *exc) -> None:
        self._halt()
        self._container.close()

    def frames(self, max_side: int = 640, prefetch: int | None = None) -> Iterator[Frame]:
        """Decode the clip once, yielding analysis frames (displayed orientation).

        A corrupt packet is skipped and counted (``corrupt_packets``); a demuxing error stops
        the pass. Either way ``decode_error`` says what happened and the frames decoded so far
        stand: a cut-off clip is still audited up to the cut.

        With ``prefetch`` > 0, demuxing, decoding and the downscale run on a thread of their own,
        up to ``prefetch`` frames ahead of the caller: PyAV and OpenCV release the GIL, so the
        decoder keeps working while the detectors look at the previous frames (a decoder's own
        frame threads only run while it is being fed, i.e. not while the caller analyses).
        None: the module's ``PREFETCH`` (0 in a worker pinned to one core).
        """
        global DECODE_PASSES
        DECODE_PASSES += 1
        if prefetch is None:
            prefetch = PREFETCH
        if prefetch <= 0:
            yield from self._decode(max_side)
            return
        import queue
        import threading

        q: queue.Queue = queue.Queue(prefetch)
        stop = threading.Event()

        def produce() -> None:
            try:
                for frame in self._decode(max_side):
                    while not stop.is_set():
                        try:
                            q.put(frame, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                q.put(_END)
            except BaseException as e:  # handed to the caller's thread, raised there
                q.put(_Raised(e))

        thread = threading.Thread(target=produce, name="sora-audit-decode", daemon=True)
        self._producer = (thread, stop, q)
        thread.start()
        try:
            while (item := q.get()) is not _END:
                if isinstance(item, _Raised):
                    raise item.error
                yield item
        finally:
            self._halt()

    def _halt(self) -> None:
        """Stop and join the decoding thread (the container must not close under it)."""
        if self._producer is None:
            return
        thread, stop, q = self._producer
        stop.set()
        import queue

        while thread.is_alive():
            try:
                q.get(timeout=0.05)  # make room for a producer blocked on a full queue
            except queue.Empty:
                pass
        thread.join()
        self._producer = None

    def _decode(self, max_side: int) -> Iterator[Frame]:
        info = self.info
        aw = ah = None
        prev_t = None
        try:
            for packet in self._container.demux(self._stream):
                try:
                    decoded = self._stream.decode(packet)
                except av.error.InvalidDataError as e:
                    # A corrupt packet costs its frames, not the rest of the clip.
                    self.corrupt_packets += 1
                    self.decode_error = self.decode_error or f"corrupt data at {packet.pts}: {e}"
                    continue
                for vf in decoded:
                    if aw is None:
                        # The display matrix travels with the frames; read it from the first one.
                        self.rotation = int(vf.rotation or 0) % 360
                        aw, ah = analysis_size(vf.width, vf.height, max_side)
                        scale = vf.width / aw
                    t = float(vf.time) if vf.time is not None else self.decoded_frames / (info.fps or 30.0)
                    i420 = None if self.rotation else _to_i420(vf, aw, ah)
                    if i420 is not None:
                        frame = Frame(self.decoded_frames, t, None, scale, i420=i420)
                        if vf.width * vf.height <= SOURCE_MAX_PIXELS:
                            frame._vf = vf
                    else:
                        img = _to_bgr(vf, aw, ah)
                        if self.rotation:
                            img = np.ascontiguousarray(np.rot90(img, k=self.rotation // 90))
                        frame = Frame(self.decoded_frames, t, img, scale)
                    if prev_t is not None:
                        self._deltas.append(t - prev_t)
                    prev_t = t
                    self.last_t = t
                    yield frame
                    self.decoded_frames += 1
        except (av.error.FFmpegError, ValueError) as e:
            self.decode_error = f"decoding stopped after {self.decoded_frames} frames: {e}"

    def final_info(self) -> MediaInfo:
        """The probe completed with what the decode pass measured (frame count, VFR)."""
        d = self._deltas
        vfr = False
        if len(d) >= 2:
            med = float(np.median(d))
            vfr = med > 0 and float(np.max(np.abs(np.asarray(d) - med))) > 0.25 * med
        info = replace(self.info, frames=self.decoded_frames, variable_frame_rate=vfr, rotation=self.rotation)
        if self.rotation in (90, 270):
            info = replace(info, width=self.info.height, height=self.info.width)
        return info


# FFmpeg decoder threads per clip; 0 = FFmpeg's choice (about one per core). Every worker sets
# it to the cores it may use: 1 in a batch (audit.executors.pin_threads).
DECODE_THREADS = 0


def open_clip(path: str | Path) -> ClipReader:
    """Open and probe ``path``. Raises an ``InputError`` subclass naming the file and the problem."""
    p = regular_file(path, "file")  # a FIFO, device, folder or loop is said, never opened
    size = p.stat().st_size
    if size == 0:
        raise EmptyFileError(p, "file is empty (0 bytes)")
    kind = _sniff(p)
    try:
        container = av.open(str(p), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as e:
        if kind == "isobmff":
            raise UndecodableError(p, f"MP4/MOV container is truncated or corrupt ({e.__class__.__name__}: {getattr(e, 'strerror', e)})") from None
        if kind == "text":
            raise NotAVideoError(p, "is a text file, not a video") from None
        raise NotAVideoError(p, "not a recognised media container (unknown or random bytes)") from None
    try:
        return _probe(p, container, size)
    except BaseException:
        container.close()
        raise


def _fps(stream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            f = float(rate)
            if 0 < f < 1000:
                return f
    return 0.0


def _probe(p: Path, container, size: int) -> ClipReader:
    videos = [s for s in container.streams.video]
    audios = [s for s in container.streams.audio]
    if not videos:
        what = "an audio-only file" if audios else "a file with no video stream"
        raise NotAVideoError(p, f"is {what}; nothing to audit")
    v = videos[0]
    cc = v.codec_context
    if not cc.width or not cc.height:
        raise UndecodableError(p, "video stream has no frame size; the file is corrupt")
    v.thread_type = "AUTO"
    if DECODE_THREADS:
        cc.thread_count = DECODE_THREADS
    if v.duration is not None and v.time_base is not None:
        duration = float(v.duration * v.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    fps = _fps(v)
    frames = int(v.frames or 0) or (int(round(duration * fps)) if fps else 0)
    a = audios[0] if audios else None
    info = MediaInfo(
        duration_s=duration,
        fps=fps,
        width=int(cc.width),
        height=int(cc.height),
        frames=frames,
        codec=cc.name,
        has_audio=a is not None,
        pix_fmt=cc.pix_fmt,
        bit_rate=int(v.bit_rate or container.bit_rate or 0) or None,
        audio_codec=a.codec_context.name if a is not None else None,
        audio_sample_rate=int(a.codec_context.sample_rate or 0) or None if a is not None else None,
        container=container.format.name,
        size_bytes=size,
    )
    return ClipReader(p, container, v, info)


def find_clips(paths, extensions=VIDEO_EXTENSIONS) -> tuple[list[Path | str], list[str]]:
    """Expand files and folders (recursively) into clip paths, in a stable order. URLs
    (``s3://bucket/clip.mp4``) stay strings.

    Files named explicitly are kept whatever their extension (they get a clear error later if
    they are not video); folders contribute files with a video extension. URLs are kept as given,
    except folder URLs (ending in ``/``) and globs, listed with fsspec. Returns (clips, notes)
    where notes name folders that held no clip.
    """
    clips: list[Path] = []
    notes: list[str] = []
    seen: set = set()
    from .remote import expand_url, is_url

    for raw in paths:
        if is_url(raw):  # an fsspec URL (s3://...): read by the worker that audits it
            urls, url_notes = expand_url(raw, extensions)
            notes.extend(url_notes)
            for u in urls:
                if u not in seen:
                    seen.add(u)
                    clips.append(u)
            continue
        p = Path(raw)
        if p.is_dir():
            # Everything with a video extension but a folder: a FIFO, socket or symlink loop named
            # x.mp4 is listed too, and reported on (runtime.not_a_file), not silently left out.
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() in extensions and not q.is_dir())
            if not found:
                notes.append(f"{p}: folder holds no clips ({', '.join(extensions)})")
        else:
            found = [p]
        for q in found:
            key = _identity(q)
            if key not in seen:
                seen.add(key)
                clips.append(q)
    return clips, notes


def _identity(p: Path) -> str:
    """Where ``p`` really is (symlinks resolved), for naming one file once; a symlink loop or an
    unreadable link is its own absolute path (it gets its finding when audited)."""
    try:
        return str(p.resolve())
    except (OSError, RuntimeError):  # RuntimeError: "Symlink loop" (Python < 3.13)
        return os.path.abspath(p)
