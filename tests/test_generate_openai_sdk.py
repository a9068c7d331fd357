"""The emulator speaks the real wire format: the official ``openai`` package (a test dependency
only), pointed at it with ``base_url``, creates with an image, polls, downloads, remixes, lists
and deletes."""

from __future__ import annotations

import warnings
from pathlib import Path

import openai  # a test dependency only (pyproject: [project.optional-dependencies] test)
import pytest

from audit.sora.emulator import Emulator, EmulatorSettings

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "fixtures" / "references" / "static.jpg"


def test_official_sdk_round_trip(tmp_path):
    with Emulator(EmulatorSettings(job_seconds=0.3, poll_after_ms=50, api_key="sk-sdk-test")) as emu:
        client = openai.OpenAI(api_key="sk-sdk-test", base_url=emu.base_url, max_retries=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks videos deprecated
            video = client.videos.create(prompt="A slow pan right", model="sora-2", seconds="1", size="160x96",  # small: the SDK passes any string on
                                         input_reference=REF.open("rb"))
            assert video.status in ("queued", "in_progress") and video.model == "sora-2"
            done = client.videos.poll(video.id, poll_interval_ms=50)
            assert done.status == "completed" and done.progress == 100
            content = client.videos.download_content(video.id, variant="video")
            out = tmp_path / "v.mp4"
            content.write_to_file(out)
            assert out.read_bytes()[4:8] == b"ftyp"
            remix = client.videos.remix(video.id, prompt="now tilt up")
            assert remix.remixed_from_video_id == video.id
            ids = [v.id for v in client.videos.list(limit=1)]  # pages through both
            assert set(ids) == {video.id, remix.id}
            assert client.videos.delete(remix.id).deleted is True
            with pytest.raises(openai.NotFoundError):
                client.videos.retrieve(remix.id)
            with pytest.raises(openai.BadRequestError) as ei:
                client.videos.create(prompt="[refuse] x", model="sora-2")
            assert ei.value.code == "moderation_blocked"
        assert emu.counts["creates"] == 2


def test_the_strict_emulator_takes_what_the_sdk_sends_and_refuses_what_the_api_refuses():
    """The SDK's text-only create (multipart without a file) and its create with an image are
    taken by the strict emulator; an off-list size or an omitted model get the API's 400."""
    ref = ROOT / "fixtures" / "references" / "api_1280x720.jpg"
    # jobs are only created here, never fetched: "fail-internal" spares rendering them
    with Emulator(EmulatorSettings(strict=True, job_seconds=60, faults=("fail-internal",))) as emu:
        client = openai.OpenAI(api_key="sk-sdk-test", base_url=emu.base_url, max_retries=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            plain = client.videos.create(prompt="A slow pan right", model="sora-2", seconds="4", size="1280x720")
            framed = client.videos.create(prompt="A still", model="sora-2-pro", seconds="8", size="1280x720",
                                          input_reference=ref.open("rb"))
            assert (plain.seconds, plain.size, framed.model) == ("4", "1280x720", "sora-2-pro")
            with pytest.raises(openai.BadRequestError) as ei:
                client.videos.create(prompt="x", model="sora-2", seconds="4", size="160x96")
            assert ei.value.param == "size" and "Supported values are" in ei.value.message
            with pytest.raises(openai.BadRequestError) as ei:
                client.videos.create(prompt="x")
            assert ei.value.param == "model" and ei.value.code == "missing_required_parameter"
        assert emu.counts["creates"] == 2
