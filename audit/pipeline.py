"""The flow of one clip: probe -> one decode pass through every detector -> findings -> verdict.

``audit_clip(task)`` is the whole job for one clip and the unit every executor runs (process
pool or cluster): it takes a small picklable ``AuditTask`` and returns the clip's JSON-contract
dict. It never raises for a bad clip: problems become findings and an ``error`` verdict.
"""

from __future__ import annotations

import hashlib
import os
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from . import contract
from .detectors import Detector, cross_checks, registry
from .errors import AuditError, ConfigError, InputError, UndecodableError
from .findings import FAIL, RUNTIME, WARN, Finding
from .media import MediaInfo, open_clip
from .policy import Policy, load_policy
from .remote import audit_url, is_url
from .source import Source, load_sidecar

# Cores an audit needs for its detector lanes to run on threads of their own. With fewer, the
# decoder's frame threads and the decoding-ahead thread already keep about 1.6 cores busy, and
# lanes beside the main one only add hand-offs: on 2 cores they cost 2-11 % more CPU for a longer
# wall time (paired ratios to decode-only, medians of 12-14 interleaved rounds, 2026-11-25: 2.15
# with lanes vs 2.03 without on a 4 s 720x1280 clip, 2.10 vs 1.96 on the 12 s 1280x720 clip of
# benchmarks/bench_quality.py).
LANES_MIN_CORES = 3
# Whether detector lanes may run on threads of their own (``[analysis] parallel`` still decides
# per policy): this machine's cores, and what a worker may use (``audit.executors.pin_threads``:
# one core in a batch, where the other cores belong to other workers).
SIDE_LANES = (os.cpu_count() or 1) >= LANES_MIN_CORES


@dataclass(frozen=True)
class AuditOptions:
    """Run-wide settings, the same for every clip. Picklable: it travels to workers."""

    policy: Policy = field(default_factory=load_policy)
    reference: str | None = None                  # --reference IMG: the still the clip started from
    watermark_templates: tuple[str, ...] = ()     # --watermark-template PNG (RGBA)
    trust: Any = None                             # provenance trust settings (audit.provenance)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditTask:
    """One clip to audit. ``source`` is the request when known (else the sidecar is read)."""

    path: str
    options: AuditOptions = field(default_factory=AuditOptions)
    source: Source | None = None


@dataclass
class AuditContext:
    """What a detector may know about the clip it audits."""

    path: Path
    media: MediaInfo
    policy: Policy
    options: AuditOptions
    source: Source | None
    shared: dict = field(default_factory=dict)   # per-clip state detectors share (e.g. motion)
    reference_refused: bool = False              # the reference is not a sane image (audit.files)

    @property
    def reference(self) -> str | None:
        """Path of the reference image: ``--reference`` wins over the request's. None when
        there is none, or when it was refused before anything opened it (``_check_reference``)."""
        if self.reference_refused:
            return None
        return self.options.reference or (self.source.reference if self.source else None)


# Where a worker says how its clip is going (``report(kind, **info)``): set by the executor that
# runs it (``audit.executors``: the parent's progress bar and the per-clip time limit read it).
# None: nobody listens.
REPORT: Callable[..., None] | None = None
# A file larger than this reports its hashing progress (bytes done / total) every this many bytes.
HASH_REPORT_BYTES = 256 << 20


def report(kind: str, **info: Any) -> None:
    """Tell whoever runs this audit how it is going (never raises: progress is best effort)."""
    if REPORT is not None:
        try:
            REPORT(kind, **info)
        except Exception:
            pass


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of the file's bytes. A file over ``HASH_REPORT_BYTES`` reports its progress
    (``report("hashing", done=..., total=...)``, bytes): hashing 20 GB takes over a minute."""
    h = hashlib.sha256()
    total = path.stat().st_size
    step = HASH_REPORT_BYTES if total > HASH_REPORT_BYTES else 0
    done, next_report = 0, step
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
            done += len(block)
            if step and done >= next_report:
                report("hashing", path=str(path), done=done, total=total)
                next_report += step
    return h.hexdigest()


def _runtime(code: str, message: str, **evidence: Any) -> Finding:
    return Finding(RUNTIME, FAIL, code, message, evidence)


class _Run:
    """Mutable state of one clip's audit, turned into the contract dict at the end."""

    def __init__(self, task: AuditTask):
        self.task = task
        self.path = Path(task.path)
        self.source = task.source
        self.media: MediaInfo | None = None
        self.blocks: dict[str, Any] = {"provenance": None, "watermark": None}
        self.metrics: dict[str, Any] = {}
        self.findings: list[Finding] = []
        self.timings: dict[str, Any] = {"detectors": {}}
        self.sha256: str | None = None


def audit_clip(task: AuditTask) -> dict[str, Any]:
    """Audit one clip. Returns its JSON-contract dict; bad input becomes an ``error`` verdict.

    ``task.path`` may be an fsspec URL (``s3://...``): the clip is then read where this runs
    (see ``audit.remote``)."""
    if is_url(task.path):
        return audit_url(task, audit_clip)
    run = _Run(task)
    t0 = time.perf_counter()
    try:
        _audit(run)
    except InputError as e:
        run.findings.append(_runtime(e.code, f"{e}. {e.hint}.", path=e.path))
        if isinstance(e, UndecodableError):  # a broken MP4/MOV may still carry its manifest
            _file_only(run)
    except AuditError as e:
        run.findings.append(_runtime("runtime.audit_error", str(e), path=str(run.path)))
    except Exception as e:  # a bug of ours must cost one clip, not the batch
        run.findings.append(
            _runtime(
                "runtime.internal_error",
                f"{run.path}: internal error while auditing ({type(e).__name__}: {e}); please report it",
                traceback=traceback.format_exc(limit=6),
            )
        )
    run.timings["total_s"] = round(time.perf_counter() - t0, 4)
    policy = task.options.policy
    findings = policy.apply_overrides(run.findings)
    return contract.clip_dict(
        path=str(run.path),
        verdict=policy.verdict(findings),
        source=run.source,
        media=run.media,
        blocks=run.blocks,
        metrics=run.metrics,
        findings=findings,
        sha256=run.sha256,
        timings=run.timings,
    )


def _audit(run: _Run) -> None:
    opts = run.task.options
    policy = opts.policy
    if run.source is None:
        try:
            run.source = load_sidecar(run.path)
        except ConfigError as e:
            run.findings.append(Finding(RUNTIME, WARN, "runtime.sidecar_invalid", f"{e}; audited without it", {}))
    t = time.perf_counter()
    _seed_rng()
    with open_clip(run.path) as reader:
        run.media = reader.info
        report("probed", duration_s=reader.info.duration_s, size_bytes=reader.info.size_bytes)
        run.sha256 = sha256_file(run.path)
        ctx = AuditContext(run.path, reader.info, policy, opts, run.source)
        _check_reference(run, ctx)
        detectors = [cls(ctx) for cls in registry() if cls.enabled(ctx)]
        run.timings["probe_s"] = round(time.perf_counter() - t, 4)
        _decode_pass(run, reader, detectors, policy)
        run.media = ctx.media = reader.final_info()
        _check_decode(run, reader, policy)
    for det in detectors:
        _finish(run, det)
    if ctx.shared.get("active_box") is not None:
        run.media = ctx.media = replace(run.media, active_box=tuple(ctx.shared["active_box"]))
    ctx.shared["findings"] = tuple(run.findings)  # what was found so far, for the cross-checks to read
    for check in cross_checks():
        # Rules that need several detectors' results (e.g. "manifest or watermark").
        run.findings.extend(check(ctx, run.blocks, run.metrics))


def _check_reference(run: _Run, ctx: AuditContext) -> None:
    """A reference image that is not a regular file, or over the pixel cap
    (``[limits] image_max_pixels``, read from its header) is refused before any detector opens
    it: a warning names it and the clip is audited without it. (A missing one, or a file that is
    not an image, is the quality check's own ``quality.reference_unreadable``.)"""
    ref = ctx.reference
    if not ref:
        return
    from .files import ImageUnreadableError, check_image, what_is

    if what_is(ref) == "missing":
        return
    try:
        check_image(ref, int(ctx.policy.get("limits", "image_max_pixels")), what="reference image")
    except ImageUnreadableError:
        return  # not an image at all: the quality check says so (quality.reference_unreadable)
    except InputError as e:
        ctx.reference_refused = True
        run.findings.append(Finding(RUNTIME, WARN, e.code, f"{e}; the clip was audited without it. {e.hint}.",
                                    {"reference": str(ref)}))


def _seed_rng() -> None:
    """Same clip, same result, whatever the worker audited before: OpenCV's RANSAC draws from
    a per-thread generator that would otherwise carry over from the previous clip."""
    import cv2

    cv2.setRNGSeed(20251006)


def _file_only(run: _Run) -> None:
    """A clip that cannot be decoded may still carry a manifest (a cut-off download of a signed
    clip): detectors that read only the file (``without_media = True``) still report on it."""
    if not run.path.is_file():
        return
    ctx = AuditContext(run.path, None, run.task.options.policy, run.task.options, run.source)  # type: ignore[arg-type]
    before = len(run.findings)
    for cls in registry():
        if not cls.wants_frames and getattr(cls, "without_media", False) and run.blocks.get(cls.slot) is None:
            _finish(run, cls(ctx))
    # A file that is not a readable clip is an ``error`` (runtime), not a gate failure: that its
    # manifest cannot be read either is the same problem, said as a warning. Only a manifest
    # that does not match its file (``provenance.invalid``: altered) still fails the gate.
    run.findings[before:] = [f.with_severity(WARN) if f.severity == FAIL and f.code == "provenance.error" else f
                             for f in run.findings[before:]]


class _Lane:
    """Detectors of one lane, fed in frame order on one thread (the main lane on the caller's).

    Lanes are independent: each detector sees every frame in order, and a lane's detectors
    share per-frame work through ``Frame.cache``. OpenCV and most numpy work release the GIL,
    so lanes overlap each other and the decoder's threads. A bounded queue keeps a slow lane
    from holding more than ``QUEUE`` frames."""

    QUEUE = 16

    def __init__(self, name: str, detectors: list[Detector]):
        self.name = name
        self.detectors = detectors
        self.cost = {d.name: 0.0 for d in detectors}
        self.failures: list[tuple[Detector, BaseException, str]] = []
        self.broken: set[str] = set()
        self._queue = None
        self._thread = None

    def feed(self, frame) -> None:
        clock = time.perf_counter
        for d in self.detectors:
            if d.name in self.broken:
                continue
            t = clock()
            try:
                d.feed(frame)
            except Exception as e:
                self.broken.add(d.name)
                self.failures.append((d, e, traceback.format_exc(limit=6)))
            self.cost[d.name] += clock() - t

    # -- as a thread -----------------------------------------------------------------------
    def start(self) -> None:
        import queue
        import threading

        self._queue = queue.Queue(self.QUEUE)
        self._thread = threading.Thread(target=self._loop, name=f"sora-audit-{self.name}", daemon=True)
        self._thread.start()

    def put(self, frame) -> None:
        self._queue.put(frame)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        _seed_rng()  # OpenCV's generator is per thread
        while (frame := self._queue.get()) is not None:
            self.feed(frame)


def _decode_pass(run: _Run, reader, detectors: list[Detector], policy: Policy) -> None:
    feeders = [d for d in detectors if d.wants_frames]
    parallel = SIDE_LANES and bool(policy.get("analysis", "parallel"))
    by_lane: dict[str, list[Detector]] = {"main": []}
    for d in feeders:
        by_lane.setdefault(d.lane if parallel else "main", []).append(d)
    lanes = [_Lane(name, dets) for name, dets in by_lane.items() if dets or name == "main"]
    main, side = lanes[0], lanes[1:]
    for lane in side:
        lane.start()
    decode = 0.0
    clock = time.perf_counter
    frames = reader.frames(max_side=policy.get("analysis", "max_side"))
    try:
        while True:
            t = clock()
            frame = next(frames, None)
            decode += clock() - t
            if frame is None:
                break
            for lane in side:
                lane.put(frame)
            main.feed(frame)
    finally:
        frames.close()  # stops the decoding thread if the loop ended early
        for lane in side:
            lane.close()
    run.timings["decode_s"] = round(decode, 4)
    broken: set[str] = set()
    for lane in lanes:
        run.timings["detectors"].update({k: round(v, 4) for k, v in lane.cost.items()})
        broken |= lane.broken
        for d, e, tb in lane.failures:
            run.findings.append(_detector_failed(run, d, e, tb))
    run.broken = broken  # type: ignore[attr-defined]


def _check_decode(run: _Run, reader, policy: Policy) -> None:
    info = run.media
    n = reader.decoded_frames
    if n == 0:
        raise _no_frames(run.path, reader.decode_error)
    if reader.decode_error:
        run.findings.append(
            _runtime("runtime.decode_incomplete", f"{run.path}: {reader.decode_error}; the file is corrupt or cut off. "
                     "Download or export it again.", frames_decoded=n, corrupt_packets=reader.corrupt_packets)
        )
    elif info.duration_s > 0 and reader.last_t is not None:
        frame_s = 1.0 / info.fps if info.fps else 0.0
        decoded = reader.last_t + frame_s
        if decoded < policy.get("media", "min_decoded_share") * info.duration_s:
            run.findings.append(
                _runtime("runtime.truncated", f"{run.path}: decoded {decoded:.2f} s of the {info.duration_s:.2f} s "
                         "the container declares; the file is cut off. Download it again.",
                         decoded_s=round(decoded, 3), declared_s=round(info.duration_s, 3))
            )
    if n < policy.get("media", "min_frames"):
        run.findings.append(
            _runtime("runtime.too_few_frames", f"{run.path}: only {n} decodable frame(s); temporal checks need at "
                     f"least {policy.get('media', 'min_frames')}. Is this a still image saved as a video?", frames=n)
        )


def _no_frames(path: Path, err: str | None):
    from .errors import UndecodableError

    return UndecodableError(path, f"no frame could be decoded ({err or 'empty video stream'})")


def _detector_failed(run: _Run, d: Detector, e: BaseException, tb: str | None = None) -> Finding:
    return _runtime(
        "runtime.detector_failed",
        f"{run.path}: the {d.name} check crashed ({type(e).__name__}: {e}); its result is missing. Please report it.",
        detector=d.name,
        traceback=tb if tb is not None else traceback.format_exc(limit=6),
    )


def _finish(run: _Run, d: Detector) -> None:
    if d.name in getattr(run, "broken", ()):
        return
    t = time.perf_counter()
    try:
        res = d.finish()
    except Exception as e:
        run.findings.append(_detector_failed(run, d, e))
        return
    finally:
        run.timings["detectors"][d.name] = round(run.timings["detectors"].get(d.name, 0.0) + time.perf_counter() - t, 4)
    if d.slot == "metrics":
        run.metrics[d.name] = res.data
    else:
        run.blocks[d.slot] = res.data
    run.findings.extend(res.findings)
