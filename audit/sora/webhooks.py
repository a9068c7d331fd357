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
