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
# The receiver's limits: a delivery is a small JSON event (a few hundred bytes), so a body over
# MAX_BODY_BYTES gets 413 unread; a connection idle for IDLE_TIMEOUT_S is closed; at most
# MAX_CONNECTIONS are served at once (one thread each), more are closed at once.
MAX_BODY_BYTES = 1 << 20
IDLE_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 32


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
    (the sender's redelivery after a lost ack, or a replay: neither is processed twice).
    Hostile senders are bounded: a body over ``max_body`` bytes gets 413 without being read, an
    idle connection is closed after ``idle_timeout`` s, at most ``max_connections`` threads serve
    at once, and a client that drops is one line in the log (``log``, default stderr)."""

    def __init__(self, secret: str, on_event, *, host: str = "127.0.0.1", port: int = 0,
                 tolerance: int = TOLERANCE_S, max_body: int = MAX_BODY_BYTES,
                 idle_timeout: float = IDLE_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS, log=None):
        self.secret = secret
        self.on_event = on_event
        self.max_body, self.idle_timeout = max_body, idle_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self.log = log or _log_stderr
        self.host, self.port, self.tolerance = host, port, tolerance
        self.guard = ReplayGuard()
        self.stats = {"accepted": 0, "rejected": 0, "duplicates": 0, "handled": 0, "handler_errors": 0}
        self.connections = {"too_large": 0, "dropped": 0, "refused_busy": 0}  # limits that were hit
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
            if k in self.connections:
                self.connections[k] += 1
            else:
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
            timeout = recv.idle_timeout  # socket timeout: an idle or stalled client is let go

            def log_message(self, *a) -> None:
                pass

            def log_error(self, fmt, *args) -> None:  # e.g. "Request timed out": one line
                recv._count("dropped")
                recv.log(_one_line(f"sora-audit webhooks: client {_addr(self.client_address)}: {fmt % args}"))

            def _reply(self, status: int, reply: dict) -> None:
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                try:
                    n = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    n = -1
                if n < 0 or n > recv.max_body:
                    # Not read: the connection is closed after the reply, whatever is still coming.
                    self.close_connection = True
                    recv._count("too_large" if n > 0 else "rejected")
                    self._reply(413 if n > 0 else 400, {"error": f"body must be 0-{recv.max_body} bytes "
                                                                 "with a valid Content-Length"})
                    return
                body = self.rfile.read(n) if n else b""
                status, reply = recv.handle(dict(self.headers.items()), body)
                self._reply(status, reply)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # a burst is accepted (and refused past the limit) at once, not left to retry SYNs

            def process_request(self, request, client_address):
                if not recv._slots.acquire(blocking=False):  # all threads busy: refuse, do not queue
                    recv._count("refused_busy")
                    self.shutdown_request(request)
                    return
                super().process_request(request, client_address)

            def process_request_thread(self, request, client_address):
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    recv._slots.release()

            def handle_error(self, request, client_address):  # a dropped client: one line, no traceback
                import sys

                e = sys.exc_info()[1]
                recv._count("dropped")
                recv.log(_one_line(f"sora-audit webhooks: client {_addr(client_address)} dropped "
                                   f"({type(e).__name__}: {e})"))

        self._server = Server((self.host, self.port), H)
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


def _log_stderr(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)


def _addr(address) -> str:
    try:
        return f"{address[0]}:{address[1]}"
    except (TypeError, IndexError):
        return str(address)


def _one_line(text: str) -> str:
    """A log line: control characters (a client's bytes may reach it) shown, never obeyed."""
    from ..terminal import plain

    return plain(text)
