"""One suite's generation: for every (case, model, repeat), journal -> create -> poll -> download.

``Generator.run_one`` never raises for a provider problem: it returns an ``Outcome`` with either
the downloaded clip or the ``GenerationError`` that explains why there is none. The journal
(``jobs.JobStore``) is written before each paid step, so a crash at any point can be resumed
without paying twice (see ``jobs.py`` for what resume does with each status).
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..findings import POLICY
from ..source import Source
from .client import VideosClient
from .errors import GenerationError, JobFailed, classify_job_error
from .jobs import JobRow, JobStore
from .suite import Case

class Interrupted(JobFailed):
    code = "runtime.interrupted"
    advice = "Run again with --resume"


ProgressFn = Callable[[str, str, int], None]   # (job key, status, percent)


@dataclass
class Outcome:
    case: Case
    model: str
    repeat: int
    job_key: str
    source: Source
    clip: Path | None = None
    error: GenerationError | None = None
    reused: bool = False           # the clip was already downloaded by an earlier (resumed) run

    @property
    def label(self) -> str:
        return f"{self.case.id}/{self.model}/r{self.repeat}"


def request_hash(provider: str, model: str, case: Case) -> str:
    """sha256 of what is paid for: provider, model, prompt, seconds, size and the image bytes."""
    h = hashlib.sha256()
    for part in (provider, model, case.prompt, case.seconds, case.size):
        h.update(part.encode("utf-8") + b"\0")
    if case.reference:
        h.update(Path(case.reference).read_bytes())
    return h.hexdigest()


def decodable(path: Path) -> None:
    """Raise unless ``path`` holds a video stream whose first frame decodes."""
    import av

    with av.open(str(path)) as c:
        if not c.streams.video:
            raise ValueError("no video stream")
        for _ in c.decode(video=0):
            return
    raise ValueError("no frame decodes")


class Generator:
    def __init__(self, client: VideosClient, store: JobStore, run_id: str, out_dir: Path, provider: str,
                 progress: ProgressFn | None = None):
        self.client = client
        self.store = store
        self.run_id = run_id
        self.out_dir = Path(out_dir)
        self.provider = provider
        self.progress = progress or (lambda key, status, pct: None)
        self.cancel = threading.Event()

    def job_key(self, case: Case, model: str, repeat: int) -> str:
        return f"{self.run_id}:{case.id}:{model}:r{repeat}"

    def dest(self, case: Case, model: str, repeat: int) -> Path:
        return self.out_dir / case.id / f"{model}-r{repeat}.mp4"   # = JobStore.clip_path

    def run_all(self, jobs: Iterable[tuple[Case, str, int]], concurrency: int) -> list[Outcome]:
        """Every job, at most ``concurrency`` in flight; outcomes in the order given."""
        jobs = list(jobs)
        out: list[Outcome | None] = [None] * len(jobs)
        pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="gen")
        try:
            futs = {pool.submit(self.run_one, *j): i for i, j in enumerate(jobs)}
            pending = set(futs)
            while pending:
                # A short timeout, not one long wait: Ctrl-C is handled by the main thread only
                # when it runs Python code, and a signal delivered to a polling thread would not
                # wake a main thread blocked on a future until that job ended.
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for f in done:
                    out[futs[f]] = f.result()
        except BaseException:  # Ctrl-C: stop polling at once; the journal already holds every paid job
            self.cancel.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return [o for o in out if o is not None]

    def source(self, case: Case, model: str, repeat: int, video_id: str | None) -> Source:
        return Source(model=model, prompt=case.prompt, video_id=video_id, seconds=float(case.seconds),
                      size=case.size, reference=case.reference, case_id=case.id, repeat=repeat,
                      provider=self.provider, expected_camera=case.expected_camera)

    def run_one(self, case: Case, model: str, repeat: int) -> Outcome:
        key = self.job_key(case, model, repeat)
        row = self.store.ensure(job_key=key, run_id=self.run_id, request_hash=request_hash(self.provider, model, case),
                                provider=self.provider, model=model, case_id=case.id, repeat=repeat,
                                prompt=case.prompt, seconds=case.seconds, size=case.size, reference=case.reference,
                                expected_camera=case.expected_camera)
        out = Outcome(case, model, repeat, key, self.source(case, model, repeat, row.video_id))
        try:
            self._run(row, out)
        except GenerationError as e:
            out.error = e
        except Exception as e:  # a bug of ours costs one job, not the suite; the journal keeps its state
            out.error = JobFailed(f"internal error in sora-audit ({type(e).__name__}: {e}); please report it")
        if out.error is not None:
            self.progress(key, "refused" if out.error.category == POLICY else "error", 100)
        return out

    def _run(self, row: JobRow, out: Outcome) -> None:
        key = row.job_key
        dest = self.dest(out.case, out.model, out.repeat)
        if row.status == "downloaded" and row.file_path and Path(row.file_path).is_file() \
                and Path(row.file_path).stat().st_size == row.file_size:
            out.clip, out.reused = Path(row.file_path), True
            self.progress(key, "downloaded", 100)
            return
        if row.status == "refused":
            raise _stored_error(row)
        # a job that failed (internal error) is paid for again on resume; any other video id is
        # polled and downloaded, never created again
        vid = row.video_id if row.status != "failed" else None
        if vid is None and row.status == "creating":
            vid = self._reconcile(row)
        if vid is None:
            vid = self._create(row, out)
        out.source = self.source(out.case, out.model, out.repeat, vid)
        job = self.client.poll(vid, on_progress=lambda j: self._on_poll(key, j))
        if job.get("status") != "completed":
            err_d = job.get("error") or {}
            err = classify_job_error(err_d.get("code"), err_d.get("message") or f"job ended {job.get('status')}", vid)
            self.store.record_error(key, "refused" if err.category == POLICY else "failed", err)
            raise err
        self.progress(key, "downloading", 100)
        try:
            self.client.download(vid, dest, check=decodable)
        except GenerationError as e:
            e.video_id = e.video_id or vid
            self.store.record_error(key, "completed", e)  # resume downloads again; never re-creates
            raise
        size = dest.stat().st_size
        self.store.update(key, status="downloaded", progress=100, file_path=str(dest), file_size=size,
                          error_category=None, error_code=None, error_message=None)
        dest.with_name(dest.name + ".json").write_text(json.dumps(out.source.to_dict(), indent=1), encoding="utf-8")
        out.clip = dest
        self.progress(key, "downloaded", 100)

    def _create(self, row: JobRow, out: Outcome) -> str:
        # a job that failed (or was never created) may be paid for again; anything else was
        # handled above. The journal row says "creating" before the request leaves.
        row = self.store.mark_creating(row.job_key, new_attempt=row.status == "failed")
        self.progress(row.job_key, "creating", 0)
        try:
            job = self.client.create(prompt=out.case.prompt, model=out.model, seconds=out.case.seconds,
                                     size=out.case.size, input_reference=out.case.reference,
                                     idempotency_key=row.idempotency_key,
                                     on_attempt=lambda a: self.store.record_attempt(row.job_key, row.attempt, a))
        except GenerationError as e:
            if getattr(e, "ambiguous", False):
                status = "creating"            # maybe created: resume reconciles, never blindly re-sends
            else:
                status = "refused" if e.category == POLICY else "failed"
            self.store.record_error(row.job_key, status, e)
            raise
        vid = job.get("id")
        if not isinstance(vid, str) or not vid:
            raise JobFailed("create: the provider's reply has no video id")
        self.store.update(row.job_key, video_id=vid, status=job.get("status") or "queued",
                          progress=int(job.get("progress") or 0))
        return vid

    def _on_poll(self, key: str, job: dict) -> None:
        if self.cancel.is_set():
            raise Interrupted("interrupted while polling; the job is journaled: run again with --resume")
        status, pct = job.get("status") or "?", int(job.get("progress") or 0)
        if status in ("queued", "in_progress", "completed"):
            self.store.update(key, status=status, progress=pct)
        self.progress(key, status, pct)

    def _reconcile(self, row: JobRow) -> str | None:
        """A create whose reply was never journaled: find its job in the provider's list."""
        claimed = {j.video_id for j in self.store.jobs() if j.video_id}
        since = (row.create_sent_at or 0) - 120  # clock skew between us and the provider
        try:
            for v in self.client.iter_all():
                if v.get("prompt") == row.prompt and v.get("model") == row.model and v.get("id") not in claimed \
                        and (v.get("created_at") or 0) >= since and v.get("status") != "failed":
                    self.store.update(row.job_key, video_id=v["id"], status=v.get("status") or "queued")
                    return v["id"]
        except GenerationError:
            return None  # the re-sent create carries the same Idempotency-Key
        return None


def _stored_error(row: JobRow) -> GenerationError:
    from .errors import PolicyRefusal

    e = PolicyRefusal(row.error_message or "refused", provider_code=row.provider_code,
                      provider_message=row.provider_message, retries=row.retries, video_id=row.video_id)
    if row.error_code:
        e.code = row.error_code
    return e



def failure_clip(err: GenerationError, *, case_id: str, model: str, prompt: str, source: Source | None, policy,
                 path: str) -> dict:
    """The contract entry of a job that produced no clip: one policy or runtime finding."""
    from .. import contract
    from .errors import to_finding

    f = to_finding(err, case_id=case_id, model=model, prompt=prompt)
    findings = policy.apply_overrides([f])
    verdict = policy.verdict(findings)
    if f.category == POLICY and verdict == "pass" and findings:
        verdict = "fail"  # a refusal never passes: there is no clip
    return contract.clip_dict(path=path, verdict=verdict, source=source, media=None, blocks={}, metrics={},
                              findings=findings)
