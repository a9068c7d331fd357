"""The history database: every audited run, its clips, their metrics and findings, in SQLite.

One file (default ``reports/history.sqlite``) that ``check``/``run`` append to and ``history``,
``compare`` and ``trend`` read. Safe with several runs writing at once: WAL journal, a busy
timeout, and each run stored in one ``BEGIN IMMEDIATE`` transaction (all of a run or none).

Schema (``PRAGMA user_version`` = ``SCHEMA_VERSION``)::

    runs     id, started_at, finished_at, stored_at, label, suite, tool_version, policy_digest,
             exit_code, n_clips
    clips    id, run_id -> runs, sha256 (content), path, case_id, model, repeat, verdict,
             source_json (the request, secrets removed)
    metrics  clip_id -> clips, name (``<block>.<key>``, e.g. ``flicker.score``), value
    findings clip_id -> clips, category, code, severity

Older databases are migrated in place, one version step at a time (``MIGRATIONS``), inside a
transaction: a failed migration leaves the file as it was.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import ConfigError

SCHEMA_VERSION = 2
DEFAULT_DB = Path("reports") / "history.sqlite"
DB_ENV = "SORA_AUDIT_DB"   # overrides DEFAULT_DB (e.g. one database for every CI job)
BUSY_TIMEOUT_MS = 30_000

# Version 1: the first released layout (no suite, no repeat, no source request).
_V1 = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    started_at TEXT, finished_at TEXT, stored_at TEXT NOT NULL,
    label TEXT, tool_version TEXT, policy_digest TEXT, exit_code INTEGER, n_clips INTEGER NOT NULL
);
CREATE TABLE clips (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    sha256 TEXT, path TEXT NOT NULL, case_id TEXT, model TEXT, verdict TEXT NOT NULL
);
CREATE TABLE metrics (
    clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    name TEXT NOT NULL, value REAL NOT NULL
);
CREATE TABLE findings (
    clip_id INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
    category TEXT NOT NULL, code TEXT NOT NULL, severity TEXT NOT NULL
);
CREATE INDEX clips_run ON clips(run_id);
CREATE INDEX metrics_clip ON metrics(clip_id);
CREATE INDEX findings_clip ON findings(clip_id);
"""

# Version 2: suites, repeats and the source request; look-ups by content hash and label.
_V2 = """
ALTER TABLE runs ADD COLUMN suite TEXT;
ALTER TABLE clips ADD COLUMN repeat INTEGER;
ALTER TABLE clips ADD COLUMN source_json TEXT;
CREATE INDEX clips_sha ON clips(sha256);
CREATE INDEX runs_label ON runs(label);
CREATE INDEX metrics_name ON metrics(name);
"""

# MIGRATIONS[v] takes a database at version v to v + 1 (version 0 = empty file).
MIGRATIONS: list[str] = [_V1, _V2]
assert len(MIGRATIONS) == SCHEMA_VERSION

# Request fields never stored, and values that look like credentials wherever they appear.
_SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|passwd|authorization|auth|credential|cookie)", re.I)
_SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+\S+)", re.I)
REDACTED = "[redacted]"


def default_db() -> Path:
    """``$SORA_AUDIT_DB`` when set, else ``reports/history.sqlite`` (relative to the cwd)."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


class HistoryError(ConfigError):
    """The history database cannot be used (unreadable, newer schema, run not found)."""


def connect(path: str | Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and create or migrate) the history database at ``path``.

    Raises ``HistoryError`` naming the file when it is missing (``create=False``), not a
    SQLite database, or written by a newer sora-audit."""
    p = Path(path)
    if not create and not p.is_file():
        raise HistoryError(p, "no history database here; run `sora-audit check ... --db` first")
    if create:
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        # isolation_level=None: we issue BEGIN ourselves, so transactions are explicit.
        conn = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _set_up(conn, str(p))
    except sqlite3.DatabaseError as e:
        raise HistoryError(p, f"cannot use the history database ({e}); pass another --db or move this file away") from None
    return conn


def _set_up(conn: sqlite3.Connection, where: str) -> None:
    """WAL mode, foreign keys, schema. Processes opening a new database at the same moment race
    to switch it to WAL, and SQLite answers "database is locked" at once, without waiting on
    the busy timeout (seen: 9 of 40 rounds of 3 processes): such a start is retried until the
    busy timeout has passed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn, where=where)
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(0.2, pause * 2)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, where: str = "") -> int:
    """Bring the schema to ``SCHEMA_VERSION``; returns the version it started from."""
    start = schema_version(conn)
    if start > SCHEMA_VERSION:
        raise HistoryError(where, f"schema version {start} is newer than this sora-audit's ({SCHEMA_VERSION}); upgrade sora-audit")
    if start == SCHEMA_VERSION:
        return start
    conn.execute("BEGIN IMMEDIATE")
    try:
        v = schema_version(conn)  # another process may have migrated while we waited
        while v < SCHEMA_VERSION:
            for stmt in _statements(MIGRATIONS[v]):
                conn.execute(stmt)
            v += 1
            conn.execute(f"PRAGMA user_version = {v}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return start


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; run the statements one by one instead.
    return [s.strip() for s in script.split(";") if s.strip()]


# ---- what is stored ---------------------------------------------------------------------------

def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def clip_metrics(clip: Mapping[str, Any]) -> dict[str, float]:
    """Every top-level numeric scalar of each metrics block as ``<block>.<key>``, plus
    ``watermark.coverage`` and ``watermark.confidence`` when present."""
    out: dict[str, float] = {}
    for block, data in (clip.get("metrics") or {}).items():
        if isinstance(data, Mapping):
            for k, v in data.items():
                if (x := _number(v)) is not None:
                    out[f"{block}.{k}"] = x
    wm = clip.get("watermark")
    if isinstance(wm, Mapping):
        for k in ("coverage", "confidence"):
            if (x := _number(wm.get(k))) is not None:
                out[f"watermark.{k}"] = x
    return out


def scrub(value: Any) -> Any:
    """``value`` with credential-like fields dropped and credential-like strings redacted."""
    if isinstance(value, Mapping):
        return {k: scrub(v) for k, v in value.items() if not _SECRET_KEY.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def _text(v: Any) -> str | None:
    return None if v is None else _SECRET_VALUE.sub(REDACTED, str(v))


def _repeat(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Stored:
    """What ``store_run`` did: the run id and, per clip path, earlier runs holding the same file."""

    run_id: str
    clips: int
    seen_before: dict[str, list[dict[str, Any]]]


def store_run(conn: sqlite3.Connection, run: Mapping[str, Any], *, label: str | None = None,
              suite: str | None = None, stored_at: str | None = None) -> Stored:
    """Store one run (the JSON-contract run dict) in one transaction. Storing a run id that is
    already there replaces it (re-running ``store_run`` is harmless)."""
    from datetime import datetime, timezone

    stored_at = stored_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    clips = list(run.get("clips") or [])
    run_id = str(run["run_id"])
    seen: dict[str, list[dict[str, Any]]] = {}
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        conn.execute(
            "INSERT INTO runs (id, started_at, finished_at, stored_at, label, suite, tool_version, policy_digest,"
            " exit_code, n_clips) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (run_id, run.get("started_at"), run.get("finished_at"), stored_at, _text(label), _text(suite),
             run.get("version"), (run.get("policy") or {}).get("sha256"), run.get("exit_code"), len(clips)),
        )
        for clip in clips:
            sha = clip.get("sha256")
            if sha:
                prior = _seen(conn, sha, run_id)
                if prior:
                    seen[clip["path"]] = prior
            src = clip.get("source") or {}
            cur = conn.execute(
                "INSERT INTO clips (run_id, sha256, path, case_id, model, repeat, verdict, source_json)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (run_id, sha, str(clip.get("path")), _text(src.get("case_id")), _text(src.get("model")),
                 _repeat(src.get("repeat")), clip.get("verdict") or "error",
                 json.dumps(scrub(src), sort_keys=True, ensure_ascii=False) if src else None),
            )
            cid = cur.lastrowid
            conn.executemany("INSERT INTO metrics (clip_id, name, value) VALUES (?,?,?)",
                             [(cid, k, v) for k, v in clip_metrics(clip).items()])
            conn.executemany(
                "INSERT INTO findings (clip_id, category, code, severity) VALUES (?,?,?,?)",
                [(cid, f.get("category"), f.get("code"), f.get("severity")) for f in clip.get("findings") or []],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return Stored(run_id, len(clips), seen)


def _seen(conn: sqlite3.Connection, sha: str, run_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT c.run_id, c.path, c.verdict, r.label, r.stored_at FROM clips c JOIN runs r ON r.id = c.run_id"
        " WHERE c.sha256 = ? AND c.run_id != ? ORDER BY r.stored_at DESC, c.run_id DESC LIMIT 5",
        (sha, run_id),
    ).fetchall()
    return [dict(r) for r in rows]


# ---- reading back -----------------------------------------------------------------------------

def list_runs(conn: sqlite3.Connection, limit: int | None = None) -> list[dict[str, Any]]:
    """Runs, newest first, with clip counts per verdict and error counts per category."""
    sql = """
        SELECT r.*,
          (SELECT COUNT(*) FROM clips c WHERE c.run_id = r.id AND c.verdict = 'pass') AS pass,
          (SELECT COUNT(*) FROM clips c WHERE c.run_id = r.id AND c.verdict = 'warn') AS warn,
          (SELECT COUNT(*) FROM clips c WHERE c.run_id = r.id AND c.verdict = 'fail') AS fail,
          (SELECT COUNT(*) FROM clips c WHERE c.run_id = r.id AND c.verdict = 'error') AS error,
          (SELECT GROUP_CONCAT(DISTINCT c.model) FROM clips c WHERE c.run_id = r.id) AS models
        FROM runs r ORDER BY r.stored_at DESC, r.rowid DESC"""
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [dict(r) for r in conn.execute(sql)]


def resolve_run(conn: sqlite3.Connection, ref: str, where: str = "") -> dict[str, Any]:
    """A run by id, unique id prefix, or label (the newest run with that label)."""
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (ref,)).fetchone()
    if row is None:
        row = conn.execute("SELECT * FROM runs WHERE label = ? ORDER BY stored_at DESC, rowid DESC LIMIT 1",
                           (ref,)).fetchone()
    if row is None:
        rows = conn.execute("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\'",
                            (ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",)).fetchall()
        if len(rows) > 1:
            raise HistoryError(where, f"run '{ref}' is ambiguous: {', '.join(r['id'] for r in rows[:5])}")
        row = rows[0] if rows else None
    if row is None:
        raise HistoryError(where, f"no run with id or label '{ref}' (see `sora-audit history`)")
    return dict(row)


def latest_run(conn: sqlite3.Connection, where: str = "", exclude: Iterable[str] = ()) -> dict[str, Any]:
    ex = list(exclude)
    q = "SELECT * FROM runs" + (f" WHERE id NOT IN ({','.join('?' * len(ex))})" if ex else "")
    row = conn.execute(q + " ORDER BY stored_at DESC, rowid DESC LIMIT 1", ex).fetchone()
    if row is None:
        raise HistoryError(where, "the history database holds no run")
    return dict(row)


def run_clips(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    """Clips of a run in stored order, each with ``metrics`` {name: value} and ``findings``."""
    clips = [dict(r) for r in conn.execute("SELECT * FROM clips WHERE run_id = ? ORDER BY id", (run_id,))]
    by_id = {c["id"]: c for c in clips}
    for c in clips:
        c["metrics"], c["findings"] = {}, []
    for r in conn.execute("SELECT m.clip_id, m.name, m.value FROM metrics m JOIN clips c ON c.id = m.clip_id"
                          " WHERE c.run_id = ?", (run_id,)):
        by_id[r["clip_id"]]["metrics"][r["name"]] = r["value"]
    for r in conn.execute("SELECT f.clip_id, f.category, f.code, f.severity FROM findings f"
                          " JOIN clips c ON c.id = f.clip_id WHERE c.run_id = ?", (run_id,)):
        by_id[r["clip_id"]]["findings"].append({"category": r["category"], "code": r["code"], "severity": r["severity"]})
    return clips


def runs_chronological(conn: sqlite3.Connection, limit: int | None = None) -> list[dict[str, Any]]:
    rows = list_runs(conn, limit)
    return rows[::-1]


def rates(clips: Iterable[Mapping[str, Any]]) -> dict[str, float | int]:
    """Shares of clips, as 0-1, and the clip count. The one definition every command uses:
    ``pass_rate`` counts clips whose verdict is ``pass`` (no warning), ``warn_rate`` those that
    passed the gate with warnings (``warn``), as ``sora-audit history`` counts them apart;
    ``policy_error_rate`` those the provider refused under its policy, ``runtime_error_rate``
    those that could not be audited (runtime failure)."""
    cs = list(clips)
    n = len(cs)
    if not n:
        return {"clips": 0, "pass_rate": None, "warn_rate": None, "policy_error_rate": None, "runtime_error_rate": None}

    def has(c, cat):
        return any(f["category"] == cat and f["severity"] == "fail" for f in c["findings"])

    return {
        "clips": n,
        "pass_rate": sum(c["verdict"] == "pass" for c in cs) / n,
        "warn_rate": sum(c["verdict"] == "warn" for c in cs) / n,
        "policy_error_rate": sum(has(c, "policy") for c in cs) / n,
        "runtime_error_rate": sum(c["verdict"] == "error" or has(c, "runtime") for c in cs) / n,
    }
