"""The Videos API client against the emulator over real HTTP on 127.0.0.1: happy path, every
fault in its category with its code, retries and waits, timeouts, atomic downloads."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from audit.sora import errors as E
from audit.sora.client import ClientConfig, RetryPolicy, VideosClient
from audit.sora.emulator import Emulator, EmulatorSettings, camera_from_prompt
from audit.sora.generate import decodable
from audit.sora.providers import Secret, get_provider

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "fixtures" / "references" / "clean_pan.jpg"
KEY = "sk-test-SECRETabcdefghijklmnop1234"


@pytest.fixture
def emu():
    e = Emulator(EmulatorSettings(job_seconds=0.3, poll_after_ms=50, retry_after=0.25))
    e.start()
    yield e
    e.stop()


class Sleeps(list):
    def __call__(self, s: float) -> None:
        self.append(s)
        import time

        time.sleep(min(s, 0.05))  # record the wait the client chose; do not spend it


def make_client(emu, sleeps=None, **cfg) -> VideosClient:
    retry = cfg.pop("retry", RetryPolicy(max_retries=3, base=0.2, cap=1.0))
    conf = ClientConfig(poll_interval=0.05, retry=retry, **cfg)
    return VideosClient(get_provider("emulator"), Secret(KEY), conf, base_url=emu.base_url,
                        sleep=sleeps if sleeps is not None else Sleeps(), rng=random.Random(1))


def create(c, prompt, model="sora-2", **kw):
    return c.create(prompt=prompt, model=model, seconds=1, size="160x96", **kw)


def test_happy_path_create_poll_download_remix_list_delete(emu, tmp_path):
    c = make_client(emu)
    job = create(c, "A slow pan left across shapes", input_reference=REF)
    assert job["object"] == "video" and job["status"] in ("queued", "in_progress") and job["id"].startswith("video_")
    seen = []
    done = c.poll(job["id"], on_progress=lambda j: seen.append((j["status"], j["progress"])))
    assert done["status"] == "completed" and done["progress"] == 100 and done["expires_at"]
    pcts = [p for _, p in seen]
    assert pcts == sorted(pcts) and len(seen) >= 2
    out = c.download(job["id"], tmp_path / "clip.mp4", check=decodable)
    assert out.stat().st_size > 1000
    decodable(out)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temporary file left
    thumb = c.download(job["id"], tmp_path / "thumb.webp", variant="thumbnail")
    assert thumb.read_bytes()[8:12] == b"WEBP"
    remix = c.remix(job["id"], "Same, but zoom in")
    assert remix["remixed_from_video_id"] == job["id"]
    ids = [v["id"] for v in c.iter_all(limit=1)]
    assert set(ids) == {job["id"], remix["id"]}
    assert c.delete(remix["id"])["deleted"] is True
    with pytest.raises(E.JobExpired) as ei:
        c.retrieve(remix["id"])
    assert ei.value.code == "runtime.video_gone"
    assert emu.counts["creates"] == 2 and emu.counts["remixes"] == 1  # a remix is a paid job too


@pytest.mark.parametrize("prompt,model,cls,code", [
    ("[refuse] x", "sora-2", E.PolicyRefusal, "policy.moderation_blocked"),
    ("[likeness] x", "sora-2", E.PolicyRefusal, "policy.likeness"),
    ("[face] x", "sora-2", E.PolicyRefusal, "policy.input_image_rejected"),
    ("plain", "sora-1", E.ModelUnavailable, "runtime.model_unavailable"),            # 410
    ("plain", "sora-3-turbo", E.ModelUnavailable, "runtime.model_unavailable"),      # 404 model_not_found
    ("[5xx-always] x", "sora-2", E.ServerError, "runtime.server_error"),
])
def test_create_faults_land_in_their_category(emu, prompt, model, cls, code):
    c = make_client(emu)
    with pytest.raises(E.GenerationError) as ei:
        create(c, prompt, model=model)
    err = ei.value
    assert type(err) is cls and err.code == code
    assert err.category == ("policy" if cls is E.PolicyRefusal else "runtime")
    if cls is E.ModelUnavailable:
        assert "no longer serves" in err.advice
    if cls is E.ServerError:
        assert err.retries == 3 and emu.counts["create_requests"] == 4
    else:
        assert emu.counts["create_requests"] == 1  # refusals are not retried
    assert emu.counts["creates"] == 0


@pytest.mark.parametrize("prompt,category,code", [
    ("[fail-moderation] x", "policy", "policy.moderation_blocked"),
    ("[fail-internal] x", "runtime", "runtime.job_failed"),
])
def test_failed_jobs_are_classified_by_their_error_code(emu, prompt, category, code):
    c = make_client(emu)
    job = c.poll(create(c, prompt)["id"])
    assert job["status"] == "failed"
    err = E.classify_job_error(job["error"]["code"], job["error"]["message"], job["id"])
    assert (err.category, err.code, err.provider_code) == (category, code, job["error"]["code"])


def test_429_waits_as_told_then_succeeds(emu):
    sleeps = Sleeps()
    c = make_client(emu, sleeps)
    job = create(c, "[429] busy")
    assert job["id"] and emu.counts["create_requests"] == 2 and emu.counts["creates"] == 1
    assert sleeps == [0.25]  # the server's Retry-After, not our backoff


def test_5xx_backs_off_with_jitter_then_succeeds(emu):
    sleeps = Sleeps()
    c = make_client(emu, sleeps)
    create(c, "[5xx] flaky")
    assert emu.counts["create_requests"] == 3 and emu.counts["creates"] == 1
    assert len(sleeps) == 2
    assert 0.15 <= sleeps[0] <= 0.2 and 0.3 <= sleeps[1] <= 0.4  # base*2^n times jitter in [0.75, 1]


def test_retry_after_longer_than_allowed_is_not_waited(emu):
    emu.settings.retry_after = 500
    sleeps = Sleeps()
    c = make_client(emu, sleeps)
    with pytest.raises(E.RateLimited) as ei:
        create(c, "[429] busy")
    assert sleeps == [] and "longer than we wait" in str(ei.value)


def test_rate_limit_exhausted_is_runtime(emu):
    emu.settings.rate_limit_times = 10
    c = make_client(emu, retry=RetryPolicy(max_retries=2, base=0.01))
    with pytest.raises(E.RateLimited) as ei:
        create(c, "[429] busy")
    assert ei.value.retries == 2 and ei.value.category == "runtime" and emu.counts["creates"] == 0


def test_create_timeout_is_not_resent(emu):
    emu.settings.hang_seconds = 1.5
    c = make_client(emu, timeout=0.4)
    with pytest.raises(E.RequestTimeout) as ei:
        create(c, "[hang] slow reply")
    assert getattr(ei.value, "ambiguous", False)
    assert emu.counts["create_requests"] == 1  # a paid request whose fate is unknown is never re-sent blindly


def test_job_timeout(emu):
    c = make_client(emu, job_timeout=0.3)
    job = create(c, "[slow] forever")
    with pytest.raises(E.RequestTimeout) as ei:
        c.poll(job["id"])
    assert ei.value.video_id == job["id"] and "--resume" in ei.value.advice


def test_connection_refused_is_transport_error():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    c = VideosClient(get_provider("emulator"), Secret(KEY), ClientConfig(retry=RetryPolicy(max_retries=1, base=0.01)),
                     base_url=f"http://127.0.0.1:{port}/v1", sleep=Sleeps())
    with pytest.raises(E.TransportError) as ei:
        c.create(prompt="x", model="sora-2")
    assert ei.value.retries == 1 and KEY not in str(ei.value)


@pytest.mark.parametrize("fault", ["cut", "garbage"])
def test_bad_download_leaves_nothing(emu, tmp_path, fault):
    c = make_client(emu, download_retries=1)
    job = c.poll(create(c, f"[{fault}] x")["id"])
    assert job["status"] == "completed"
    with pytest.raises(E.DownloadError) as ei:
        c.download(job["id"], tmp_path / "clip.mp4", check=decodable)
    assert ei.value.code == "runtime.download_incomplete" and ei.value.retries == 1
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file
    assert emu.counts["downloads"] == 2
    # the message names the file the user asked for, never the deleted temporary one
    assert ".part" not in str(ei.value)
    if fault == "garbage":
        assert str(tmp_path / "clip.mp4") in str(ei.value) and "does not decode" in str(ei.value)


def test_wrong_key_is_auth_error_and_the_key_is_not_echoed(emu):
    emu.settings.api_key = "sk-the-right-one-0000000000"
    c = make_client(emu)
    with pytest.raises(E.AuthError) as ei:
        create(c, "x")
    text = str(ei.value) + repr(ei.value) + str(ei.value.provider_message)
    assert KEY not in text and KEY[:8] not in text and KEY[-4:] not in text
    assert "Incorrect API key" in text
    assert KEY not in repr(c) and "SECRET" not in repr(Secret(KEY))


def test_strict_emulator_speaks_the_real_validation_errors(emu):
    emu.settings.strict = True
    c = make_client(emu)
    with pytest.raises(E.InvalidRequest) as ei:
        c.create(prompt="x", model="sora-2", seconds=4, size="1080x1080")
    assert "Supported values are: '720x1280'" in ei.value.provider_message
    with pytest.raises(E.InvalidRequest):
        c.create(prompt="x", model="sora-2", seconds=15, size="1280x720")


def test_idempotency_key_returns_the_same_job(emu):
    c = make_client(emu)
    a = create(c, "same", idempotency_key="k1")
    b = create(c, "same", idempotency_key="k1")
    assert a["id"] == b["id"] and emu.counts["creates"] == 1


@pytest.mark.parametrize("prompt,kind", [
    ("The camera pans left over the bay", "pan_left"), ("tilt up to the sky", "tilt_up"),
    ("slow dolly in on the face", "zoom_in"), ("zoom out to reveal", "zoom_out"), ("a still life", "static"),
])
def test_camera_from_prompt(prompt, kind):
    assert camera_from_prompt(prompt) == kind


def test_unknown_codes_are_kept_verbatim():
    err = E.classify_http(400, {"error": {"message": "Something new", "type": "x", "code": "brand_new_code"}})
    assert err.provider_code == "brand_new_code" and err.provider_message == "Something new"
    assert err.code == "runtime.invalid_request"
    err = E.classify_job_error("weird_failure", "??")
    assert (err.code, err.provider_code) == ("runtime.job_failed", "weird_failure")
    # a policy message wins over the status
    assert E.classify_http(500, {"error": {"message": "blocked by our moderation system"}}).category == "policy"


def test_clip_is_signed_exactly_when_the_signing_module_exists(emu, tmp_path):
    import importlib.util
    import json

    has_signing = importlib.util.find_spec("audit.provenance.signing") is not None
    c = make_client(emu)
    job = c.poll(create(c, "zoom in on the shapes", input_reference=REF)["id"])
    out = c.download(job["id"], tmp_path / "c.mp4", check=decodable)
    side = json.loads((emu.workdir / f"{job['id']}.mp4.json").read_text())
    assert side["signed"] is has_signing and side["expected_camera"] == "zoom_in" and side["video_id"] == job["id"]
    if has_signing:  # issue 9's test-only chain: a manifest with the reference image as ingredient
        import c2pa

        with out.open("rb") as fh, c2pa.Reader("video/mp4", fh) as r:
            m = json.loads(r.json())
        active = m["manifests"][m["active_manifest"]]
        assert active["ingredients"][0]["title"].endswith(".reference.jpg")
