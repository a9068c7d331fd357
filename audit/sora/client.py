"""The Videos API client (httpx): create, retrieve, poll, download, remix, list, delete.

Retries follow the OpenAI SDK's rules (notes/sora-api.md §5): 408/409/429/5xx and transport
errors are retried with exponential backoff ``min(base * 2^n, cap)`` times a jitter in
[0.75, 1], or after the server's ``retry-after-ms`` / ``Retry-After`` when it gives one (a
Retry-After longer than ``max_retry_after`` is not waited for: the error is raised at once).

The wire format is the official ``openai`` SDK's (tests/test_generate_sdk_contract.py compares
every call with it): ``create`` is always ``multipart/form-data`` (string fields ``prompt``,
``model``, ``seconds``, ``size``, and the file ``input_reference`` when given), even without an
image: httpx would send a field-only body as ``application/x-www-form-urlencoded``, which the
API does not take. ``remix`` is JSON ``{"prompt"}``; the rest carry no body. Replies are JSON
(``Accept: application/json``) except the content download (``Accept: application/binary``).

``create`` is the paid call, so it is retried only when the provider cannot have started a
job: a 429, a 5xx reply, or a connection that never opened. A read timeout after the request
was sent is ambiguous and is NOT retried (that could pay twice); the caller's journal decides.
Every create carries an ``Idempotency-Key`` (the journal's job key): providers that honour it
(the emulator does) return the same job for a repeated key.

The API key lives in a ``Secret`` and goes on the wire only through ``_Bearer`` (an
``httpx.Auth``); every message we build is passed through ``Secret.redact``.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx

from .. import __version__
from .errors import (DownloadError, GenerationError, JobExpired, RateLimited, RequestTimeout, TransportError,
                     classify_http)
from .providers import Provider, Secret

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
TERMINAL = {"completed", "failed", "expired"}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


class _ForceMultipart(dict):
    """An empty ``files`` mapping that is still true: httpx chooses multipart/form-data on the
    truth of ``files``, so this keeps a field-only create multipart (the SDK does the same)."""

    def __bool__(self) -> bool:
        return True


def create_fields(prompt: str, model: str, seconds: str | int | float | None, size: str | None) -> dict[str, str]:
    """The string fields of ``POST /videos``, named and ordered as the SDK sends them."""
    data = {"prompt": prompt, "model": model}
    if seconds is not None:
        data["seconds"] = _seconds_str(seconds)
    if size is not None:
        data["size"] = size
    return data


def multipart(data: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> dict[str, Any]:
    """httpx keyword arguments for a multipart/form-data body (never form-encoded)."""
    forced = _ForceMultipart()
    forced.update(files or {})
    return {"data": data, "files": forced}


@dataclass
class Attempt:
    """One request as sent (``n`` from 0) and what came back: ``http_status`` (None when no reply),
    ``answer`` (a short redacted text: status and provider code/message, or the transport error).
    ``sent`` is False when the connection never opened (nothing left this machine)."""

    n: int
    sent: bool
    http_status: int | None
    answer: str


class _Bearer(httpx.Auth):
    def __init__(self, key: Secret):
        self._key = key

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self._key.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "_Bearer(***)"


@dataclass
class RetryPolicy:
    """Retries of one request. Times in seconds."""

    max_retries: int = 3
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 120.0


@dataclass
class ClientConfig:
    """Timeouts in seconds. ``poll_interval``: default wait between polls when the server
    sends no ``openai-poll-after-ms``; ``job_timeout``: give up polling a job after this."""

    timeout: float = 60.0
    connect_timeout: float = 5.0
    poll_interval: float = 2.0
    poll_max: float = 20.0
    job_timeout: float = 1800.0
    download_retries: int = 2
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class VideosClient:
    """One provider's Videos API. Thread-safe (httpx.Client is); share one across jobs."""

    def __init__(self, provider: Provider, api_key: Secret, config: ClientConfig | None = None, *,
                 base_url: str | None = None, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.provider = provider
        self.config = config or ClientConfig()
        self._key = api_key
        self._sleep = sleep
        self._rng = rng or random.Random()
        url = base_url or provider.base_url
        if not url:
            raise ValueError(f"provider {provider.name} has no base URL")
        self.base_url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, auth=_Bearer(api_key), transport=transport,
            timeout=httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout),
            headers={"User-Agent": f"sora-audit/{__version__}", "Accept": "application/json"},
            follow_redirects=True,
        )

    def __repr__(self) -> str:
        return f"VideosClient(provider={self.provider.name!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "VideosClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- requests with retries ------------------------------------------------------------

    def _delay(self, attempt: int, resp: httpx.Response | None) -> float | None:
        """Seconds to wait before retry ``attempt`` (0-based); None = do not retry."""
        rp = self.config.retry
        if resp is not None:
            ra = _retry_after(resp)
            if ra is not None:
                return ra if ra <= rp.max_retry_after else None
        return min(rp.base * (2 ** attempt), rp.cap) * self._rng.uniform(0.75, 1.0)

    def request(self, method: str, path: str, *, what: str, paid: bool = False,
                on_attempt: Callable[[Attempt], None] | None = None, **kw: Any) -> httpx.Response:
        """Send with retries; raise a ``GenerationError`` for a final error reply or failure.
        ``paid``: the request starts a billed job, so ambiguous failures are not retried.
        ``on_attempt(Attempt)``: called after every request sent (or not sent), with its answer."""
        rp = self.config.retry
        attempt = 0

        def note(make: Callable[[], Attempt]) -> None:
            if on_attempt is not None:
                on_attempt(make())
        while True:
            resp = None
            try:
                resp = self._http.request(method, path, **kw)
                note(lambda: Attempt(attempt, True, resp.status_code, self._say(_answer(resp))))
            except httpx.TransportError as e:
                # a connection that never opened sent nothing; anything later may have reached the provider
                never_opened = isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                note(lambda: Attempt(attempt, not never_opened, None, self._say(f"{type(e).__name__}: {e}")[:300]))
                if isinstance(e, httpx.TimeoutException):
                    err = self._timeout(e, what, paid, attempt)
                else:
                    err = self._lost(e, what, paid, attempt)
            else:
                if resp.status_code < 400:
                    return resp
                err = classify_http(resp.status_code, _body(resp), retries=attempt, what=what)
                err.message = self._say(err.message)
                err.provider_message = self._say(err.provider_message) if err.provider_message else None
                if not _should_retry(resp):
                    raise err
            delay = self._delay(attempt, resp)
            if attempt >= rp.max_retries or delay is None:
                if isinstance(err, RateLimited) and delay is None and resp is not None:
                    err.message += f" (Retry-After {_retry_after(resp):g} s is longer than we wait)"
                err.retries = attempt
                raise err
            self._sleep(delay)
            attempt += 1

    def _timeout(self, e: httpx.TimeoutException, what: str, paid: bool, attempt: int) -> GenerationError:
        if paid and not isinstance(e, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            raise _ambiguous(RequestTimeout(self._say(f"{what}: no reply within {self.config.timeout:g} s; the job may "
                                                      "or may not have been created, so it was not sent again"),
                                            retries=attempt, advice="Check the provider's video list before "
                                            "running again; --resume reconciles journaled jobs")) from None
        return RequestTimeout(self._say(f"{what}: timed out ({type(e).__name__})"), retries=attempt)

    def _lost(self, e: httpx.TransportError, what: str, paid: bool, attempt: int) -> GenerationError:
        if paid and not isinstance(e, httpx.ConnectError):
            raise _ambiguous(TransportError(self._say(f"{what}: connection lost after sending "
                                                      f"({type(e).__name__}: {e}); not sent again, the job "
                                                      "may exist"), retries=attempt)) from None
        return TransportError(self._say(f"{what}: {type(e).__name__}: {e}"), retries=attempt)

    def _say(self, text: str) -> str:
        return self._key.redact(text)

    # --- endpoints --------------------------------------------------------------------------

    def create(self, *, prompt: str, model: str, seconds: str | int | float | None = None, size: str | None = None,
               input_reference: str | Path | None = None, idempotency_key: str | None = None,
               on_attempt: Callable[[Attempt], None] | None = None) -> dict:
        """``POST /videos`` as multipart/form-data, with or without the image file
        ``input_reference``. Returns the job. ``on_attempt``: see ``request``."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        files = {}
        if input_reference is not None:
            ref = Path(input_reference)
            mime = IMAGE_TYPES.get(ref.suffix.lower(), "application/octet-stream")
            files["input_reference"] = (ref.name, ref.read_bytes(), mime)
        resp = self.request("POST", "/videos", what=f"create ({model})", paid=True, headers=headers,
                            on_attempt=on_attempt, **multipart(create_fields(prompt, model, seconds, size), files))
        return _json(resp, "create")

    def retrieve(self, video_id: str) -> dict:
        return _json(self.request("GET", f"/videos/{video_id}", what=f"retrieve {video_id}"), "retrieve")

    def remix(self, video_id: str, prompt: str) -> dict:
        return _json(self.request("POST", f"/videos/{video_id}/remix", what=f"remix {video_id}", paid=True,
                                  json={"prompt": prompt}), "remix")

    def list(self, *, after: str | None = None, limit: int | None = None, order: str | None = None) -> dict:
        params = {k: v for k, v in (("after", after), ("limit", limit), ("order", order)) if v is not None}
        return _json(self.request("GET", "/videos", what="list", params=params), "list")

    def iter_all(self, limit: int = 100) -> Iterator[dict]:
        after = None
        while True:
            page = self.list(after=after, limit=limit)
            yield from page.get("data", [])
            after = page.get("last_id")
            if not page.get("has_more") or not after:
                return

    def delete(self, video_id: str) -> dict:
        return _json(self.request("DELETE", f"/videos/{video_id}", what=f"delete {video_id}"), "delete")

    def poll(self, video_id: str, on_progress: Callable[[dict], None] | None = None,
             first: dict | None = None) -> dict:
        """Retrieve until the job is completed/failed; ``on_progress(job)`` after each poll.
        Raises ``RequestTimeout`` after ``job_timeout`` seconds."""
        cfg = self.config
        t0 = time.monotonic()
        job = first
        wait = cfg.poll_interval
        n = 0
        while True:
            if job is not None:
                if on_progress:
                    on_progress(job)
                if job.get("status") in TERMINAL:
                    return job
            if time.monotonic() - t0 > cfg.job_timeout:
                raise RequestTimeout(f"job {video_id} still {job.get('status') if job else 'unknown'} after "
                                     f"{cfg.job_timeout:g} s", video_id=video_id,
                                     advice="The job is journaled: run again with --resume to keep waiting")
            if job is not None:
                self._sleep(wait * self._rng.uniform(0.9, 1.1))  # jitter: many jobs do not poll in step
                wait = min(wait * 1.5, cfg.poll_max)  # back off on long jobs
            resp = self.request("GET", f"/videos/{video_id}", what=f"retrieve {video_id}",
                                headers={"X-Stainless-Poll-Helper": "true"})
            job = _json(resp, "retrieve")
            after = resp.headers.get("openai-poll-after-ms")
            if after and after.isdigit():
                wait = int(after) / 1000.0
            n += 1

    def download(self, video_id: str, dest: str | Path, variant: str = "video",
                 check: Callable[[Path], None] | None = None) -> Path:
        """Stream ``/videos/{id}/content`` to ``dest`` atomically: a temporary file in the same
        folder, its size checked against Content-Length, ``check(tmp)`` (e.g. decodable), fsync,
        then a rename. On any failure nothing is left at ``dest`` (nor the temporary file)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        attempts = self.config.download_retries
        last: GenerationError | None = None
        for attempt in range(attempts + 1):
            try:
                return self._download_once(video_id, dest, variant, check)
            except DownloadError as e:
                e.retries = attempt
                last = e
            except (JobExpired,) as e:
                raise e
            except GenerationError as e:
                if e.category != "runtime" or not e.resumable:
                    raise
                e.retries = attempt
                last = e
            if attempt < attempts:
                self._sleep(self._delay(attempt, None) or 0.0)
        assert last is not None
        raise last

    def _download_once(self, video_id: str, dest: Path, variant: str, check) -> Path:
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{self._rng.getrandbits(32):08x}.part")
        what = f"download {video_id}"
        try:
            try:
                with self._http.stream("GET", f"/videos/{video_id}/content", params={"variant": variant},
                                       headers={"Accept": "application/binary"}) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        err = classify_http(resp.status_code, _body(resp), what=what)
                        err.message = self._say(err.message)
                        if resp.status_code in (404, 410):
                            err = JobExpired(f"{what}: HTTP {resp.status_code}: the content is gone (expired or "
                                             "deleted)", provider_code=err.provider_code,
                                             provider_message=err.provider_message, http_status=resp.status_code,
                                             video_id=video_id)
                        raise err
                    expected = resp.headers.get("content-length")
                    n = 0
                    with open(tmp, "wb") as fh:
                        for chunk in resp.iter_raw(1 << 16):
                            fh.write(chunk)
                            n += len(chunk)
                        fh.flush()
                        os.fsync(fh.fileno())
            except httpx.HTTPError as e:
                raise DownloadError(self._say(f"{what}: cut off ({type(e).__name__}: {e})"), video_id=video_id) from None
            if expected is not None and expected.isdigit() and int(expected) != n:
                raise DownloadError(f"{what}: got {n} of {int(expected)} bytes", video_id=video_id)
            if n == 0:
                raise DownloadError(f"{what}: empty body", video_id=video_id)
            if check is not None:
                try:
                    check(tmp)
                except Exception as e:
                    # the decoder names the temporary file, deleted below: name the destination instead
                    detail = str(e).replace(f": '{tmp}'", "").replace(str(tmp), str(dest))
                    raise DownloadError(f"{what} to {dest}: the file does not decode ({detail}); nothing was kept",
                                        video_id=video_id) from None
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)
            return dest
        finally:
            tmp.unlink(missing_ok=True)


def _ambiguous(err: GenerationError) -> GenerationError:
    """Mark a paid request whose outcome is unknown (sent, no reply): it must not be re-sent blindly."""
    err.ambiguous = True  # type: ignore[attr-defined]
    return err


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _seconds_str(s: str | int | float) -> str:
    f = float(s)
    return str(int(f)) if f.is_integer() else str(f)


def _should_retry(resp: httpx.Response) -> bool:
    h = resp.headers.get("x-should-retry")
    if h == "true":
        return True
    if h == "false":
        return False
    return resp.status_code in RETRY_STATUS or resp.status_code >= 500


def _retry_after(resp: httpx.Response) -> float | None:
    ms = resp.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    ra = resp.headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError):
        return None
    return max(0.0, dt.timestamp() - time.time())


def _answer(resp: httpx.Response) -> str:
    """A short account of a reply for the journal: status, then the video id and status or the
    provider's error code and message."""
    body = _body(resp)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        e = body["error"]
        return f"HTTP {resp.status_code} {e.get('code') or e.get('type') or ''}: {e.get('message') or ''}"[:300]
    if isinstance(body, dict) and body.get("id"):
        return f"HTTP {resp.status_code} {body.get('id')} {body.get('status') or ''}".rstrip()
    return f"HTTP {resp.status_code} {str(body)[:200]}".rstrip()


def _body(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return resp.text[:500]


def _json(resp: httpx.Response, what: str) -> dict:
    try:
        d = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise TransportError(f"{what}: the provider replied with something that is not JSON "
                             f"(HTTP {resp.status_code}, {resp.headers.get('content-type')})") from None
    if not isinstance(d, dict):
        raise TransportError(f"{what}: the provider replied with JSON that is not an object")
    return d
