"""Webhook signatures (valid, tampered body, wrong secret, stale, replayed) and the receiver
downloading + auditing a journaled job when the emulator's signed video.completed arrives."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import pytest

from audit.pipeline import AuditOptions
from audit.sora.client import ClientConfig, VideosClient
from audit.sora.emulator import Emulator, EmulatorSettings
from audit.sora.generate import Generator
from audit.sora.jobs import JobStore
from audit.sora.providers import Secret, get_provider
from audit.sora.receiver import handle_video_event
from audit.sora.suite import Case
from audit.sora.webhooks import WebhookReceiver, WebhookVerificationError, sign, signed_headers, verify

SECRET = "whsec_" + base64.b64encode(b"test-secret-0123456789abcdef").decode()
BODY = b'{"id":"evt_1","object":"event","created_at":1758941485,"type":"video.completed","data":{"id":"video_1"}}'


def test_valid_signature_accepted_with_both_secret_forms():
    verify(SECRET, signed_headers(SECRET, "wh_1", BODY), BODY)
    verify("raw-secret", signed_headers("raw-secret", "wh_1", BODY), BODY)
    h = signed_headers(SECRET, "wh_1", BODY)
    h["webhook-signature"] = "v1,AAAA " + h["webhook-signature"]  # rotated keys: any listed one may match
    verify(SECRET, {k.upper(): v for k, v in h.items()}, BODY)


def test_signature_matches_the_standard_webhooks_formula():
    import hashlib
    import hmac

    key = base64.b64decode(SECRET[6:])
    want = base64.b64encode(hmac.new(key, b"wh_1.1700000000." + BODY, hashlib.sha256).digest()).decode()
    assert sign(SECRET, "wh_1", 1700000000, BODY) == "v1," + want


@pytest.mark.parametrize("mutate,why", [
    (lambda h, b: (h, b.replace(b"video_1", b"video_2")), "signature does not match"),
    (lambda h, b: (signed_headers("whsec_" + base64.b64encode(b"other").decode(), "wh_1", b), b),
     "signature does not match"),
    (lambda h, b: (signed_headers(SECRET, "wh_1", b, now=time.time() - 301), b), "too old"),
    (lambda h, b: (signed_headers(SECRET, "wh_1", b, now=time.time() + 400), b), "too new"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "missing header webhook-id"),
    (lambda h, b: (dict(h, **{"webhook-timestamp": "yesterday"}), b), "timestamp format"),
])
def test_bad_deliveries_rejected(mutate, why):
    h, b = mutate(signed_headers(SECRET, "wh_1", BODY), BODY)
    with pytest.raises(WebhookVerificationError, match=why):
        verify(SECRET, h, b)


def test_receiver_rejects_bad_and_replayed_deliveries():
    got = []
    with WebhookReceiver(SECRET, got.append) as recv:
        h = signed_headers(SECRET, "wh_42", BODY)
        assert httpx.post(recv.url, content=BODY, headers=h).status_code == 200
        r = httpx.post(recv.url, content=BODY, headers=h)  # the same delivery again
        assert r.status_code == 200 and r.json()["status"] == "duplicate"
        assert httpx.post(recv.url, content=BODY + b" ", headers=h).status_code == 400
        assert httpx.post(recv.url, content=BODY, headers=signed_headers("whsec_" + base64.b64encode(b"x").decode(),
                                                                        "wh_43", BODY)).status_code == 400
    assert len(got) == 1 and got[0]["data"]["id"] == "video_1"
    assert recv.stats == {"accepted": 1, "rejected": 2, "duplicates": 1, "handled": 1, "handler_errors": 0}


@pytest.mark.slow
def test_completed_webhook_downloads_and_audits_the_journaled_job(tmp_path):
    ref = Path(__file__).resolve().parents[1] / "fixtures" / "references" / "static.jpg"
    store = JobStore(tmp_path / "out" / "jobs.sqlite")
    store.new_run("run1", "suite.toml", "sha", "emulator")
    reports = tmp_path / "hooks"
    with Emulator(EmulatorSettings(job_seconds=0.3, webhook_secret=SECRET, webhook_url="http://127.0.0.1:1/x")) as emu:
        client = VideosClient(get_provider("emulator"), Secret("k"), ClientConfig(poll_interval=0.05),
                              base_url=emu.base_url)
        # journal + create the way `run` does, but do not poll: the webhook finishes the job
        gen = Generator(client, store, "run1", tmp_path / "out" / "run1", "emulator")
        case = Case("still", "A static shot", ("sora-2",), "1", "160x96", reference=str(ref))
        row = store.ensure(job_key=gen.job_key(case, "sora-2", 1), run_id="run1", request_hash="h",
                           provider="emulator", model="sora-2", case_id="still", repeat=1, prompt=case.prompt,
                           seconds="1", size="160x96", reference=str(ref))
        vid = gen._create(row, type("O", (), {"case": case, "model": "sora-2"})())
        with WebhookReceiver(SECRET, lambda ev: handle_video_event(
                ev, store=store, client=client, options=AuditOptions(), report_dir=reports)) as recv:
            emu.settings.webhook_url = recv.url  # the sender retries until someone listens
            t0 = time.monotonic()
            while not (reports / f"{vid}.json").exists() and time.monotonic() - t0 < 60:
                time.sleep(0.1)
        assert recv.stats["accepted"] == 1 and recv.errors == []
    res = json.loads((reports / f"{vid}.json").read_text())
    (clip,) = res["clips"]
    assert clip["source"]["video_id"] == vid and clip["media"]["frames"] == 24
    assert clip["generation"]["via"] == "webhook"
    assert store.find_video(vid).status == "downloaded" and Path(store.find_video(vid).file_path).is_file()
    assert emu.counts["downloads"] == 1 and emu.counts["webhooks_sent"] == 1


def test_webhooks_serve_needs_a_secret_and_a_journal(tmp_path, monkeypatch, capsys):
    from audit.cli import main

    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    assert main(["webhooks", "serve", "--out", str(tmp_path)]) == 2
    assert "OPENAI_WEBHOOK_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    assert main(["webhooks", "serve", "--out", str(tmp_path)]) == 2
    assert "no job journal" in capsys.readouterr().err


def test_emulator_command_serves_by_hand(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "audit", "emulator", "--port", "0", "--api-key", "EMU_KEY"],
                            cwd=root, env=dict(os.environ, EMU_KEY="sk-emu-by-hand"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "serving http://127.0.0.1:" in line, line + proc.stderr.read()
        url = line.split()[3]
        assert httpx.get(url + "/videos", headers={"Authorization": "Bearer sk-emu-by-hand"}).json()["object"] == "list"
        assert httpx.get(url + "/videos", headers={"Authorization": "Bearer wrong"}).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0
