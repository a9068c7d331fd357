"""Our Videos API client sends what the official ``openai`` SDK sends.

Each call is made twice, by the SDK and by our ``VideosClient``, both on an in-memory
``MockTransport`` (the SDK runs on ``httpx2``, we on ``httpx``); the two requests are reduced to
their wire shape (method, path, query, Accept, body type, body fields with file names and part
types) and must be equal. The drift tests change our client (form-encoded create, a renamed
field, a form-encoded remix) and show that the comparison then fails, so it is not vacuous.

Then recorded replies of the real API (``fixtures/sora_api/recorded.json``, origin inside) are
served to our client, which must read the jobs, the list and the delete reply, and put every
recorded error in its category.
"""

from __future__ import annotations

import json
import random
import warnings
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import httpx2  # the SDK's own HTTP library (installed with openai)
import openai  # a test dependency only
import pytest

from audit.sora import client as client_mod
from audit.sora import errors as E
from audit.sora.client import ClientConfig, RetryPolicy, VideosClient
from audit.sora.providers import Secret, get_provider

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "fixtures" / "references" / "static.jpg"
RECORDED = json.loads((ROOT / "fixtures" / "sora_api" / "recorded.json").read_text(encoding="utf-8"))
BASE = "http://videos.test/v1"
VID = "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5"
JOB = RECORDED["jobs"][0]["body"]
CONTENT = {"video": (b"\x00\x00\x00\x18ftypmp42" + bytes(64), "video/mp4"),
           "thumbnail": (b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(32), "image/webp"),
           "spritesheet": (b"\xff\xd8\xff\xe0" + bytes(32), "image/jpeg")}


def reply(lib, request, routes=None):
    """The answer of a fake API (``lib`` = httpx or httpx2): ``routes`` maps (method, path) to a
    (status, JSON body); by default a job, the list, the delete reply, or the content bytes."""
    path = request.url.path.removeprefix("/v1")
    if routes and (request.method, path) in routes:
        status, body = routes[(request.method, path)]
        return lib.Response(status, json=body)
    if path.endswith("/content"):
        data, ctype = CONTENT[dict(request.url.params).get("variant", "video")]
        # an iterator, not bytes: a body given as bytes is already read, and our client streams
        return lib.Response(200, content=iter([data]), headers={"content-type": ctype,
                                                                "content-length": str(len(data))})
    if request.method == "DELETE":
        return lib.Response(200, json=RECORDED["delete"]["body"])
    if path == "/videos" and request.method == "GET":
        return lib.Response(200, json=RECORDED["list"]["body"])
    return lib.Response(200, json=dict(JOB, status="completed", progress=100))


def sdk_requests(call) -> list:
    seen = []

    def handler(request):
        request.read()
        seen.append(request)
        return reply(httpx2, request)

    sdk = openai.OpenAI(api_key="sk-contract", base_url=BASE, max_retries=0,
                        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks the videos API deprecated
        call(sdk)
    return seen


def our_client(handler, **cfg) -> VideosClient:
    conf = ClientConfig(retry=RetryPolicy(max_retries=0), poll_interval=0.0, **cfg)
    return VideosClient(get_provider("emulator"), Secret("sk-contract"), conf, base_url=BASE,
                        transport=httpx.MockTransport(handler), sleep=lambda s: None, rng=random.Random(0))


def our_requests(call, tmp_path) -> list:
    seen = []

    def handler(request):
        request.read()
        seen.append(request)
        return reply(httpx, request)

    with our_client(handler) as c:
        call(c, tmp_path)
    return seen


def shape(request) -> dict:
    """What the API sees of a request: method, path, query, Accept, the body's media type (None
    without a body) and its fields as (name, file name, part Content-Type, value)."""
    body = request.content
    ctype = request.headers.get("content-type", "")
    media = ctype.split(";", 1)[0].strip().lower() if body else None
    fields: list[tuple] = []
    if media == "multipart/form-data":
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        assert msg.is_multipart(), "a multipart Content-Type over a body that does not parse as multipart"
        for part in msg.iter_parts():
            fields.append((part.get_param("name", header="content-disposition"), part.get_filename(),
                           part.get("content-type") if part.get_filename() else None,
                           part.get_payload(decode=True)))
    elif media == "application/json":
        fields = [(k, None, None, json.dumps(v)) for k, v in json.loads(body).items()]
    elif media is not None:
        fields = [(k, None, None, v.encode()) for k, v in parse_qsl(body.decode("latin-1"))]
    return {"method": request.method, "path": request.url.path, "query": sorted(request.url.params.multi_items()),
            "accept": request.headers.get("accept"), "body_type": media, "fields": fields}


def assert_same(sdk: list, ours: list) -> None:
    assert len(ours) == len(sdk), f"{len(ours)} request(s) sent, the SDK sends {len(sdk)}"
    for a, b in zip(sdk, ours):
        want, got = shape(a), shape(b)
        for key in ("method", "path", "query", "accept", "body_type"):
            assert got[key] == want[key], f"{key}: ours {got[key]!r}, the SDK's {want[key]!r}"
        assert [f[0] for f in got["fields"]] == [f[0] for f in want["fields"]], \
            f"field names: ours {[f[0] for f in got['fields']]}, the SDK's {[f[0] for f in want['fields']]}"
        assert got["fields"] == want["fields"], "field values, file names or part types differ"


# (name, the SDK's call, ours): the same request through each
CALLS = [
    ("create", lambda s: s.videos.create(prompt="A pan left", model="sora-2", seconds="4", size="1280x720"),
     lambda c, t: c.create(prompt="A pan left", model="sora-2", seconds=4, size="1280x720")),
    ("create+input_reference",
     lambda s: s.videos.create(prompt="A pan left", model="sora-2-pro", seconds="8", size="720x1280",
                               input_reference=REF.open("rb")),
     lambda c, t: c.create(prompt="A pan left", model="sora-2-pro", seconds="8", size="720x1280",
                           input_reference=REF)),
    ("create model only", lambda s: s.videos.create(prompt="x", model="sora-2"),
     lambda c, t: c.create(prompt="x", model="sora-2")),
    ("retrieve", lambda s: s.videos.retrieve(VID), lambda c, t: c.retrieve(VID)),
    ("poll", lambda s: s.videos.poll(VID), lambda c, t: c.poll(VID)),
    ("list", lambda s: s.videos.list(limit=10, after="video_abc", order="asc"),
     lambda c, t: c.list(limit=10, after="video_abc", order="asc")),
    ("download video", lambda s: s.videos.download_content(VID, variant="video").read(),
     lambda c, t: c.download(VID, t / "v.mp4", variant="video")),
    ("download thumbnail", lambda s: s.videos.download_content(VID, variant="thumbnail").read(),
     lambda c, t: c.download(VID, t / "t.webp", variant="thumbnail")),
    ("download spritesheet", lambda s: s.videos.download_content(VID, variant="spritesheet").read(),
     lambda c, t: c.download(VID, t / "s.jpg", variant="spritesheet")),
    ("remix", lambda s: s.videos.remix(VID, prompt="now tilt up"), lambda c, t: c.remix(VID, "now tilt up")),
    ("delete", lambda s: s.videos.delete(VID), lambda c, t: c.delete(VID)),
]


@pytest.mark.parametrize("name,sdk_call,our_call", CALLS, ids=[c[0] for c in CALLS])
def test_every_call_is_sent_as_the_official_sdk_sends_it(name, sdk_call, our_call, tmp_path):
    sdk, ours = sdk_requests(sdk_call), our_requests(our_call, tmp_path)
    assert_same(sdk, ours)
    if name.startswith("create"):  # the point of issue 17: multipart even without an image
        assert shape(ours[0])["body_type"] == "multipart/form-data"
    if name.startswith("download"):
        assert shape(ours[0])["accept"] == "application/binary"


def _sdk(name):
    return next(c for c in CALLS if c[0] == name)


def test_a_form_encoded_create_is_caught(monkeypatch, tmp_path):
    """The bug of issue 17: ``files=None`` without an image made httpx send a urlencoded body."""
    def old_multipart(data, files=None):
        return {"data": data, "files": files or None}

    monkeypatch.setattr(client_mod, "multipart", old_multipart)
    _, sdk_call, our_call = _sdk("create")
    ours = our_requests(our_call, tmp_path)
    assert shape(ours[0])["body_type"] == "application/x-www-form-urlencoded"
    with pytest.raises(AssertionError, match="body_type"):
        assert_same(sdk_requests(sdk_call), ours)
    # with an image the old code was multipart already: the same comparison passes there
    _, sdk_call, our_call = _sdk("create+input_reference")
    assert_same(sdk_requests(sdk_call), our_requests(our_call, tmp_path))


@pytest.mark.parametrize("rename", [("seconds", "duration"), ("size", "resolution"), ("prompt", "text")])
def test_a_renamed_field_is_caught(monkeypatch, tmp_path, rename):
    real = client_mod.create_fields
    old, new = rename

    def drifted(*a, **kw):
        return {(new if k == old else k): v for k, v in real(*a, **kw).items()}

    monkeypatch.setattr(client_mod, "create_fields", drifted)
    _, sdk_call, our_call = _sdk("create")
    with pytest.raises(AssertionError, match="field names"):
        assert_same(sdk_requests(sdk_call), our_requests(our_call, tmp_path))


def test_a_renamed_file_field_and_a_form_encoded_remix_are_caught(monkeypatch, tmp_path):
    real = client_mod.multipart

    def drifted(data, files=None):
        return real(data, {"image": v for v in (files or {}).values()})

    monkeypatch.setattr(client_mod, "multipart", drifted)
    _, sdk_call, our_call = _sdk("create+input_reference")
    with pytest.raises(AssertionError, match="field names"):
        assert_same(sdk_requests(sdk_call), our_requests(our_call, tmp_path))
    monkeypatch.undo()

    real_request = VideosClient.request

    def form_remix(self, method, path, **kw):
        if "json" in kw:
            kw["data"] = kw.pop("json")
        return real_request(self, method, path, **kw)

    monkeypatch.setattr(VideosClient, "request", form_remix)
    _, sdk_call, our_call = _sdk("remix")
    with pytest.raises(AssertionError, match="body_type"):
        assert_same(sdk_requests(sdk_call), our_requests(our_call, tmp_path))


# --- recorded replies of the real API --------------------------------------------------------

@pytest.mark.parametrize("entry", RECORDED["jobs"], ids=[j["what"] for j in RECORDED["jobs"]])
def test_recorded_jobs_are_read(entry):
    body = entry["body"]
    c = our_client(lambda r: httpx.Response(200, json=body))
    job = c.retrieve(body["id"])
    assert job == body  # unknown fields (OAS's "quality") are kept, nothing is required beyond the id
    done = c.poll(body["id"], first=body) if body["status"] in ("completed", "failed") else None
    if entry.get("expect"):
        err = E.classify_job_error(done["error"]["code"], done["error"]["message"], done["id"])
        assert [err.category, err.code] == entry["expect"]
        assert (err.provider_code, err.provider_message) == (body["error"]["code"], body["error"]["message"])


def test_recorded_list_and_delete_are_read():
    routes = {("GET", "/videos"): (200, RECORDED["list"]["body"]), ("DELETE", f"/videos/{VID}"):
              (200, RECORDED["delete"]["body"])}
    c = our_client(lambda r: reply(httpx, r, routes))
    assert [v["id"] for v in c.iter_all()] == [RECORDED["list"]["body"]["data"][0]["id"]]
    assert c.delete(VID)["deleted"] is True


@pytest.mark.parametrize("entry", RECORDED["errors"], ids=[e["what"] for e in RECORDED["errors"]])
def test_recorded_errors_land_in_their_category(entry):
    c = our_client(lambda r: httpx.Response(entry["status"], json=entry["body"]))
    with pytest.raises(E.GenerationError) as ei:
        c.create(prompt="x", model="sora-2", seconds=4, size="1280x720")
    err = ei.value
    assert [err.category, err.code] == entry["expect"]
    assert err.http_status == entry["status"]
    assert err.provider_message == entry["body"]["error"]["message"]  # verbatim
    assert err.provider_code == entry["body"]["error"]["code"]
