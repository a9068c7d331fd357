"""A local Videos API emulator on 127.0.0.1: the OpenAI Videos API wire format (notes/sora-api.md),
real MP4s rendered with ``audit.synth``, and faults on demand.

Completed jobs are real clips: the reference image (``input_reference``) as the first frame,
the camera move named by the prompt's verbs ("pan left", "tilt up", "zoom in", "dolly out",
"roll"...), the requested seconds and size, an audio track and our moving mark. When
``audit.provenance.signing`` exists (test-only C2PA chain), the clip is signed with it.

Faults, by a keyword in the prompt (or for every request through ``EmulatorSettings.faults``):

    [refuse]            create -> 400 moderation_blocked                       (policy)
    [likeness]          create -> 400 "...real people's likeness"               (policy)
    [face]              create -> 400 input_reference "faces of humans"         (policy)
    [real-person]       create -> 400 input_image_contains_real_person, a code our
                        table did not know when a provider first sent it          (policy)
    [fail-moderation]   job fails half-way with error.code moderation_blocked   (policy)
    [fail-internal]     job fails half-way with error.code internal_error       (runtime)
    [429]               the first ``rate_limit_times`` creates -> 429 + Retry-After
    [5xx]               the first ``server_error_times`` creates -> 503
    [5xx-always]        every create -> 500
    [slow]              the job takes ``slow_seconds``
    [hang]              create answers only after ``hang_seconds`` (the job IS created)
    [cut]               the download stops half-way (Content-Length says the full size)
    [garbage]           the download is the right size but not a video
A model in ``retired_models`` answers 410; a model not in ``models`` answers 404 model_not_found.

Bodies are read as strictly as the real API reads them (``emulator_wire``): multipart/form-data
or JSON only (a form-encoded body is a 400), no unknown field, ``prompt`` and ``model``
required, ``seconds``/``size`` as strings. ``EmulatorSettings.strict`` also limits ``seconds``
and ``size`` to the API's values; without it the emulator renders small test clips too.

``sora-audit emulator --port N`` runs it by hand; tests start it in a thread (port 0).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from .emulator_media import camera_from_prompt, preview, render_job, signer_for  # noqa: F401
from .emulator_wire import CREATE_FIELDS, REMIX_FIELDS, WireError, check_values, error, parse_body, require
from .providers import SORA_MODELS

FAULTS = ("refuse", "likeness", "face", "real-person", "fail-moderation", "fail-internal", "429", "5xx", "5xx-always",
          "slow", "hang", "cut", "garbage")


@dataclass
class EmulatorSettings:
    """Times in seconds. ``api_key``: when set, requests must carry it (else 401)."""

    models: tuple[str, ...] = SORA_MODELS
    retired_models: dict[str, int] = field(default_factory=lambda: {"sora-1": 410})
    job_seconds: float = 0.6
    slow_seconds: float = 3600.0
    hang_seconds: float = 5.0
    rate_limit_times: int = 1
    retry_after: float = 1.0
    server_error_times: int = 2
    poll_after_ms: int | None = 100
    fps: float = 24.0
    render_workers: int = 2       # clips rendered at once (the API's sizes take seconds each)
    strict: bool = False          # True: only the API's seconds/sizes are accepted, with the real messages
    api_key: str | None = None
    faults: tuple[str, ...] = ()  # applied to every request, as if the prompt named them
    webhook_url: str | None = None
    webhook_secret: str | None = None
    workdir: str | None = None
    sign: bool = True


class Job:
    def __init__(self, vid: str, req: dict, faults: set[str], duration: float):
        self.id = vid
        self.req = req
        self.faults = faults
        self.created = time.time()
        self.duration = duration
        self.path: Path | None = None
        self.render_error: str | None = None
        self.rendered = threading.Event()
        self.webhook_sent = False
        self.remixed_from: str | None = None

    def state(self) -> tuple[str, int, dict | None]:
        el = time.time() - self.created
        frac = el / self.duration if self.duration > 0 else 1.0
        if "fail-moderation" in self.faults and frac >= 0.5:
            return "failed", 50, {"code": "moderation_blocked",
                                  "message": "Your request was blocked by our moderation system."}
        if "fail-internal" in self.faults and frac >= 0.5:
            return "failed", 50, {"code": "internal_error", "message": "The video could not be generated due to "
                                  "an internal error. Please try again."}
        if self.render_error and frac >= 1.0:
            return "failed", 99, {"code": "internal_error", "message": f"render failed: {self.render_error}"}
        if frac >= 1.0 and self.rendered.is_set():
            return "completed", 100, None
        if frac < 0.1:
            return "queued", 0, None
        return "in_progress", min(99, int(frac * 100)), None

    def to_dict(self) -> dict:
        status, progress, error = self.state()
        done = status in ("completed", "failed")
        return {
            "id": self.id, "object": "video", "model": self.req["model"], "status": status, "progress": progress,
            "created_at": int(self.created), "completed_at": int(self.created + self.duration) if done else None,
            "expires_at": int(self.created + self.duration + 3600) if status == "completed" else None,
            "prompt": self.req["prompt"], "seconds": self.req["seconds"], "size": self.req["size"],
            "remixed_from_video_id": self.remixed_from, "error": error, "quality": "standard",
        }


class Emulator:
    """The server. ``start()`` returns the base URL (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, settings: EmulatorSettings | None = None, port: int = 0):
        self.settings = settings or EmulatorSettings()
        self.port = port
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {"create_requests": 0, "creates": 0, "retrieves": 0, "downloads": 0,
                                       "remixes": 0, "deletes": 0, "lists": 0, "webhooks_sent": 0}
        self.fault_hits: dict[str, int] = {}
        self.idempotency: dict[str, str] = {}
        # a folder of its own unless told where: removed again by stop()
        self._own_workdir = not self.settings.workdir
        self.workdir = Path(self.settings.workdir or tempfile.mkdtemp(prefix="sora-emulator-"))
        self._render = ThreadPoolExecutor(max_workers=self.settings.render_workers, thread_name_prefix="emu-render")
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._sign = signer_for(self.workdir) if self.settings.sign else None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"emu": self})
        self._server = _Server(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        t = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="emulator", daemon=True)
        t.start()
        self._threads.append(t)
        if self.settings.webhook_url:
            w = threading.Thread(target=self._webhook_loop, name="emulator-webhooks", daemon=True)
            w.start()
            self._threads.append(w)
        return self.base_url

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._render.shutdown(wait=True, cancel_futures=True)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def hit(self, key: str) -> int:
        """How many times this fault key fired before (then count this one)."""
        with self.lock:
            n = self.fault_hits.get(key, 0)
            self.fault_hits[key] = n + 1
            return n

    def new_job(self, req: dict, faults: set[str], reference: bytes | None, remixed_from: str | None = None) -> Job:
        vid = "video_" + secrets.token_hex(24)
        req = dict(req, id=vid)
        duration = self.settings.slow_seconds if "slow" in faults else self.settings.job_seconds
        job = Job(vid, req, faults, duration)
        job.remixed_from = remixed_from
        job.reference = reference  # type: ignore[attr-defined]
        with self.lock:
            self.jobs[vid] = job
            self.counts["creates"] += 1
        # a [slow] job is rendered only once it is due (see ``due``): it must not hold up the
        # renderer for the jobs behind it
        job.render_later = "slow" in faults  # type: ignore[attr-defined]
        if not faults & {"fail-moderation", "fail-internal"} and not job.render_later:
            self._render.submit(self._do_render, job, reference)
        return job

    def due(self, job: Job) -> None:
        """Start rendering a deferred job whose time has come."""
        with self.lock:
            start = getattr(job, "render_later", False) and time.time() >= job.created + job.duration
            if start:
                job.render_later = False  # type: ignore[attr-defined]
        if start:
            self._render.submit(self._do_render, job, getattr(job, "reference", None))

    def _do_render(self, job: Job, reference: bytes | None) -> None:
        try:
            job.path = render_job(job.req, self.workdir / f"{job.id}.mp4", self.settings.fps, reference, self._sign)
        except Exception as e:  # becomes a failed job, as a provider's internal error would
            job.render_error = f"{type(e).__name__}: {e}"
        finally:
            job.rendered.set()

    def _webhook_loop(self) -> None:
        import httpx

        from .webhooks import signed_headers

        while not self._stop.wait(0.1):
            with self.lock:
                jobs = list(self.jobs.values())
            for job in jobs:
                status = job.state()[0]
                if job.webhook_sent or status not in ("completed", "failed"):
                    continue
                job.webhook_sent = True
                event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "created_at": int(time.time()),
                         "type": f"video.{status}", "data": {"id": job.id}}
                body = json.dumps(event)
                headers = signed_headers(self.settings.webhook_secret or "", "wh_" + secrets.token_hex(16), body)
                try:
                    httpx.post(self.settings.webhook_url, content=body, headers=headers, timeout=5)
                    self.count("webhooks_sent")
                except httpx.HTTPError:
                    job.webhook_sent = False  # retried on the next tick, as the real sender retries


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client gave up (its timeout): nothing to report
        super().handle_error(request, client_address)


_err = error


class _Handler(BaseHTTPRequestHandler):
    emu: Emulator
    protocol_version = "HTTP/1.1"
    server_version = "sora-audit-emulator"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: tests and progress bars own stderr
        pass

    # --- plumbing ---------------------------------------------------------------------------

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_" + secrets.token_hex(8))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _auth_ok(self) -> bool:
        auth = self.headers.get("Authorization", "")
        want = self.emu.settings.api_key
        if not auth.startswith("Bearer ") or (want is not None and auth[7:] != want):
            given = auth[7:]
            shown = (given[:4] + "*" * 8 + given[-4:]) if len(given) > 8 else "***"
            self._send(401, _err(f"Incorrect API key provided: {shown}. You can find your API key at "
                                 "https://platform.openai.com/account/api-keys.", code="invalid_api_key"))
            return False
        return True

    def _route(self) -> tuple[list[str], dict]:
        u = urlparse(self.path)
        parts = [p for p in u.path.split("/") if p]
        if parts[:1] == ["v1"]:
            parts = parts[1:]
        return parts, parse_qs(u.query)

    # --- verbs ------------------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        if not self._auth_ok():
            return
        parts, _ = self._route()
        if parts == ["videos"]:
            return self._create(body)
        if len(parts) == 3 and parts[0] == "videos" and parts[2] == "remix":
            return self._remix(parts[1], body)
        self._send(404, _err(f"Invalid URL (POST {self.path})"))

    def do_GET(self) -> None:  # noqa: N802
        if not self._auth_ok():
            return
        parts, q = self._route()
        if parts == ["videos"]:
            return self._list(q)
        if len(parts) == 2 and parts[0] == "videos":
            job = self._job(parts[1])
            if job:
                self.emu.count("retrieves")
                hdr = {"openai-poll-after-ms": str(self.emu.settings.poll_after_ms)} \
                    if self.emu.settings.poll_after_ms else {}
                self._send(200, job.to_dict(), hdr)
            return
        if len(parts) == 3 and parts[0] == "videos" and parts[2] == "content":
            return self._content(parts[1], (q.get("variant") or ["video"])[0])
        self._send(404, _err(f"Invalid URL (GET {self.path})"))

    def do_DELETE(self) -> None:  # noqa: N802
        if not self._auth_ok():
            return
        parts, _ = self._route()
        if len(parts) == 2 and parts[0] == "videos":
            job = self._job(parts[1])
            if job:
                with self.emu.lock:
                    self.emu.jobs.pop(job.id, None)
                self.emu.count("deletes")
                self._send(200, {"id": job.id, "object": "video.deleted", "deleted": True})
            return
        self._send(404, _err(f"Invalid URL (DELETE {self.path})"))

    # --- endpoints --------------------------------------------------------------------------

    def _job(self, vid: str) -> Job | None:
        job = self.emu.jobs.get(vid)
        if job is None:
            self._send(404, _err(f"Video with id '{vid}' not found.", param="video_id", code="video_not_found"))
        else:
            self.emu.due(job)
        return job

    def _faults(self, prompt: str) -> set[str]:
        found = {f for f in FAULTS if f"[{f}]" in prompt}
        return found | set(self.emu.settings.faults)

    def _create(self, body: bytes) -> None:
        emu, st = self.emu, self.emu.settings
        emu.count("create_requests")
        try:
            fields, files = parse_body(self.headers.get("Content-Type", ""), body, CREATE_FIELDS)
            require(fields, "prompt", "model")
        except WireError as e:
            return self._send(e.status, e.body)
        prompt, model = fields["prompt"], fields["model"]
        seconds = fields.get("seconds", "4")
        size = fields.get("size", "720x1280")
        faults = self._faults(prompt)
        if model in st.retired_models:
            status = st.retired_models[model]
            return self._send(status, _err(f"The model `{model}` has been shut down and is no longer served.",
                                           param="model", code=None))
        if model not in st.models:
            return self._send(404, _err(f"The model `{model}` does not exist or you do not have access to it.",
                                        param="model", code="model_not_found"))
        if "5xx-always" in faults:
            return self._send(500, _err("The server had an error while processing your request.", "server_error"))
        if "5xx" in faults and emu.hit("5xx:" + prompt) < st.server_error_times:
            return self._send(503, _err("The server is overloaded or not ready yet.", "service_unavailable_error",
                                        code="server_is_overloaded"))
        if "429" in faults and emu.hit("429:" + prompt) < st.rate_limit_times:
            return self._send(429, _err("Too many running tasks", "video_generation_user_error"),
                              {"Retry-After": f"{st.retry_after:g}"})
        bad = self._validate(seconds, size, files.get("input_reference"))
        if bad:
            return self._send(400, bad)
        if "refuse" in faults:
            return self._send(400, _err("Your request was blocked by our moderation system.",
                                        code="moderation_blocked"))
        if "likeness" in faults:
            return self._send(400, _err("This request may violate our guardrails concerning similarity to real "
                                        "people's likeness.", code=None))
        if "face" in faults:
            return self._send(400, _err("Input images with faces of humans are currently rejected.",
                                        param="input_reference", code="invalid_image"))
        if "real-person" in faults:
            return self._send(400, _err("Input images containing real people are not allowed",
                                        param="input_reference", code="input_image_contains_real_person"))
        key = self.headers.get("Idempotency-Key")
        with emu.lock:
            known = emu.idempotency.get(key) if key else None
        if known and known in emu.jobs:
            return self._send(200, emu.jobs[known].to_dict())
        job = emu.new_job({"prompt": prompt, "model": model, "seconds": seconds, "size": size}, faults,
                          files.get("input_reference"))
        if key:
            with emu.lock:
                emu.idempotency[key] = job.id
        if "hang" in faults:
            time.sleep(st.hang_seconds)
        self._send(200, job.to_dict())

    def _validate(self, seconds: str, size: str, ref: bytes | None) -> dict | None:
        st = self.emu.settings
        try:
            check_values(seconds, size, st.strict)
        except WireError as e:
            return e.body
        w, h = (int(v) for v in size.lower().split("x"))
        if ref is not None:
            import cv2
            import numpy as np

            img = cv2.imdecode(np.frombuffer(ref, np.uint8), cv2.IMREAD_COLOR)
            if img is None:
                return _err("Invalid type for 'input_reference': the file is not an image.",
                            param="input_reference", code="invalid_type")
            if st.strict and (img.shape[1], img.shape[0]) != (w, h):
                return _err("Inpaint image must match the requested width and height")
        return None

    def _remix(self, vid: str, body: bytes) -> None:
        src = self._job(vid)
        if src is None:
            return
        try:
            fields, _ = parse_body(self.headers.get("Content-Type", ""), body, REMIX_FIELDS)
            require(fields, "prompt")
        except WireError as e:
            return self._send(e.status, e.body)
        prompt = fields["prompt"]
        self.emu.count("remixes")
        req = {k: src.req[k] for k in ("model", "seconds", "size")}
        job = self.emu.new_job(dict(req, prompt=prompt), self._faults(prompt), getattr(src, "reference", None),
                               remixed_from=vid)
        self._send(200, job.to_dict())

    def _list(self, q: dict) -> None:
        self.emu.count("lists")
        limit = int((q.get("limit") or ["20"])[0])
        order = (q.get("order") or ["desc"])[0]
        after = (q.get("after") or [None])[0]
        with self.emu.lock:
            jobs = sorted(self.emu.jobs.values(), key=lambda j: (j.created, j.id), reverse=(order == "desc"))
        if after:
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(after) + 1:] if after in ids else []
        page = jobs[:limit]
        data = [j.to_dict() for j in page]
        self._send(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                         "last_id": data[-1]["id"] if data else None, "has_more": len(jobs) > limit})

    def _content(self, vid: str, variant: str) -> None:
        job = self._job(vid)
        if job is None:
            return
        if job.state()[0] != "completed" or job.path is None:
            return self._send(400, _err("Video is not ready yet, use GET /v1/videos/{video_id} to check status.",
                                        code="video_not_ready"))
        self.emu.count("downloads")
        if variant == "video":
            data, ctype = job.path.read_bytes(), "video/mp4"
        elif variant in ("thumbnail", "spritesheet"):
            data, ctype = preview(job.path, variant)
        else:
            return self._send(400, _err(f"Invalid value: '{variant}'.", param="variant", code="invalid_value"))
        if "garbage" in job.faults and variant == "video":
            data = bytes(len(data))
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if "cut" in job.faults and variant == "video":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)
