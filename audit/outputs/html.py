"""The HTML report: ``<report dir>/index.html``, one self-contained file a reviewer opens.

Inline CSS, inline SVG charts, thumbnails as ``data:`` URLs and a few lines of inline JS
(filter and sort by verdict): it opens from disk with no network request at all, and its
Content-Security-Policy forbids any. Every text that comes from outside (file names, prompts,
manifest fields, provider messages) goes through Jinja2 with autoescape on.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import jinja2

from ..findings import CATEGORIES
from ._cells import kv_rows, show
from ._clipview import clip_view, job_label, no_clip

ORDER = 40
VERDICTS = ("pass", "warn", "fail", "error")
GATE = {0: "pass", 1: "fail", 2: "error", 3: "error"}
RUN_FIELDS = {"tool", "version", "schema_version", "run_id", "started_at", "finished_at", "policy", "counts",
              "exit_code", "clips"}


def add_arguments(parser) -> None:
    parser.add_argument("--no-html", action="store_true",
                        help="do not write index.html into the report folder (results.json still is)")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("audit", "templates"),
        autoescape=True,                 # every {{ }} is escaped, whatever the file extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["show"] = show
    return env


def write(run: dict, args, out_dir: Path) -> list[Path]:
    if getattr(args, "no_html", False):
        return []
    html = render(run, policy_view(getattr(args, "policy", None)))
    return [write_text_atomic(Path(out_dir) / "index.html", html)]


def render(run: dict, policy: dict | None = None) -> str:
    """The report of a run dict (JSON contract) as an HTML string."""
    clips = [clip_view(c, i) for i, c in enumerate(run.get("clips") or [])]
    return environment().get_template("report.html.j2").render(
        run=run_view(run, policy), clips=clips,
        policy_errors=error_rows(run, "policy"), runtime_errors=error_rows(run, "runtime"),
    )


def run_view(run: dict, policy: dict | None) -> dict:
    clips = run.get("clips") or []
    by_verdict = Counter(c.get("verdict") or "error" for c in clips)
    by_model: dict[str, Counter] = {}
    for c in clips:
        model = (c.get("source") or {}).get("model") or "unknown"
        by_model.setdefault(model, Counter())[c.get("verdict") or "error"] += 1
    by_cat: dict[str, Counter] = {}
    for c in clips:
        for f in c.get("findings") or []:
            by_cat.setdefault(f.get("category") or "?", Counter())[f.get("severity") or "?"] += 1
    code = run.get("exit_code")
    gate = GATE.get(code, "error") if code is not None else ("fail" if by_verdict["fail"] else "pass")
    return {
        "gate": gate,
        "exit_code": code,
        "warnings": by_verdict["warn"],
        "total": len(clips),
        "by_verdict": [(v, by_verdict[v]) for v in VERDICTS],
        "by_model": sorted((m, [cnt[v] for v in VERDICTS]) for m, cnt in by_model.items()),
        "by_category": [(k, by_cat[k]["fail"], by_cat[k]["warn"], by_cat[k]["info"])
                        for k in [*CATEGORIES, *sorted(set(by_cat) - set(CATEGORIES))] if k in by_cat],
        "meta": [("run id", run.get("run_id")), ("tool", f"{run.get('tool', 'sora-audit')} {run.get('version', '')}"),
                 ("schema", run.get("schema_version")), ("started", run.get("started_at")),
                 ("finished", run.get("finished_at")), ("exit code", code),
                 ("policy", (run.get("policy") or {}).get("source")),
                 ("policy sha256", (run.get("policy") or {}).get("sha256"))],
        "policy": policy,
        # fields other commands add to the run (e.g. `run`'s suite and generation journal)
        "extra": [(k, kv_rows(v.items() if isinstance(v, dict) else [("value", v)]))
                  for k, v in run.items() if k not in RUN_FIELDS],
    }


def policy_view(path: str | None) -> dict | None:
    """The merged policy the run used, for a collapsed block (None when it cannot be read)."""
    from ..policy import load_policy

    try:
        pol = load_policy(path)
    except Exception:  # the run already validated it; a file changed since is not worth failing over
        return None
    return {"source": pol.source, "gate": dict(pol.section("gate")), "user_text": pol.user_text,
            "merged": json.dumps(pol.data, indent=1, sort_keys=True, default=str)}


def _what_happened(message: str, last_error: str, advice: str) -> str:
    """The finding's message without what other columns already say: the provider's last error
    when there is one (the message is "<case> on <model>: <last error>. <advice>."), else the
    message less its advice."""
    if last_error:
        return last_error
    if advice and advice.rstrip(".") in message:
        message = message.replace(advice.rstrip("."), "").rstrip(" .;") + "."
    return message


def error_rows(run: dict, category: str) -> list[dict]:
    """Rows of the "Policy errors" or "Runtime errors" section (agreed evidence keys)."""
    rows = []
    for i, c in enumerate(run.get("clips") or []):
        src = c.get("source") or {}
        for f in c.get("findings") or []:
            if f.get("category") != category:
                continue
            ev = f.get("evidence") or {}
            resumable = ev.get("resumable")
            message, last, advice = f.get("message") or "", str(ev.get("last_error") or ""), str(ev.get("advice") or "")
            case = ev.get("case_id") or src.get("case_id") or ""
            rows.append({
                "clip_id": f"clip-{i + 1}", "path": c.get("path") or "",
                # a job that made no clip is named by its case, model and repeat, not by a file that does not exist
                "job": job_label(c) or (case if no_clip(c) else ""),
                "case": case,
                "model": ev.get("model") or src.get("model") or "",
                "prompt": ev.get("prompt") or src.get("prompt") or "",
                "code": f.get("code") or "", "severity": f.get("severity") or "",
                "message": message, "what_happened": _what_happened(message, last, advice),
                "provider_code": ev.get("provider_code") or "", "provider_message": ev.get("provider_message") or "",
                "retries": show(ev.get("retries")) if "retries" in ev else "—",
                "last_error": last,
                "resumable": "yes" if resumable is True else ("no" if resumable is False else "—"),
                "advice": advice,
            })
    return rows


def write_text_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)   # mkstemp makes 0600; a report is meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

