"""The webhook receiver against hostile senders: a huge body, idle connections, many connections,
a client that drops. Real sockets on 127.0.0.1."""

from __future__ import annotations

import base64
import socket
import threading
import time
from urllib.parse import urlparse

import httpx

from audit.sora.webhooks import WebhookReceiver, signed_headers

SECRET = "whsec_" + base64.b64encode(b"test-secret-0123456789abcdef").decode()
BODY = b'{"id":"evt_1","object":"event","created_at":1758941485,"type":"video.completed","data":{"id":"video_1"}}'


def _addr(recv) -> tuple[str, int]:
    u = urlparse(recv.url)
    return u.hostname, u.port


def test_body_over_the_cap_gets_413_unread_and_the_receiver_goes_on():
    got, lines = [], []
    with WebhookReceiver(SECRET, got.append, max_body=1 << 20, log=lines.append) as recv:
        # Declares 50 MB and sends only the headers: the reply must come without the body
        s = socket.create_connection(_addr(recv), timeout=5)
        s.sendall(b"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n" + b"x" * 1000)
        reply = s.recv(4096)
        s.close()
        assert reply.startswith(b"HTTP/1.1 413"), reply
        assert recv.connections["too_large"] == 1
        # a delivery just under the cap is still read and verified (then refused: unsigned)
        assert httpx.post(recv.url, content=b"x" * (1 << 20)).status_code == 400
        r = httpx.post(recv.url, content=BODY, headers=signed_headers(SECRET, "wh_1", BODY))
        assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert len(got) == 1


def test_idle_connections_are_closed_and_threads_are_bounded():
    lines = []
    with WebhookReceiver(SECRET, lambda ev: None, idle_timeout=0.5, max_connections=4, log=lines.append) as recv:
        base = threading.active_count()
        idle = [socket.create_connection(_addr(recv), timeout=5) for _ in range(20)]
        deadline = time.monotonic() + 0.4  # (within the idle timeout: the 4 served are still held)
        while recv.connections["refused_busy"] < 16 and time.monotonic() < deadline:
            assert threading.active_count() - base <= 4  # 20 idle connections, at most 4 threads
            time.sleep(0.02)
        assert threading.active_count() - base <= 4
        assert recv.connections["refused_busy"] == 16  # the rest were closed at once, not queued
        time.sleep(1.0)  # past the idle timeout: the 4 served ones were closed
        for s in idle:
            s.settimeout(2)
            try:
                assert s.recv(1) == b""  # closed by the receiver
            except ConnectionResetError:
                pass
            s.close()
        assert threading.active_count() - base <= 0 + 1
        r = httpx.post(recv.url, content=BODY, headers=signed_headers(SECRET, "wh_2", BODY))
        assert r.status_code == 200  # the receiver still serves
    assert all("\n" not in line for line in lines)


def test_dropped_client_is_one_log_line(capfd):
    with WebhookReceiver(SECRET, lambda ev: None, idle_timeout=0.5) as recv:  # default log: stderr
        s = socket.create_connection(_addr(recv), timeout=5)
        s.sendall(b"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"half")
        time.sleep(1.0)  # the body never completes: the read times out
        s.close()
        s = socket.create_connection(_addr(recv), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
        s.sendall(b"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        s.close()
        time.sleep(0.8)
    err = capfd.readouterr().err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.startswith("sora-audit webhooks: client 127.0.0.1:")]
    assert lines, err
    assert recv.connections["dropped"] >= 1
