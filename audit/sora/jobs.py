"""The job journal (SQLite, WAL): what was asked, paid for, and fetched, so nothing is lost or
paid twice.

One row per (run, case, model, repeat). The row is written with status ``creating`` BEFORE the
paid create request is sent, and the video id is committed the moment the reply arrives,
before any poll. ``--resume`` reads the rows back:

    downloaded   the file is on disk and has the recorded size -> audited again, not fetched
    (video id)   queued / in_progress / completed / download failed -> polled and downloaded,
                 never created again
    creating     the create was sent but its reply never journaled (crash, ambiguous timeout)
                 -> reconciled against the provider's video list (same prompt + model, created
                 after the row); re-sent with the same Idempotency-Key only if not found
    refused      a policy refusal -> reported again, not re-sent (it would be refused again)
    failed       the job failed / the create errored without a video id -> created again

Every create request is journaled in ``attempts`` with its answer (HTTP status and the video id,
or the provider's error code and message, or the transport error): a create answered 429 and then
accepted is two rows, and ``jobs.creates_sent`` counts the requests that left this machine.

The API key is never written here (only the provider's name).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    suite       TEXT NOT NULL,
    suite_sha   TEXT NOT NULL,
    provider    TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_key        TEXT PRIMARY KEY,
    run_id         TEXT NOT NULL REFERENCES runs(run_id),
    request_hash   TEXT NOT NULL,
    provider       TEXT NOT NULL,
    model          TEXT NOT NULL,
    case_id        TEXT NOT NULL,
    repeat         INTEGER NOT NULL,
    prompt         TEXT NOT NULL,
    seconds        TEXT,
    size           TEXT,
    reference      TEXT,
    expected_camera TEXT,
    attempt        INTEGER NOT NULL DEFAULT 0,
    creates_sent   INTEGER NOT NULL DEFAULT 0,
    video_id       TEXT,
    status         TEXT NOT NULL,
    progress       INTEGER NOT NULL DEFAULT 0,
    error_category TEXT,
    error_code     TEXT,
    error_message  TEXT,
    provider_code  TEXT,
    provider_message TEXT,
    retries        INTEGER NOT NULL DEFAULT 0,
    resumable      INTEGER,
    file_path      TEXT,
    file_size      INTEGER,
    create_sent_at REAL,
    updated_at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_run ON jobs(run_id);
CREATE TABLE IF NOT EXISTS attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_key      TEXT NOT NULL REFERENCES jobs(job_key),
    job_attempt  INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    sent         INTEGER NOT NULL,
    http_status  INTEGER,
    answer       TEXT NOT NULL,
    at           REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_job ON attempts(job_key);
"""

ACTIVE = ("creating", "queued", "in_progress", "completed")   # a job that may still yield a clip
FINAL = ("downloaded", "refused", "failed")


@dataclass(frozen=True)
class JobRow:
    job_key: str
    run_id: str
    request_hash: str
    provider: str
    model: str
    case_id: str
    repeat: int
    prompt: str
    seconds: str | None
    size: str | None
    reference: str | None
    expected_camera: str | None
    attempt: int
    creates_sent: int
    video_id: str | None
    status: str
    progress: int
    error_category: str | None
    error_code: str | None
    error_message: str | None
    provider_code: str | None
    provider_message: str | None
    retries: int
    resumable: int | None
    file_path: str | None
    file_size: int | None
    create_sent_at: float | None
    updated_at: float

    @property
    def idempotency_key(self) -> str:
        return f"{self.job_key}:{self.attempt}"


class JobStore:
    """Thread-safe: one connection, one lock, every change in its own transaction."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a journaled paid job must survive a power cut
            self._db.executescript(SCHEMA)
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(jobs)")}
            if "expected_camera" not in cols:  # journals written before the column existed
                self._db.execute("ALTER TABLE jobs ADD COLUMN expected_camera TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self, sql: str, args: tuple = ()) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(sql, args)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- runs -------------------------------------------------------------------------------

    def new_run(self, run_id: str, suite: str, suite_sha: str, provider: str) -> None:
        self._tx("INSERT INTO runs(run_id, suite, suite_sha, provider, started_at) VALUES (?,?,?,?,?)",
                 (run_id, suite, suite_sha, provider, time.time()))

    def latest_run(self, suite: str) -> str | None:
        rows = self._rows("SELECT run_id FROM runs WHERE suite=? ORDER BY started_at DESC LIMIT 1", (suite,))
        return rows[0]["run_id"] if rows else None

    def run_info(self, run_id: str) -> dict | None:
        rows = self._rows("SELECT * FROM runs WHERE run_id=?", (run_id,))
        return dict(rows[0]) if rows else None

    def finish_run(self, run_id: str) -> None:
        self._tx("UPDATE runs SET finished_at=? WHERE run_id=?", (time.time(), run_id))

    # --- jobs -------------------------------------------------------------------------------

    def ensure(self, *, job_key: str, run_id: str, request_hash: str, provider: str, model: str, case_id: str,
               repeat: int, prompt: str, seconds: str | None, size: str | None, reference: str | None,
               expected_camera: str | None = None) -> JobRow:
        """The row for this job, created as ``pending`` if new."""
        self._tx(
            "INSERT OR IGNORE INTO jobs(job_key, run_id, request_hash, provider, model, case_id, repeat, prompt, "
            "seconds, size, reference, expected_camera, status, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'pending',?)",
            (job_key, run_id, request_hash, provider, model, case_id, repeat, prompt, seconds, size, reference,
             expected_camera, time.time()),
        )
        row = self.get(job_key)
        assert row is not None
        return row

    def get(self, job_key: str) -> JobRow | None:
        rows = self._rows("SELECT * FROM jobs WHERE job_key=?", (job_key,))
        return JobRow(**dict(rows[0])) if rows else None

    def find_video(self, video_id: str) -> JobRow | None:
        rows = self._rows("SELECT * FROM jobs WHERE video_id=? ORDER BY updated_at DESC LIMIT 1", (video_id,))
        return JobRow(**dict(rows[0])) if rows else None

    def clip_path(self, row: JobRow) -> Path:
        """Where a job's clip goes: ``<journal folder>/<run>/<case>/<model>-r<repeat>.mp4``."""
        return self.path.parent / row.run_id / row.case_id / f"{row.model}-r{row.repeat}.mp4"

    def jobs(self, run_id: str | None = None) -> list[JobRow]:
        if run_id is None:
            rows = self._rows("SELECT * FROM jobs ORDER BY run_id, case_id, model, repeat")
        else:
            rows = self._rows("SELECT * FROM jobs WHERE run_id=? ORDER BY case_id, model, repeat", (run_id,))
        return [JobRow(**dict(r)) for r in rows]

    def update(self, job_key: str, **fields: Any) -> None:
        if not fields:
            return
        fields["updated_at"] = time.time()
        cols = ", ".join(f"{k}=?" for k in fields)
        self._tx(f"UPDATE jobs SET {cols} WHERE job_key=?", (*fields.values(), job_key))

    def mark_creating(self, job_key: str, new_attempt: bool) -> JobRow:
        """Journal that a paid create is about to be sent (before sending it)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if new_attempt:
                    self._db.execute("UPDATE jobs SET attempt=attempt+1 WHERE job_key=?", (job_key,))
                self._db.execute(
                    "UPDATE jobs SET status='creating', video_id=NULL, progress=0, error_category=NULL, "
                    "error_code=NULL, error_message=NULL, provider_code=NULL, provider_message=NULL, "
                    "create_sent_at=?, updated_at=? WHERE job_key=?",
                    (time.time(), time.time(), job_key))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        row = self.get(job_key)
        assert row is not None
        return row

    def record_attempt(self, job_key: str, job_attempt: int, attempt) -> None:
        """Journal one create request and its answer (``attempt``: ``audit.sora.client.Attempt``);
        a request that left this machine counts in ``creates_sent``."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO attempts(job_key, job_attempt, n, sent, http_status, answer, at) "
                                 "VALUES (?,?,?,?,?,?,?)", (job_key, job_attempt, attempt.n, int(attempt.sent),
                                                            attempt.http_status, attempt.answer, now))
                if attempt.sent:
                    self._db.execute("UPDATE jobs SET creates_sent=creates_sent+1, updated_at=? WHERE job_key=?",
                                     (now, job_key))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def attempts(self, job_key: str) -> list[dict]:
        """The create requests of a job, oldest first."""
        rows = self._rows("SELECT job_attempt, n, sent, http_status, answer, at FROM attempts WHERE job_key=? "
                          "ORDER BY id", (job_key,))
        return [dict(r) for r in rows]

    def record_error(self, job_key: str, status: str, err) -> None:
        """``err``: an ``audit.sora.errors.GenerationError``."""
        self.update(job_key, status=status, error_category=err.category, error_code=err.code,
                    error_message=err.message, provider_code=err.provider_code,
                    provider_message=err.provider_message, retries=err.retries, resumable=int(err.resumable))

    def counts(self, run_id: str) -> dict[str, int]:
        rows = self._rows("SELECT status, COUNT(*) n FROM jobs WHERE run_id=? GROUP BY status", (run_id,))
        return {r["status"]: r["n"] for r in rows}

    def dump(self) -> Iterator[str]:
        """Every stored text value (for tests that check no secret is stored)."""
        with self._lock:
            for table in ("runs", "jobs", "attempts"):
                for row in self._db.execute(f"SELECT * FROM {table}"):
                    for v in row:
                        if v is not None:
                            yield str(v)
