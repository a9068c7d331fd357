"""What the webhook receiver does with an authentic event: on ``video.completed`` for a journaled
job, download the clip (atomically) and audit it; on ``video.failed``, classify the job's error.
Each handled event writes ``<report dir>/<video id>.json`` (the run contract, one clip)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import contract
from ..pipeline import AuditOptions, AuditTask, audit_clip
from ..source import Source
from .client import VideosClient
from .errors import GenerationError, POLICY, classify_job_error
from .generate import decodable, failure_clip
from .jobs import JobRow, JobStore


def row_source(row: JobRow) -> Source:
    return Source(model=row.model, prompt=row.prompt, video_id=row.video_id,
                  seconds=float(row.seconds) if row.seconds else None, size=row.size, reference=row.reference,
                  case_id=row.case_id, repeat=row.repeat, provider=row.provider,
                  expected_camera=row.expected_camera)


def handle_video_event(event: dict, *, store: JobStore, client: VideosClient, options: AuditOptions,
                       report_dir: Path) -> Path | None:
    """Handle one verified event. Returns the report written, or None (not ours / nothing to do)."""
    kind = event.get("type")
    vid = (event.get("data") or {}).get("id")
    if kind not in ("video.completed", "video.failed") or not isinstance(vid, str):
        return None
    row = store.find_video(vid)
    if row is None:
        return None  # not a job of ours (another tool sharing the project's webhook)
    if row.status == "downloaded" and row.file_path and Path(row.file_path).is_file():
        return None  # `run` (or an earlier delivery) already fetched it
    source = row_source(row)
    dest = store.clip_path(row)
    policy = options.policy
    if kind == "video.completed":
        try:
            client.download(vid, dest, check=decodable)
        except GenerationError as e:
            store.record_error(row.job_key, "completed", e)
            clip = failure_clip(e, case_id=row.case_id, model=row.model, prompt=row.prompt, source=source,
                                policy=policy, path=str(dest))
        else:
            store.update(row.job_key, status="downloaded", progress=100, file_path=str(dest),
                         file_size=dest.stat().st_size)
            dest.with_name(dest.name + ".json").write_text(json.dumps(source.to_dict(), indent=1), encoding="utf-8")
            clip = audit_clip(AuditTask(str(dest), options, source=source))
    else:
        try:
            job = client.retrieve(vid)
            err_d = job.get("error") or {}
            err = classify_job_error(err_d.get("code"), err_d.get("message"), vid)
        except GenerationError as e:
            err = e
        store.record_error(row.job_key, "refused" if err.category == POLICY else "failed", err)
        clip = failure_clip(err, case_id=row.case_id, model=row.model, prompt=row.prompt, source=source,
                            policy=policy, path=str(dest))
    clip["generation"] = {"run": row.run_id, "job_key": row.job_key, "video_id": vid, "via": "webhook",
                          "event": event.get("id")}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    run = contract.run_dict(run_id=f"webhook-{vid}", clips=[clip], started_at=now, finished_at=now,
                            policy_source=policy.source, policy_digest=policy.digest,
                            exit_code={"pass": 0, "warn": 0, "fail": 1}.get(clip["verdict"], 3))
    return contract.write_json_atomic(Path(report_dir) / f"{vid}.json", run)
