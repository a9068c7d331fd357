"""The emulator reads requests as strictly as the real Videos API: raw HTTP bodies the API would
refuse are refused with its error shape, and our client's every call succeeds on the strict
emulator (the API's own seconds and sizes, reference image at the requested size)."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import httpx
import pytest

from audit.sora.client import ClientConfig, RetryPolicy, VideosClient
from audit.sora.emulator import Emulator, EmulatorSettings
from audit.sora.generate import decodable
from audit.sora.providers import Secret, get_provider

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "fixtures" / "references" / "api_1280x720.jpg"   # 1280x720, one of the API's sizes
SMALL_REF = ROOT / "fixtures" / "references" / "static.jpg"  # 320x180
ERROR_KEYS = {"message", "type", "param", "code"}


def strict_emulator() -> Emulator:
    # fps 4: a 4 s 1280x720 clip is 16 frames, so rendering the API's real sizes stays cheap
    return Emulator(EmulatorSettings(job_seconds=0.2, poll_after_ms=50, strict=True, fps=4.0, sign=False))


@pytest.fixture(scope="module")
def strict():
    with strict_emulator() as e:
        yield e


def post(emu, path, **kw):
    return httpx.post(emu.base_url + path, headers={"Authorization": "Bearer k", **kw.pop("headers", {})}, **kw)


def assert_api_error(resp, status, param, message):
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == ERROR_KEYS and err["type"] == "invalid_request_error"
    assert err["param"] == param and message in err["message"]
    return err


GOOD = {"prompt": "A pan left", "model": "sora-2", "seconds": "4", "size": "1280x720"}


def test_a_form_encoded_create_is_refused_with_400(strict):
    before = strict.counts["creates"]
    resp = post(strict, "/videos", data=GOOD)  # httpx: fields only -> application/x-www-form-urlencoded
    assert resp.request.headers["content-type"] == "application/x-www-form-urlencoded"
    err = assert_api_error(resp, 400, None, "Unsupported content type: 'application/x-www-form-urlencoded'")
    assert err["code"] == "unsupported_content_type"
    # the same fields as multipart, or as JSON, are accepted
    assert post(strict, "/videos", json=GOOD).status_code == 200
    ok = post(strict, "/videos", files={k: (None, v) for k, v in GOOD.items()})
    assert ok.status_code == 200 and ok.json()["object"] == "video"
    assert strict.counts["creates"] == before + 2
    assert post(strict, "/videos", content=json.dumps(GOOD), headers={"Content-Type": "text/plain"}).status_code == 400


@pytest.mark.parametrize("change,status,param,message", [
    (dict(width="1280"), 400, "width", "Unknown parameter: 'width'."),
    (dict(n="2"), 400, "n", "Unknown parameter: 'n'."),
    (dict(model=None), 400, "model", "Missing required parameter: 'model'."),
    (dict(prompt=None), 400, "prompt", "Missing required parameter: 'prompt'."),
    (dict(seconds="15"), 400, "seconds", "Invalid value: '15'. Supported values are: '4', '8', and '12'."),
    (dict(seconds="1"), 400, "seconds", "Invalid value: '1'."),
    (dict(size="1080x1080"), 400, "size", "Invalid value: '1080x1080'. Supported values are: '720x1280', "
     "'1280x720', '1024x1792', and '1792x1024'."),
    (dict(size="160x96"), 400, "size", "Invalid value: '160x96'."),
    (dict(input_reference="a string, not a file"), 400, "input_reference",
     "Invalid type for 'input_reference': expected a file, but got a string instead."),
])
def test_multipart_mistakes_are_refused_as_the_api_refuses_them(strict, change, status, param, message):
    fields = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    resp = post(strict, "/videos", files={k: (None, v) for k, v in fields.items()})
    assert_api_error(resp, status, param, message)


@pytest.mark.parametrize("body,param,message", [
    (dict(GOOD, seconds=4), "seconds",
     "Invalid type for 'seconds': expected one of '4', '8', or '12', but got an integer instead."),
    (dict(GOOD, size=None), "size", "Invalid type for 'size': expected a string, but got null instead."),
    (dict(GOOD, fps=24), "fps", "Unknown parameter: 'fps'."),
    (dict(GOOD, input_reference="x.jpg"), "input_reference", "exactly one of 'image_url' or 'file_id'"),
])
def test_json_mistakes_are_refused(strict, body, param, message):
    assert_api_error(post(strict, "/videos", json=body), 400, param, message)


def test_json_create_with_a_data_url_image_and_a_mismatched_image(strict):
    url = "data:image/jpeg;base64," + base64.b64encode(REF.read_bytes()).decode()
    assert post(strict, "/videos", json=dict(GOOD, input_reference={"image_url": url})).status_code == 200
    small = "data:image/jpeg;base64," + base64.b64encode(SMALL_REF.read_bytes()).decode()
    resp = post(strict, "/videos", json=dict(GOOD, input_reference={"image_url": small}))
    assert resp.status_code == 400 and "must match the requested width and height" in resp.json()["error"]["message"]


def test_remix_takes_json_or_multipart_and_nothing_else(strict):
    vid = post(strict, "/videos", json=GOOD).json()["id"]
    assert_api_error(post(strict, f"/videos/{vid}/remix", data={"prompt": "tilt up"}), 400, None,
                     "Unsupported content type")
    assert_api_error(post(strict, f"/videos/{vid}/remix", json={"prompt": "x", "seconds": "8"}), 400, "seconds",
                     "Unknown parameter: 'seconds'.")
    assert post(strict, f"/videos/{vid}/remix", json={"prompt": "tilt up"}).status_code == 200
    assert post(strict, f"/videos/{vid}/remix", files={"prompt": (None, "tilt up")}).status_code == 200


def test_our_client_every_call_succeeds_on_the_strict_emulator(tmp_path):
    conf = ClientConfig(poll_interval=0.05, retry=RetryPolicy(max_retries=0))
    with strict_emulator() as strict, VideosClient(get_provider("emulator"), Secret("sk-strict"), conf, base_url=strict.base_url,
                      rng=random.Random(2)) as c:
        plain = c.create(prompt="The camera pans right", model="sora-2", seconds=4, size="1280x720")
        framed = c.create(prompt="A static shot", model="sora-2-pro", seconds="4", size="1280x720",
                          input_reference=REF)
        for job in (plain, framed):
            assert c.retrieve(job["id"])["id"] == job["id"]
            assert c.poll(job["id"])["status"] == "completed"
        out = c.download(framed["id"], tmp_path / "v.mp4", check=decodable)
        decodable(out)
        assert c.download(framed["id"], tmp_path / "t.webp", variant="thumbnail").read_bytes()[8:12] == b"WEBP"
        assert c.download(framed["id"], tmp_path / "s.jpg", variant="spritesheet").read_bytes()[:2] == b"\xff\xd8"
        remix = c.remix(plain["id"], "Now tilt up")
        assert remix["remixed_from_video_id"] == plain["id"]
        assert {plain["id"], framed["id"], remix["id"]} <= {v["id"] for v in c.iter_all(limit=2)}
        assert c.delete(remix["id"])["deleted"] is True
