"""Standard Webhooks signatures, as the OpenAI SDK verifies them (notes/sora-api.md §7).

    signed content = f"{webhook-id}.{webhook-timestamp}.{raw body}"
    signature      = base64(HMAC-SHA256(key, signed content)), sent as "v1,<sig>" (space-separated list)
    key            = base64-decode(secret[6:]) for a "whsec_..." secret, else the secret's UTF-8 bytes

A delivery is accepted when one listed signature matches and the timestamp is within
``tolerance`` seconds of now (both ways). ``ReplayGuard`` rejects a ``webhook-id`` seen before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from typing import Mapping

from .errors import GenerationError

TOLERANCE_S = 300


class WebhookVerificationError(GenerationError):
    code = "runtime.webhook_rejected"
    advice = "Check the webhook secret and the sender's clock"


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode("utf-8")


def sign(secret: str, webhook_id: str, timestamp: int | str, body: bytes | str) -> str:
    """The ``webhook-signature`` header value (``v1,<base64>``) for this delivery."""
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    mac = hmac.new(_key(secret), f"{webhook_id}.{timestamp}.{raw}".encode("utf-8"), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def signed_headers(secret: str, webhook_id: str, body: bytes | str, now: float | None = None) -> dict[str, str]:
    ts = int(now if now is not None else time.time())
    return {"webhook-id": webhook_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign(secret, webhook_id, ts, body), "content-type": "application/json"}


def verify(secret: str, headers: Mapping[str, str], body: bytes | str, *, tolerance: int = TOLERANCE_S,
           now: float | None = None) -> None:
    """Raise ``WebhookVerificationError`` unless the delivery is authentic and fresh."""
    h = {k.lower(): v for k, v in headers.items()}
    for name in ("webhook-signature", "webhook-timestamp", "webhook-id"):
        if not h.get(name):
            raise WebhookVerificationError(f"webhook rejected: missing header {name}")
    try:
        ts = int(h["webhook-timestamp"])
    except ValueError:
        raise WebhookVerificationError("webhook rejected: invalid webhook timestamp format") from None
    now = time.time() if now is None else now
    if now - ts > tolerance:
        raise WebhookVerificationError(f"webhook rejected: timestamp too old ({int(now - ts)} s > {tolerance} s)")
    if ts > now + tolerance:
        raise WebhookVerificationError("webhook rejected: timestamp too new")
    expected = sign(secret, h["webhook-id"], ts, body).split(",", 1)[1]
    for part in h["webhook-signature"].split():
        sig = part[3:] if part.startswith("v1,") else part
        if hmac.compare_digest(sig.encode(), expected.encode()):
            return
    raise WebhookVerificationError("webhook rejected: signature does not match (wrong secret or altered body)")


class ReplayGuard:
    """Remembers the last ``size`` webhook ids; ``seen(id)`` is True for a repeat delivery."""

    def __init__(self, size: int = 10000):
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def seen(self, webhook_id: str) -> bool:
        with self._lock:
            if webhook_id in self._ids:
                return True
            self._ids[webhook_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return False


class WebhookReceiver:
    """An HTTP endpoint on 127.0.0.1 (or ``host``) that verifies every delivery and hands the
    authentic, first-seen events to ``on_event(event)`` on a worker thread (so the sender gets
    its 2xx at once). Rejected: 400 (missing/bad headers, bad signature, stale or future
    timestamp, not JSON). A repeated ``webhook-id`` gets 200 ``duplicate`` and is not handed on
    (the sender's redelivery after a lost ack, or a replay: neither is processed twice)."""

    def __init__(self, secret: str, on_event, *, host: str = "127.0.0.1", port: int = 0,
                 tolerance: int = TOLERANCE_S):
        self.secret = secret
        self.on_event = on_event
        self.host, self.port, self.tolerance = host, port, tolerance
        self.guard = ReplayGuard()
        self.stats = {"accepted": 0, "rejected": 0, "duplicates": 0, "handled": 0, "handler_errors": 0}
        self.errors: list[str] = []
        self._server = None
        self._lock = threading.Lock()
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhook")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}/webhooks"

    def _count(self, k: str) -> None:
        with self._lock:
            self.stats[k] += 1

    def handle(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]:
        """Verify one delivery; returns (HTTP status, JSON reply). Library entry point."""
        import json

        try:
            verify(self.secret, headers, body, tolerance=self.tolerance)
            event = json.loads(body)
            if not isinstance(event, dict) or "type" not in event:
                raise WebhookVerificationError("webhook rejected: body is not an event object")
        except (WebhookVerificationError, ValueError) as e:
            self._count("rejected")
            return 400, {"error": str(e)}
        wid = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        if self.guard.seen(wid):
            self._count("duplicates")
            return 200, {"status": "duplicate"}
        self._count("accepted")
        self._pool.submit(self._run, event)
        return 200, {"status": "accepted"}

    def _run(self, event: dict) -> None:
        try:
            self.on_event(event)
            self._count("handled")
        except Exception as e:  # one bad event must not stop the receiver
            self._count("handler_errors")
            self.errors.append(f"{event.get('type')} {event.get('data')}: {type(e).__name__}: {e}")

    def start(self) -> str:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        recv = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                status, reply = recv.handle(dict(self.headers.items()), body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((self.host, self.port), H)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True, name="webhooks").start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "WebhookReceiver":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
