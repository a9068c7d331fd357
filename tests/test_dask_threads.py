"""One worker, one core: with more than one worker, FFmpeg's decoder and OpenCV run one thread
each in every worker (``audit.executors.pin_threads``), and results do not change."""

from __future__ import annotations

import json

import cv2

from audit import media
from audit.executors import InlineExecutor, LocalExecutor
from audit.pipeline import AuditTask
from conftest import FIXTURES


def thread_settings(task: AuditTask) -> dict:
    """What a worker process decodes with: the module setting, OpenCV's threads and the thread
    count of the opened decoder once it has decoded a frame."""
    with media.open_clip(task.path) as clip:
        next(clip.frames())
        codec_threads = clip._stream.codec_context.thread_count
    return {"decode_threads": media.DECODE_THREADS, "cv2": cv2.getNumThreads(), "codec_threads": codec_threads}


def test_pool_workers_use_one_thread_each_only_when_more_than_one_runs():
    tasks = [AuditTask(str(FIXTURES / "clips" / n)) for n in ("static.mp4", "flicker.mp4", "clean_pan.mp4")]
    default_cv2 = cv2.getNumThreads()  # this process was never pinned
    pinned = [r for _, r in LocalExecutor(2, thread_settings).run(tasks)]
    assert pinned == [{"decode_threads": 1, "cv2": 1, "codec_threads": 1}] * 3
    [alone] = [r for _, r in LocalExecutor(1, thread_settings).run(tasks[:1])]
    assert alone["decode_threads"] == 0 and alone["cv2"] == default_cv2


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
