"""What the HTML report shows of one clip, built from its JSON-contract dict.

Every block may be null (not checked, or not built yet) or carry keys this module does not
know: known keys get their place, the rest are listed as they are. Nothing here escapes text:
the template does (Jinja2 autoescape).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from ..provenance.status import explain, identity_line
from ..watermark.credentials import signals
from . import _charts
from ._cells import cell, is_empty, kv_rows, show  # noqa: F401  (show: the template filter, re-exported)

MEDIA_MAIN = ("duration_s", "fps", "width", "height", "frames", "codec", "has_audio", "variable_frame_rate", "rotation")
# Top-level clip fields with their own place in the report; any other block is listed as it is.
KNOWN_FIELDS = {"path", "verdict", "source", "media", "provenance", "watermark", "metrics", "findings", "sha256",
                "timings", "keyframes", "conformance"}
# what a generation job's journal status means for an entry without a clip
NO_CLIP = {"refused": "refused", "failed": "job failed", "completed": "download failed", "downloaded": "not audited"}
SEV_RANK = {"fail": 0, "warn": 1, "info": 2}
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia")
PROVENANCE_KEYS = ("status", "issuer", "common_name", "claim_generator", "digital_source_type", "signed_at",
                   "timestamp_authority", "algorithm", "title", "c2pa_state", "manifest_count")


def scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def job_label(c: dict) -> str | None:
    """"case · model · r1" for a clip of a generation suite (or a sidecar naming its case), when
    the file name does not already say it; None otherwise."""
    src = c.get("source") or {}
    case = src.get("case_id")
    if not case or PurePath(c.get("path") or "").stem == str(case):
        return None
    parts = [str(case)] + [str(x) for x in (src.get("model"),) if x]
    if src.get("repeat") is not None:
        parts.append(f"r{src['repeat']}")
    return " · ".join(parts)


def no_clip(c: dict) -> str | None:
    """Why a generation job has no clip (refused, failed, never downloaded), else None. Such an
    entry's ``path`` is where the clip would have been written: the report names the job."""
    gen = c.get("generation")
    if not isinstance(gen, dict) or c.get("media") or c.get("sha256"):
        return None
    status = str(gen.get("status") or "")
    return NO_CLIP.get(status, f"job {status}, not finished" if status else "no clip")


def clip_view(c: dict, index: int) -> dict:
    src = c.get("source") or {}
    media = c.get("media") or {}
    duration = media.get("duration_s") or src.get("seconds") or 0.0
    fps = media.get("fps") or 0.0
    findings = sorted(c.get("findings") or [], key=lambda f: SEV_RANK.get(f.get("severity"), 3))
    path = c.get("path") or src.get("case_id") or f"clip {index + 1}"
    wm = c.get("watermark")
    missing = no_clip(c)
    label = job_label(c)
    gen = c.get("generation") or {}
    codes = [str(f.get("code") or "") for f in findings if f.get("severity") in ("fail", "warn")]
    return {
        "id": f"clip-{index + 1}",
        "path": path,
        "name": label or PurePath(path).name or path,
        # what the clip table and the heading's second line say: the file, or the job that made none
        "where": f"no clip ({missing})" if missing else path,
        # nothing was measured (no clip, or a file that could not be read): one line, not six empty blocks
        "audited": bool(media or c.get("provenance") or wm or any((c.get("metrics") or {}).values())),
        "no_clip": missing,
        "table_label": label or (f"job {gen.get('job_key')}" if missing else path),
        "table_sub": (f"no clip ({missing})" if missing else path) if label else None,
        "verdict": c.get("verdict") or "error",
        "model": src.get("model") or "unknown",
        "prompt": src.get("prompt"),
        "source_rows": kv_rows((k, v) for k, v in src.items() if v not in (None, "", {}) and k != "prompt"),
        "media_rows": kv_rows((k, v) for k, v in media.items() if k in MEDIA_MAIN) if media else None,
        "media_more": kv_rows((k, v) for k, v in media.items() if k not in MEDIA_MAIN) if media else None,
        "duration": duration,
        "provenance": provenance_view(c.get("provenance")),
        "signals": signals_view(c.get("provenance"), wm, findings),
        "watermark": watermark_view(wm, duration, fps, findings),
        "keyframes": keyframes_view(c.get("keyframes"), wm, fps),
        "metrics": metrics_view(c.get("metrics") or {}, duration, codes),
        "camera": camera_view((c.get("metrics") or {}).get("camera"), src, duration, codes),
        "conformance": conformance_view(src, media, findings, c.get("conformance")),
        "extra": extra_blocks(c),
        "findings": [{**f, "evidence_cell": cell(f.get("evidence")) if f.get("evidence") else None} for f in findings],
        "worst": codes[:4],
        "flicker": _get_num((c.get("metrics") or {}).get("flicker"), "score"),
        "coverage": _get_num(wm, "coverage"),
        "prov_status": (c.get("provenance") or {}).get("status"),
        "sha256": c.get("sha256"),
        "timings": c.get("timings") or {},
    }


def _get_num(block: Any, key: str) -> float | None:
    if isinstance(block, dict):
        return _charts._num(block.get(key))
    return None


# The cross-check's findings (audit.watermark.credentials), shown beside the two signals.
CROSS_CODES = ("watermark.expected_missing", "provenance.stripped_suspected")


def signals_view(prov: Any, wm: Any, findings: list[dict]) -> dict | None:
    """The two provenance signals side by side: what the Content Credentials say made the clip,
    and which visible mark was found; the cross-check's finding when they disagree."""
    prov = prov if isinstance(prov, dict) else None
    wm = wm if isinstance(wm, dict) else None
    if prov is None and wm is None:
        return None
    sig = signals(prov, wm, "sora" in (wm or {}).get("known", []))
    notes = [f.get("message") for f in findings if f.get("code") in CROSS_CODES]
    return {"manifest": sig["manifest"] or "not checked", "mark": sig["mark"] or "not checked",
            "note": notes[0] if notes else None}


def provenance_view(p: Any) -> dict | None:
    if not isinstance(p, dict):
        return None
    if p.get("status") == "absent":   # nothing to tabulate: one line, not a table of dashes
        return {"status": "absent", "collapsed": "no Content Credentials (no C2PA manifest in the file)"}
    ai = p.get("ai_disclosure")
    if not isinstance(ai, bool):
        dst = p.get("digital_source_type")
        ai = None if dst is None else any(str(dst).endswith(s) for s in AI_SOURCE_TYPES)
    listed = {"status", "codes", "ingredients", "validation", "actions", "ai_disclosure", "identities", "code_classes"}
    rows = [("status", explain(p))] + [("identity", identity_line(i)) for i in p.get("identities") or []
                                       if isinstance(i, dict)]
    rows += [("AI disclosure", "yes" if ai else ("no" if ai is False else "—"))]
    rows += kv_rows([(k, p.get(k)) for k in PROVENANCE_KEYS if k in p and k not in listed]
                    + [(k, v) for k, v in p.items() if k not in PROVENANCE_KEYS and k not in listed])
    codes = []
    validation = p.get("validation")
    if isinstance(validation, dict):  # c2pa's own status list, verbatim, per manifest part
        for part, items in validation.items():
            for code in items if isinstance(items, list) else []:
                if isinstance(code, dict):
                    codes.append({"part": part, "code": code.get("code", ""), "kind": code.get("kind", ""),
                                  "explanation": code.get("explanation", ""), "where": code.get("url", "")})
    if not codes:
        for code in p.get("codes") or []:
            if isinstance(code, dict):
                codes.append({"part": "", "code": code.get("code", ""), "kind": code.get("kind", ""),
                              "explanation": code.get("explanation", ""), "where": code.get("url", code.get("where", ""))})
            else:
                codes.append({"part": "", "code": str(code), "kind": "", "explanation": "", "where": ""})
    ingredients = []
    for ing in p.get("ingredients") or []:
        if isinstance(ing, dict):
            ingredients.append({"title": show(ing.get("title")), "relationship": show(ing.get("relationship")),
                                "status": show(ing.get("status")),
                                "codes": ", ".join(map(str, ing.get("codes") or []))})
    actions = [{"action": show(a.get("action")), "agent": show(a.get("software_agent") or a.get("softwareAgent")),
                "when": show(a.get("when"))} for a in p.get("actions") or [] if isinstance(a, dict)]
    return {"status": p.get("status") or "unknown", "collapsed": None, "rows": rows, "codes": codes,
            "ingredients": ingredients,
            "actions": actions, "summary_codes": [str(c) for c in p.get("codes") or [] if not isinstance(c, dict)]}


def _ranges(v: Any) -> list[list[float]]:
    """[[a, b], ...] pairs of numbers from ``v`` (evidence or a block field), else []."""
    if not isinstance(v, list):
        return []
    out = []
    for r in v:
        if isinstance(r, (list, tuple)) and len(r) >= 2 and _charts._num(r[0]) is not None and _charts._num(r[1]) is not None:
            out.append([float(r[0]), float(r[1])])
    return out


def _sample_step(wm: dict, fps: float) -> float:
    """Seconds between two watermark samples: the detector may look at a few frames a second
    (``sample_fps``) rather than every frame."""
    sfps = _charts._num(wm.get("sample_fps")) if isinstance(wm, dict) else None
    if sfps and sfps > 0:
        return 1.0 / sfps
    return 1.0 / fps if fps else 0.04


def watermark_view(wm: Any, duration: float, fps: float, findings: list[dict]) -> dict | None:
    if not isinstance(wm, dict):
        return None
    step = _sample_step(wm, fps)
    track = [r for r in wm.get("track") or [] if isinstance(r, (list, tuple)) and len(r) >= 5]
    segs = [[s.get("t0"), s.get("t1")] for s in wm.get("segments") or [] if isinstance(s, dict)]
    visible = (_ranges(wm.get("visible")) or [[a, min(b + step, duration or b + step)] for a, b in _ranges(segs)]
               or _charts.merge_times([float(r[0]) for r in track], step))
    gaps = _ranges(wm.get("gaps"))
    for f in findings:
        if f.get("category") == "watermark":
            for k, v in (f.get("evidence") or {}).items():
                if k in ("ranges", "gaps", "missing", "absent_ranges"):
                    gaps += _ranges(v)
    rows = [("detected", [{"start": a, "end": b, "cls": "ok"} for a, b in visible])]
    if gaps:
        rows.append(("missing", [{"start": a, "end": b, "cls": "bad"} for a, b in gaps]))
    scal = kv_rows((k, v) for k, v in wm.items() if scalar(v) or is_empty(v))
    summary = None
    if not wm.get("present") and not track and not visible and not gaps:
        how = ", ".join(f"{k} {show(wm[k])}" for k in ("method", "frames_analysed", "sample_fps", "undecidable_s")
                        if not is_empty(wm.get(k)))
        summary = "no watermark found" + (f" ({how})" if how else "")
    return {"rows": scal, "summary": summary, "timeline": _charts.timeline(rows, duration), "track_len": len(track)}


def keyframes_view(kf: Any, wm: Any, fps: float) -> list[dict] | None:
    """Thumbnails with the watermark box (track entry nearest in time) scaled from display px."""
    if not isinstance(kf, dict) or not kf.get("frames"):
        return None
    tw, th = kf.get("width") or 160, kf.get("height") or 90
    sx = tw / (kf.get("display_width") or tw)
    sy = th / (kf.get("display_height") or th)
    track = []
    if isinstance(wm, dict):
        track = [r for r in wm.get("track") or [] if isinstance(r, (list, tuple)) and len(r) >= 5
                 and all(_charts._num(x) is not None for x in r[:5])]
    # a thumbnail's time falls between two watermark samples at worst
    tol = max(1.5 * _sample_step(wm, fps), 2.0 / fps if fps else 0.1)
    out = []
    for fr in kf["frames"]:
        t = float(fr.get("t") or 0.0)
        box = None
        if track:
            near = min(track, key=lambda r: abs(float(r[0]) - t))
            if abs(float(near[0]) - t) <= tol:
                box = {"x": round(near[1] * sx, 1), "y": round(near[2] * sy, 1),
                       "w": round(near[3] * sx, 1), "h": round(near[4] * sy, 1)}
        out.append({"t": t, "label": fr.get("label") or "", "src": "data:image/jpeg;base64," + str(fr.get("jpeg_b64", "")),
                    "w": tw, "h": th, "box": box})
    return out


def _thresholds(block: dict) -> dict:
    th = block.get("threshold") or block.get("thresholds")
    return {k: v for k, v in th.items() if _charts._num(v) is not None} if isinstance(th, dict) else {}


def _curve_thresholds(th: dict, key: str, curve: dict) -> dict:
    """Thresholds drawn on one curve: warn/fail for the block's main curve, the threshold
    named like the curve otherwise (both signs when the curve is signed, e.g. camera pan)."""
    if key in th:
        vals = [v for v in curve.get("v", []) if _charts._num(v) is not None]
        out = {key: th[key]}
        if vals and min(vals) < 0:
            out["-" + key] = -th[key]
        return out
    if key == "curve":  # the block's main curve: the one its score and warn/fail thresholds are on
        return {k: v for k, v in th.items() if k in ("warn", "fail")}
    return {}


def block_charts(block: dict, duration: float, marks=()) -> list[dict]:
    """Every curve of a block (top level, or one level down as in ``curves.pan``), with the
    shot boundaries ``marks`` drawn across it."""
    th = _thresholds(block)
    charts = []
    for key, v in block.items():
        if _charts.is_curve(v):
            charts.append({"key": key, "chart": _charts.line_chart(v, duration, _curve_thresholds(th, key, v), marks)})
        elif isinstance(v, dict):
            for k2, v2 in v.items():
                if _charts.is_curve(v2):
                    charts.append({"key": f"{key}.{k2}", "chart": _charts.line_chart(
                        v2, duration, _curve_thresholds(th, k2, v2) if k2 in th else {}, marks)})
    return charts


def shot_marks(shots: Any) -> list[tuple[float, str]]:
    """(start in s, boundary) of every shot after the first, from ``metrics.shots``."""
    if not isinstance(shots, list):
        return []
    return [(s["start_s"], str(s.get("boundary") or "shot")) for s in shots[1:]
            if isinstance(s, dict) and _charts._num(s.get("start_s")) is not None]


def shots_view(shots: list, duration: float) -> dict:
    """``metrics.shots`` (a list): one bar a shot on a timeline, the boundaries as rows."""
    bars = [{"start": s.get("start_s"), "end": s.get("end_s"), "label": f"{i + 1} ({s.get('boundary')})",
             "cls": "cam"} for i, s in enumerate(shots) if isinstance(s, dict)]
    rows = [("shots", len(bars))] + [(f"shot {i + 1}", ", ".join(
        f"{k} {show(v)}" for k, v in s.items() if scalar(v))) for i, s in enumerate(shots[:20]) if isinstance(s, dict)]
    # one shot and no boundary: one line, not a table and a one-bar timeline
    inline = "one shot, no cut, fade or dissolve" if len(bars) == 1 else None
    return {"name": "shots", "checked": True, "inline": inline, "scale": None, "rows": rows, "charts": [],
            "more_charts": [], "open": False,
            "timeline": _charts.timeline([("shots", bars)], duration) if len(bars) > 1 else None}


def range_timeline(block: dict, duration: float) -> dict | None:
    """A timeline of a block's time ranges (``black_ranges``, ``frozen_ranges``...) and instants
    (``cuts``), when it has any."""
    rows = []
    for key, v in block.items():
        rng = _ranges(v)
        if rng:
            rows.append((key.removesuffix("_ranges"), [{"start": a, "end": b, "cls": "bad"} for a, b in rng]))
        elif isinstance(v, list) and v and all(_charts._num(x) is not None for x in v):
            rows.append((key, [{"start": float(x), "end": float(x), "cls": "bad", "label": ""} for x in v]))
    return _charts.timeline(rows, duration) if rows else None


def extra_blocks(c: dict) -> list[dict]:
    """Top-level blocks the report has no place for (history, generation...), each as one
    key/value table; nested values as small tables (``_cells.cell``)."""
    return [{"name": name, "rows": kv_rows(block.items())} for name, block in c.items()
            if name not in KNOWN_FIELDS and isinstance(block, dict)]


def _flagged(codes: list[str], name: str) -> bool:
    """A warn/fail finding about this block: its secondary charts open by default."""
    return any(c.startswith((f"quality.{name}", f"{name}.")) for c in codes)


def metrics_view(metrics: dict, duration: float, codes: list[str] = ()) -> list[dict]:
    """One entry per metric block: its scalars, the main curve (with its thresholds) and the
    other curves behind a disclosure, open when the block has a warn/fail finding."""
    out = []
    marks = shot_marks(metrics.get("shots"))
    for name, block in metrics.items():
        if name == "camera":
            continue
        if name == "shots" and isinstance(block, list):
            out.append(shots_view(block, duration))
            continue
        if not isinstance(block, dict):
            out.append({"name": name, "checked": False})
            continue
        if name == "flash" and not block.get("transitions") and not block.get("red_transitions"):
            # the common case: nothing brightened and darkened again over the area limit
            out.append({"name": name, "checked": True, "inline": "no flashes (WCAG 2.3.1 counts none)"})
            continue
        th = _thresholds(block)
        rows = kv_rows((k, v) for k, v in block.items() if (scalar(v) or is_empty(v)) and k != "scale")
        if th:
            rows.append(("thresholds", ", ".join(f"{k} {show(v)}" for k, v in th.items())))
        charts = block_charts(block, duration, marks)
        timeline = range_timeline(block, duration)
        # a few short values and nothing to draw (e.g. technical with no black, frozen or cut frame): one line
        short = len(rows) <= 6 and all(isinstance(v, str) and len(v) <= 40 for _, v in rows)
        inline = " · ".join(f"{k} {v}" for k, v in rows) if short and not charts and not timeline else None
        scale = block.get("scale")
        out.append({"name": name, "checked": True, "inline": inline,
                    "scale": scale if isinstance(scale, str) else None, "rows": rows, "charts": [ch for ch in charts if ch["key"] == "curve"],
                    "more_charts": [ch for ch in charts if ch["key"] != "curve"], "open": _flagged(codes, name),
                    "timeline": timeline})
    return out


def _segments(v: Any) -> list[dict]:
    """Camera segments in any of the shapes a block may use: dicts with label/motion and
    start/end (or t0/t1, start_s/end_s), or [label, start, end] lists."""
    out = []
    for s in v or []:
        if isinstance(s, dict):
            label = s.get("motion") or s.get("label") or s.get("move") or "?"
            a = next((s[k] for k in ("start", "t0", "start_s", "from") if k in s), None)
            b = next((s[k] for k in ("end", "t1", "end_s", "to") if k in s), None)
        elif isinstance(s, (list, tuple)) and len(s) >= 3:
            label, a, b = s[0], s[1], s[2]
        else:
            continue
        if _charts._num(a) is not None and _charts._num(b) is not None:
            out.append({"start": float(a), "end": float(b), "label": str(label), "cls": "cam"})
    return out


def camera_view(cam: Any, src: dict, duration: float, codes: list[str] = ()) -> dict | None:
    req = None
    if isinstance(cam, dict):
        req = next((cam[k] for k in ("expected", "requested", "expected_segments") if cam.get(k)), None)
    requested = _segments(req) if isinstance(req, list) else []
    req_label = req if isinstance(req, str) else src.get("expected_camera")
    if not requested and req_label:
        requested = [{"start": 0.0, "end": duration or 1.0, "label": str(req_label), "cls": "cam"}]
    if not isinstance(cam, dict):
        return {"checked": False, "requested": req_label}
    measured = _segments(cam.get("segments"))
    if not measured and cam.get("motion"):
        measured = [{"start": 0.0, "end": duration or 1.0, "label": str(cam["motion"]), "cls": "cam"}]
    rows = [("measured", measured)] + ([("requested", requested)] if requested else [])
    words = [r.get("words") for r in cam.get("requested") or [] if isinstance(r, dict) and r.get("words")]
    th = _thresholds(cam)
    return {"checked": True, "motion": cam.get("motion"), "requested": req_label,
            "rows": [(k, show(v)) for k, v in cam.items() if scalar(v)]
            + ([("asked in the prompt", "; ".join(map(str, words)))] if words else [])
            + ([("thresholds", ", ".join(f"{k} {show(v)}" for k, v in th.items()))] if th else []),
            "timeline": _charts.timeline(rows, duration), "charts": block_charts(cam, duration),
            "open": _flagged(codes, "camera")}


def conformance_view(src: dict, media: dict, findings: list[dict], block: Any = None) -> list[dict] | None:
    """Requested vs measured: the conformance block's checks when there is one, else the request
    against the probe, flagged by conformance findings."""
    if isinstance(block, dict) and isinstance(block.get("checks"), list):
        return [{"what": str(ch.get("check", "?")), "requested": show(ch.get("requested")),
                 "measured": show(ch.get("measured")), "flag": ch.get("ok") is False}
                for ch in block["checks"] if isinstance(ch, dict)] or None
    if not src or not media:
        return None
    flagged = " ".join(f.get("code", "") for f in findings if f.get("category") == "conformance")
    rows = []
    size = f"{media.get('width')}x{media.get('height')}" if media.get("width") else None
    for label, want, got, key in (("duration (s)", src.get("seconds"), media.get("duration_s"), "duration"),
                                  ("size (px)", src.get("size"), size, "size"),
                                  ("fps", src.get("fps"), media.get("fps"), "fps"),
                                  ("audio", src.get("audio"), media.get("has_audio"), "audio")):
        if want is None:
            continue
        rows.append({"what": label, "requested": show(want), "measured": show(got),
                     "flag": key in flagged or (key == "duration" and "seconds" in flagged)})
    return rows
