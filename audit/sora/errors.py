"""Why a generation produced no clip, in one tree, decided in one mapping table.

    AuditError                          (audit.errors)
    └── GenerationError                 base of everything the Videos API client raises
        ├── PolicyRefusal               the provider refused the content: category ``policy``,
        │                               not retryable as is (change the prompt or the image)
        └── GenerationRuntimeError      something broke: category ``runtime``
            ├── TransportError          connection refused / reset, DNS, TLS
            ├── RequestTimeout          a request, or the whole job, took longer than allowed
            ├── RateLimited             429 after every retry (or Retry-After too long to wait)
            ├── ServerError             5xx after every retry
            ├── AuthError               401 / 403: key missing, wrong, or organisation not verified
            ├── InvalidRequest          400 that is not a content refusal (bad size, seconds...)
            ├── ModelUnavailable        404 / 410 / ``model_not_found``: the provider no longer
            │                           serves that model (the Sora API shut down 2026-09-24)
            ├── JobFailed               the job failed for an internal (non-policy) reason
            ├── JobExpired              the video's assets expired before they were downloaded
            └── DownloadError           the content was cut off, had the wrong size or does
                                        not decode; nothing partial is left on disk

``classify_http(status, body)`` and ``classify_job_error(code, message)`` are the only places
that decide which branch a provider reply belongs to; ``MAPPING`` below is their table (it is
printed in the README and the closing note). Unknown codes are kept verbatim in the error
(``provider_code``, ``provider_message``) and shown in the finding.

Providers keep inventing codes. A code the table does not know, on a 4xx reply or a failed
job, whose code or message reads as a content decision (``CONTENT_DECISION``: policy,
moderation, safety, blocked, prohibited, real person/people, likeness, copyright, face...) is
a refusal all the same: ``policy.unclassified_refusal``. Anything else unknown stays runtime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import AuditError
from ..findings import FAIL, POLICY, RUNTIME, Finding


class GenerationError(AuditError):
    """Base of the Videos API errors. Messages never contain the API key (the client redacts)."""

    category = RUNTIME
    code = "runtime.generation_failed"
    advice = "See the provider message"
    resumable = True

    def __init__(self, message: str, *, provider_code: str | None = None, provider_message: str | None = None,
                 http_status: int | None = None, retries: int = 0, advice: str | None = None,
                 video_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.provider_code = provider_code
        self.provider_message = provider_message
        self.http_status = http_status
        self.retries = retries
        self.video_id = video_id
        if advice is not None:
            self.advice = advice

    def __str__(self) -> str:
        return self.message  # the client may redact it after construction

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, provider_code={self.provider_code!r})"


class PolicyRefusal(GenerationError):
    category = POLICY
    code = "policy.content_refused"
    advice = "The provider refused this content under its policy; change the prompt or reference image"
    resumable = False


class UnclassifiedRefusal(PolicyRefusal):
    code = "policy.unclassified_refusal"
    advice = ("The provider refused this content with a code sora-audit does not know (its words read as a "
              "content decision, quoted verbatim); change the prompt or reference image as its message says")


class GenerationRuntimeError(GenerationError):
    category = RUNTIME


class TransportError(GenerationRuntimeError):
    code = "runtime.transport"
    advice = "Check the network and the provider's base URL, then run again with --resume"


class RequestTimeout(GenerationRuntimeError):
    code = "runtime.timeout"
    advice = "The provider is slow: raise --timeout / --job-timeout, then run again with --resume"


class RateLimited(GenerationRuntimeError):
    code = "runtime.rate_limited"
    advice = "Rate limit or concurrent-job limit reached: lower --concurrency or wait, then --resume"


class ServerError(GenerationRuntimeError):
    code = "runtime.server_error"
    advice = "The provider had a server error; run again later with --resume"


class AuthError(GenerationRuntimeError):
    code = "runtime.auth"
    advice = "Check the API key variable of this provider (and organisation verification)"
    resumable = False


class InvalidRequest(GenerationRuntimeError):
    code = "runtime.invalid_request"
    advice = ("The provider rejected the request as malformed (see its message): fix the case in the suite "
              "(model, seconds, size, reference image) and run again")
    resumable = False


class ModelUnavailable(GenerationRuntimeError):
    code = "runtime.model_unavailable"
    advice = ("This provider no longer serves the model (or never did); pick another provider "
              "(--provider / --providers FILE) or another model")
    resumable = False


class JobFailed(GenerationRuntimeError):
    code = "runtime.job_failed"
    advice = "The provider's job failed for an internal reason; run again with --resume to retry it"


class JobExpired(GenerationRuntimeError):
    code = "runtime.job_expired"
    advice = "The video's download expired before it was fetched; generate it again"
    resumable = False


class DownloadError(GenerationRuntimeError):
    code = "runtime.download_incomplete"
    advice = "The download was cut off or corrupt and was discarded; run again with --resume to fetch it again"


# --- the mapping table ----------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """Provider ``code`` (exact) or ``pattern`` (regex on code + message) -> error class + our code."""

    cls: type[GenerationError]
    code: str
    codes: tuple[str, ...] = ()
    pattern: str | None = None
    advice: str | None = None


# Policy codes come first: a message that says "moderation" is a refusal whatever its status.
MAPPING: tuple[Rule, ...] = (
    Rule(PolicyRefusal, "policy.moderation_blocked", ("moderation_blocked", "content_policy_violation",
                                                     "content_filter", "sentinel_block"),
         r"moderation|content polic|safety system|inappropriate"),
    Rule(PolicyRefusal, "policy.likeness", ("likeness_blocked", "cameo_permission_denied", "public_figure",
                                            "input_image_contains_real_person"),
         r"likeness|real (person|people)|public figure|cameo",
         "Real people (including public figures) cannot be generated; remove them from the prompt/image"),
    Rule(PolicyRefusal, "policy.third_party_content", ("copyright_blocked", "third_party_content"),
         r"copyright|third[- ]party|trademark",
         "Copyrighted characters, music or brands are refused; describe original content"),
    Rule(PolicyRefusal, "policy.input_image_rejected", ("input_image_rejected", "image_moderation_blocked"),
         r"input image.*(reject|refus|block)|faces? of humans",
         "The reference image was refused (e.g. it shows a human face); use another image"),
    Rule(ModelUnavailable, "runtime.model_unavailable", ("model_not_found", "model_deprecated", "model_retired"),
         r"model .*(not found|does not exist|retired|deprecated|no longer)"),
    Rule(RateLimited, "runtime.rate_limited", ("rate_limit_exceeded", "slow_down", "too_many_requests"),
         r"too many running tasks|rate limit"),
    Rule(AuthError, "runtime.quota", ("insufficient_quota", "billing_hard_limit_reached"), r"exceeded your current quota",
         "The account has no quota left; add credit or use another key"),
    Rule(AuthError, "runtime.auth", ("invalid_api_key", "unauthorized"), r"incorrect api key|must be verified"),
    Rule(JobExpired, "runtime.job_expired", ("expired", "video_expired"), r"expired"),
    Rule(ServerError, "runtime.server_error", ("server_error", "server_is_overloaded", "internal_error"), None),
)


# Words that make an unknown refusal a content decision (matched on the code, with ``_``/``-`` read
# as spaces, and the message; whole words, so "interface" is not "face"). Checked only after
# MAPPING found nothing, only on 4xx replies (not 401/408/429) and failed jobs.
CONTENT_DECISION: tuple[str, ...] = (
    r"polic(y|ies)", r"moderat\w*", r"safety", r"blocked", r"prohibit\w*", r"real (person|people|humans?)",
    r"likeness(es)?", r"copyright\w*", r"faces?", r"guardrails?", r"guidelines?", r"violat\w*", r"inappropriate",
    r"disallowed", r"forbidden content", r"nsfw", r"sexual\w*", r"public figures?",
    r"celebrit(y|ies)", r"trademark\w*", r"harmful", r"offensive", r"flagged", r"censor\w*", r"content filter\w*",
)
_CONTENT_RE = re.compile(r"\b(" + "|".join(CONTENT_DECISION) + r")\b")
_NOT_CONTENT_STATUS = {401, 408, 429}


def reads_as_content_decision(code: str | None, message: str | None) -> bool:
    """True when a provider code or message speaks of a content decision (``CONTENT_DECISION``)."""
    text = f"{(code or '').replace('_', ' ').replace('-', ' ')} {message or ''}".lower()
    return _CONTENT_RE.search(text) is not None


def _match(code: str | None, message: str | None) -> Rule | None:
    c = (code or "").lower()
    for rule in MAPPING:
        if c and c in rule.codes:
            return rule
    text = f"{c} {message or ''}".lower()
    for rule in MAPPING:
        if rule.pattern and re.search(rule.pattern, text):
            return rule
    return None


def _make(rule: Rule | None, fallback: type[GenerationError], fallback_code: str, message: str,
          **kw: Any) -> GenerationError:
    if rule is None:
        err = fallback(message, **kw)
        err.code = fallback_code
        return err
    err = rule.cls(message, **kw)
    err.code = rule.code
    if rule.advice and kw.get("advice") is None:
        err.advice = rule.advice
    return err


def classify_http(status: int, body: Any, retries: int = 0, what: str = "request") -> GenerationError:
    """The error for an HTTP error reply (``body`` = parsed JSON or text). Status decides
    the fallback; a policy code or message wins over the status."""
    code, msg, param = _error_fields(body)
    shown = msg or f"HTTP {status}"
    message = f"{what}: HTTP {status}{' ' + code if code else ''}: {shown}"
    kw = dict(provider_code=code, provider_message=msg, http_status=status, retries=retries)
    rule = _match(code, msg)
    if rule is None and param == "input_reference" and status == 400 and re.search(r"reject|refus|block", (msg or "").lower()):
        rule = next(r for r in MAPPING if r.code == "policy.input_image_rejected")
    if rule is not None and (rule.cls is PolicyRefusal or rule.cls is ModelUnavailable or status < 500):
        return _make(rule, GenerationRuntimeError, "runtime.generation_failed", message, **kw)
    if rule is None and 400 <= status < 500 and status not in _NOT_CONTENT_STATUS \
            and reads_as_content_decision(code, msg):
        return UnclassifiedRefusal(message, **kw)
    if status in (404, 410) and not (param == "model" or what.startswith(("create", "remix"))
                                     or "model" in (msg or "").lower()):
        return _make(None, JobExpired, "runtime.video_gone",
                     f"{what}: HTTP {status}: the video is gone (deleted, expired or unknown id) ({shown})", **kw)
    if status in (404, 410):
        return _make(None, ModelUnavailable, "runtime.model_unavailable",
                     f"{what}: HTTP {status}: the provider no longer serves this model or endpoint ({shown})", **kw)
    if status == 429:
        return _make(None, RateLimited, "runtime.rate_limited", message, **kw)
    if status >= 500:
        return _make(None, ServerError, "runtime.server_error", message, **kw)
    if status in (401, 403):
        return _make(None, AuthError, "runtime.auth", message, **kw)
    if status == 408:
        return _make(None, RequestTimeout, "runtime.timeout", message, **kw)
    return _make(None, InvalidRequest, "runtime.invalid_request", message, **kw)


def classify_job_error(code: str | None, message: str | None, video_id: str | None = None) -> GenerationError:
    """The error for a job that ended ``failed`` with ``error: {code, message}``."""
    text = f"job {video_id or ''} failed: {code or 'no code'}: {message or 'no message'}"
    rule = _match(code, message)
    kw = dict(provider_code=code, provider_message=message, video_id=video_id)
    if rule is not None and rule.cls in (PolicyRefusal, ModelUnavailable, JobExpired):
        return _make(rule, JobFailed, "runtime.job_failed", text, **kw)
    if rule is None and reads_as_content_decision(code, message):
        return UnclassifiedRefusal(text, **kw)
    return _make(None, JobFailed, "runtime.job_failed", text, **kw)


def _error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    if isinstance(body, Mapping):
        err = body.get("error", body)
        if isinstance(err, Mapping):
            code = err.get("code")  # verbatim: null stays null (the type is not a code)
            msg = err.get("message")
            return (str(code) if code else None, str(msg) if msg else None,
                    str(err.get("param")) if err.get("param") else None)
        if isinstance(err, str):
            return None, err, None
    if isinstance(body, str) and body.strip():
        return None, body.strip()[:500], None
    return None, None, None


# --- findings -------------------------------------------------------------------------------

def to_finding(err: GenerationError, *, case_id: str, model: str, prompt: str) -> Finding:
    """The agreed evidence: policy -> {case_id, model, prompt, provider_code, provider_message,
    advice}; runtime -> {case_id, model, retries, last_error, resumable, advice}."""
    if err.category == POLICY:
        ev = {"case_id": case_id, "model": model, "prompt": prompt, "provider_code": err.provider_code,
              "provider_message": err.provider_message, "advice": err.advice}
        said = (err.provider_message or err.message).rstrip(". ")
        msg = f"{case_id} on {model}: refused by the provider's content policy ({err.provider_code or 'no code'}: " \
              f"{said}). {err.advice}."
        return Finding(POLICY, FAIL, err.code, msg, ev)
    ev = {"case_id": case_id, "model": model, "retries": err.retries, "last_error": err.message,
          "resumable": err.resumable, "advice": err.advice}
    if err.provider_code:
        ev["provider_code"] = err.provider_code
    if err.http_status:
        ev["http_status"] = err.http_status
    if err.video_id:
        ev["video_id"] = err.video_id
    return Finding(RUNTIME, FAIL, err.code, f"{case_id} on {model}: {err.message.rstrip('. ')}. {err.advice}.", ev)


def mapping_rows() -> list[tuple[str, str, str]]:
    """(provider codes / pattern, category, our finding code) for docs."""
    rows = []
    for r in MAPPING:
        cat = POLICY if r.cls is PolicyRefusal else RUNTIME
        rows.append((", ".join(r.codes) + (f"; /{r.pattern}/" if r.pattern else ""), cat, r.code))
    rows.append(("any other code or message on a 4xx (not 401/408/429) or a failed job that reads as a content "
                 "decision (CONTENT_DECISION)", POLICY, UnclassifiedRefusal.code))
    return rows
