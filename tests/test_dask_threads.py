"""``--jobs N`` is N cores: every worker audits one clip on one thread (FFmpeg's decoder, OpenCV,
no decoding-ahead thread, no detector lanes: ``audit.executors.pin_threads``), a batch smaller
than N shares the spare cores out as threads, and results do not change."""

from __future__ import annotations

import json

import cv2

from audit import media, pipeline
from audit.executors import InlineExecutor, LocalExecutor
from audit.pipeline import AuditTask
from conftest import FIXTURES


def thread_settings(task: AuditTask) -> dict:
    """What a worker process decodes with: the module setting, OpenCV's threads and the thread
    count of the opened decoder once it has decoded a frame."""
    with media.open_clip(task.path) as clip:
        next(clip.frames())
        codec_threads = clip._stream.codec_context.thread_count
    return {"decode_threads": media.DECODE_THREADS, "cv2": cv2.getNumThreads(), "codec_threads": codec_threads,
            "prefetch": media.PREFETCH, "side_lanes": pipeline.SIDE_LANES}


ONE_CORE = {"decode_threads": 1, "cv2": 1, "codec_threads": 1, "prefetch": 0, "side_lanes": False}


def test_every_worker_gets_one_core_and_a_small_batch_gets_the_spare_cores_as_threads():
    tasks = [AuditTask(str(FIXTURES / "clips" / n)) for n in ("static.mp4", "flicker.mp4", "clean_pan.mp4")]
    assert [r for _, r in LocalExecutor(2, thread_settings).run(tasks)] == [ONE_CORE] * 3
    assert [r for _, r in LocalExecutor(1, thread_settings).run(tasks)] == [ONE_CORE] * 3  # --jobs 1: one core
    # one clip, --jobs 2: one worker, with both cores as decoder threads and decoding ahead;
    # detector lanes only from 3 cores on (on 2 the decoder keeps them busy)
    [alone] = [r for _, r in LocalExecutor(2, thread_settings).run(tasks[:1])]
    assert alone == {"decode_threads": 2, "cv2": 1, "codec_threads": 2, "prefetch": 8, "side_lanes": False}
    [alone] = [r for _, r in LocalExecutor(4, thread_settings).run(tasks[:1])]
    assert alone == {"decode_threads": 4, "cv2": 1, "codec_threads": 4, "prefetch": 8, "side_lanes": True}
    assert media.DECODE_THREADS == 0 and media.PREFETCH == 8  # this process was never pinned


def _comparable(clips) -> str:
    return json.dumps([{k: v for k, v in c.items() if k != "timings"} for c in clips], sort_keys=True)


def test_one_thread_per_worker_gives_the_same_results():
    """The pinned pool against this process with FFmpeg's and OpenCV's default threads."""
    tasks = [AuditTask(str(FIXTURES / "clips" / n)) for n in ("marked.mp4", "flicker.mp4", "warp.mp4")]
    pinned = dict(LocalExecutor(2).run(tasks))
    default = dict(InlineExecutor().run(tasks))
    assert media.DECODE_THREADS == 0  # the pool's setting stayed in its workers
    assert _comparable(pinned[i] for i in range(3)) == _comparable(default[i] for i in range(3))
    assert {c["verdict"] for c in default.values()} >= {"fail"}  # real findings were compared, not empties
