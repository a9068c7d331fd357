"""The HTML report: sections, blocks not checked yet, escaping of untrusted text, size, and the
README's main command writing it."""

import copy
import json
import math
import re

import pytest

from audit.outputs import html
from audit.pipeline import AuditTask, audit_clip
from conftest import FIXTURES, run_cli

XSS = "<script>window.__pwned=1</script>"


def _curve(n, f):
    return {"t": [round(i / 30, 3) for i in range(n)], "v": [round(f(i), 4) for i in range(n)]}


def fake_blocks(clip: dict, n: int = 360) -> dict:
    """Blocks other issues fill (provenance, watermark, drift, camera), in the contract's shape."""
    c = copy.deepcopy(clip)
    c["media"]["duration_s"] = n / 30
    c["verdict"] = "warn"
    c["source"] = {"model": "sora-2", "prompt": "Slow pan left across the harbour", "seconds": 12, "size": "320x180"}
    c["provenance"] = {
        "status": "valid", "issuer": "OpenAI", "claim_generator": "Sora", "title": "harbour.mp4",
        "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        "signed_at": "2026-01-02T03:04:05Z", "manifest_count": 2,
        "codes": ["signingCredential.untrusted", {"code": "assertion.bmffHash.match", "explanation": "hash ok"}],
        "ingredients": [{"title": "harbour.jpg", "relationship": "inputTo", "status": "valid"}],
    }
    c["watermark"] = {"present": True, "confidence": 0.93, "coverage": 0.75,
                      "track": [[round(i / 30, 3), 8 + (i // 30) % 3 * 90, 16, 40, 14] for i in range(n) if not 120 <= i < 210]}
    c["metrics"]["drift"] = {"score": 0.8, "threshold": {"warn": 1.5, "fail": 3.0},
                             "curve": _curve(n, lambda i: 0.002 * i), "inlier_ratio": _curve(n, lambda i: 1 - i / 1000)}
    c["metrics"]["camera"] = {"motion": "pan_left", "segments": [{"motion": "static", "start": 0.0, "end": 0.5},
                                                                 {"motion": "pan_left", "start": 0.5, "end": 12.0}],
                              "expected": [{"motion": "pan_left", "start": 0.0, "end": 12.0}],
                              "thresholds": {"pan": 0.03, "tilt": 0.03, "zoom": 0.03, "roll": 2.0},
                              "curves": {k: _curve(n, lambda i: 0.01 * math.sin(i / 7)) for k in ("pan", "tilt", "zoom", "roll")}}
    c["findings"].append({"category": "watermark", "severity": "warn", "code": "watermark.partial",
                          "message": "mark missing 4.00-7.00 s", "evidence": {"ranges": [[4.0, 7.0]]}})
    return c


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """One real audited clip (with keyframes), reused by the tests that fake other blocks."""
    from audit.synth import ClipSpec, render

    p = tmp_path_factory.mktemp("clip") / "real.mp4"
    render(ClipSpec(seed=11, seconds=1.0, audio=False), p)
    return audit_clip(AuditTask(str(p)))


def run_of(clips, exit_code=1):
    return {"tool": "sora-audit", "version": "0.1.0", "schema_version": "1.0", "run_id": "r1",
            "started_at": "2026-11-25T15:00:00+00:00", "finished_at": "2026-11-25T15:01:00+00:00",
            "policy": {"source": "defaults", "sha256": "ab" * 32},
            "counts": {}, "exit_code": exit_code, "clips": clips}


def policy_refusal(case="c1"):
    return {"path": "", "verdict": "fail", "source": {"model": "sora-2", "prompt": "a famous actor", "case_id": case},
            "media": None, "provenance": None, "watermark": None, "metrics": {"flicker": None, "drift": None, "camera": None},
            "findings": [{"category": "policy", "severity": "fail", "code": "policy.likeness",
                          "message": "refused", "evidence": {
                              "case_id": case, "model": "sora-2", "prompt": "a famous actor",
                              "provider_code": "moderation_blocked", "provider_message": "real person " + XSS,
                              "advice": "Remove the real person from the prompt."}}]}


def runtime_failure():
    return {"path": "gen/c2.mp4", "verdict": "error", "source": {"model": "sora-2-pro", "case_id": "c2"},
            "media": None, "provenance": None, "watermark": None, "metrics": {"flicker": None, "drift": None, "camera": None},
            "findings": [{"category": "runtime", "severity": "fail", "code": "runtime.timeout",
                          "message": "polling timed out", "evidence": {
                              "case_id": "c2", "model": "sora-2-pro", "retries": 5, "last_error": "ReadTimeout " + XSS,
                              "resumable": True, "advice": "Run again with --resume."}}]}


def test_full_blocks_render_every_section(audited):
    clip = fake_blocks(audited)
    page = html.render(run_of([clip, policy_refusal(), runtime_failure()]))
    for section in ('id="summary"', 'id="policy-errors"', 'id="runtime-errors"', 'id="clips"', 'id="clips-table"'):
        assert section in page
    # provenance table with AI disclosure derived from the digital source type, codes and ingredients
    assert "AI disclosure" in page and "signingCredential.untrusted" in page and "harbour.jpg" in page
    assert re.search(r"<th>AI disclosure</th><td>yes</td>", page)
    # drift curve with both thresholds, and the second curve of the block
    drift = page[page.index('data-metric="drift"'):]
    assert "warn 1.5" in drift[:6000] and "fail 3" in drift[:6000] and "inlier_ratio" in drift[:6000]
    # camera timeline: measured and requested rows with segment labels
    assert "measured" in page and "requested" in page and "pan_left 0.50-12.00 s" in page
    # watermark: detected ranges and the gap from the finding's evidence
    assert "missing" in page and re.search(r'class="bad"', page)
    # keyframes as data: URLs with the watermark box drawn
    assert page.count("data:image/jpeg;base64,") == 3 and page.count('class="wmbox"') >= 1
    # policy error row: provider code and advice; runtime row: retries and resumable
    pol = page[page.index('id="policy-errors"'):page.index('id="runtime-errors"')]
    assert "moderation_blocked" in pol and "Remove the real person" in pol and "a famous actor" in pol
    rt = page[page.index('id="runtime-errors"'):page.index('id="clips"')]
    assert "runtime.timeout" in rt and ">5<" in rt and ">yes<" in rt and "--resume" in rt
    assert "policy.likeness" not in rt and "runtime.timeout" not in pol


def test_counts_by_verdict_model_and_category(audited):
    page = html.render(run_of([fake_blocks(audited), policy_refusal(), runtime_failure()]))
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', page))
    assert counts == {"pass": "0", "warn": "1", "fail": "1", "error": "1"}
    model_rows = re.findall(r"<tr><td>([\w-]+)</td>((?:<td class=\"num\">\d+</td>){3,4})</tr>", page)
    models = {m: [int(x) for x in re.findall(r">(\d+)<", cells)] for m, cells in model_rows}
    assert models["sora-2"] == [0, 1, 1, 0] and models["sora-2-pro"] == [0, 0, 0, 1]
    cats = {c: [int(x) for x in re.findall(r">(\d+)<", cells)] for c, cells in model_rows if c in ("policy", "runtime", "watermark")}
    assert cats == {"policy": [1, 0, 0], "runtime": [1, 0, 0], "watermark": [0, 1, 0]}
    assert re.search(r'badge v-fail">fail</span>', page.split('id="summary"')[0])  # the gate


def test_blocks_not_built_yet_render_as_not_checked(audited):
    clip = copy.deepcopy(audited)
    clip.update(provenance=None, watermark=None)
    clip["metrics"].update(drift=None, camera=None)
    page = html.render(run_of([clip], exit_code=0))
    body = page[page.index('id="clips"'):]
    assert body.count("not checked") >= 4  # provenance, watermark, drift, camera
    assert 'badge v-pass">pass' in page


def test_untrusted_text_is_escaped(audited):
    clip = fake_blocks(audited)
    clip["path"] = "clips/<img src=x onerror=alert(1)>.mp4"
    clip["source"] = {"model": XSS, "prompt": XSS}
    clip["provenance"]["title"] = XSS
    clip["provenance"]["issuer"] = '"><script>alert(2)</script>'
    clip["findings"].append({"category": "quality", "severity": "warn", "code": "quality.x",
                             "message": XSS, "evidence": {"note": XSS}})
    page = html.render(run_of([clip, policy_refusal(), runtime_failure()]))
    assert page.count("<script") == 1  # ours, at the end
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") >= 6


def test_twenty_clip_report_stays_under_2_mb(audited):
    clips = []
    for i in range(20):
        c = fake_blocks(audited, n=1800)  # 60 s at 30 fps of curves (7 of them) and track per clip
        c["path"] = f"clips/clip_{i:02d}.mp4"
        clips.append(c)
    page = html.render(run_of(clips))
    size = len(page.encode())
    assert page.count("data:image/jpeg;base64,") == 60
    assert size < 2_000_000, size


def test_curve_nulls_break_the_line():
    from audit.outputs._charts import line_chart

    ch = line_chart({"t": [0, 1, 2, 3, 4], "v": [1, 2, None, 3, math.nan]}, 4.0, {"warn": 5})
    assert len(ch["lines"]) == 2 and len(ch["dots"]) == 1
    assert ch["thresholds"][0]["y"] < min(float(p.split(",")[1]) for p in ch["lines"][0].split())  # above the data
    assert line_chart({"t": [0, 1], "v": [None, None]}, 1.0) is None


def test_readme_command_writes_index_html_and_escapes_a_sidecar_prompt(tmp_path):
    """`check fixtures/ --report DIR` writes DIR/index.html; a clip's sidecar prompt with a script
    tag comes out escaped; --junit writes beside it; --no-html writes no report page."""
    import shutil

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(FIXTURES / "clips" / "static.mp4", src / "static.mp4")
    (src / "static.mp4.json").write_text(json.dumps({"prompt": XSS + " a static shot", "model": "sora-2", "seconds": 2,
                                                      "size": "320x180"}))
    shutil.copy(FIXTURES / "clips" / "corrupt.mp4", src / "corrupt.mp4")
    rep = tmp_path / "rep"
    r = run_cli("check", str(src), "--report", str(rep), "--jobs", "0", "-q", "--junit", str(tmp_path / "j.xml"))
    assert r.returncode == 3, r.stderr
    page = (rep / "index.html").read_text()
    assert page.count("<script") == 1
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt; a static shot" in page
    assert "runtime.undecodable" in page[page.index('id="runtime-errors"'):page.index('id="clips"')]
    assert (tmp_path / "j.xml").is_file()
    r2 = run_cli("check", str(src / "static.mp4"), "--report", str(tmp_path / "rep2"), "--jobs", "0", "-q", "--no-html")
    assert r2.returncode == 0, r2.stderr
    assert (tmp_path / "rep2" / "results.json").is_file() and not (tmp_path / "rep2" / "index.html").exists()


def test_thresholds_only_on_the_curves_they_belong_to(audited):
    """warn/fail go on a block's main curve; a secondary curve (drift inlier ratio) gets none;
    a curve named like a threshold key (camera pan) gets it with both signs."""
    from audit.outputs._clipview import block_charts

    drift = fake_blocks(audited)["metrics"]["drift"]
    charts = {c["key"]: c["chart"] for c in block_charts(drift, 12.0)}
    assert {t["name"] for t in charts["curve"]["thresholds"]} == {"warn", "fail"}
    assert charts["inlier_ratio"]["thresholds"] == []
    cam = {"thresholds": {"pan": 0.03}, "curves": {"pan": {"t": [0, 1], "v": [-0.1, 0.1]}, "tilt": {"t": [0, 1], "v": [0, 0]}}}
    charts = {c["key"]: c["chart"] for c in block_charts(cam, 1.0)}
    assert sorted(t["value"] for t in charts["curves.pan"]["thresholds"]) == ["-0.03", "0.03"]


def test_sampled_watermark_track_draws_boxes_and_a_continuous_timeline(audited):
    """A detector sampling 5 frames a second: thumbnails between samples still get the box, and
    the coverage timeline is one bar per segment, not one sliver per sample."""
    from audit.outputs._clipview import keyframes_view, watermark_view

    wm = {"present": True, "coverage": 1.0, "sample_fps": 5.0,
          "track": [[round(i * 0.2, 3), 10, 10, 40, 20] for i in range(5)] + [[round(1 + i * 0.2, 3), 200, 100, 40, 20] for i in range(5)],
          "segments": [{"t0": 0.0, "t1": 0.8, "box": [10, 10, 40, 20]}, {"t0": 1.0, "t1": 1.8, "box": [200, 100, 40, 20]}]}
    kf = dict(audited["keyframes"], frames=[dict(f, t=t) for f, t in zip(audited["keyframes"]["frames"], (0.0, 0.5, 1.96))])
    boxes = [v["box"] for v in keyframes_view(kf, wm, 24.0)]
    assert boxes[0] == {"x": 5.0, "y": 5.0, "w": 20.0, "h": 10.0} and boxes[2]["x"] == 100.0
    bars = watermark_view(wm, 2.0, 24.0, [])["timeline"]["rows"][0]["bars"]
    assert len(bars) == 2 and bars[1]["title"].endswith("1.00-2.00 s")


def test_conformance_block_technical_ranges_and_other_blocks(audited):
    """The conformance block's checks (a failed one flagged), a technical block's time ranges
    as a timeline, and a top-level block the report does not know (listed as it is)."""
    clip = copy.deepcopy(audited)
    clip["conformance"] = {"ok": False, "checks": [
        {"check": "duration", "requested": 8.0, "measured": 4.0, "ok": False},
        {"check": "size", "requested": "320x180", "measured": "320x180", "ok": True}]}
    clip["metrics"]["technical"] = {"black_ranges": [[0.2, 0.6]], "frozen_ranges": [], "cuts": [0.9], "cut_count": 1}
    clip["generation"] = {"creates_sent": 1, "jobs": [{"video_id": "video_<b>1</b>", "status": "completed"}]}
    page = html.render(run_of([clip]))
    assert re.search(r"<td>duration</td><td>8</td><td class=\"s-fail\">4</td>", page)
    assert re.search(r"<td>size</td><td>320x180</td><td class=\"\">320x180</td>", page)
    tech = page[page.index('data-metric="technical"'):]
    assert "technical over time" in tech and "0.20-0.60 s" in tech and "0.90-0.90 s" in tech
    extra = page[page.index('data-block="generation"'):]
    assert "creates_sent" in extra and "video_&lt;b&gt;1&lt;/b&gt;" in extra and "<b>1" not in page



def test_long_curves_are_decimated_but_keep_their_spikes():
    """A 60 s clip at 60 fps: the chart keeps a bounded number of points and a one-frame spike."""
    from audit.outputs._charts import line_chart

    n = 3600
    v = [0.1] * n
    v[1234] = 9.0
    ch = line_chart({"t": [i / 60 for i in range(n)], "v": v}, 60.0, {"warn": 1.0})
    pts = ch["lines"][0].split()
    assert len(pts) <= 400
    ys = [float(p.split(",")[1]) for p in pts]
    assert min(ys) <= ch["y0"] + 15  # the spike reaches the top of the plot
    xs = [float(p.split(",")[0]) for p in pts]
    assert xs == sorted(xs)


def test_provenance_validation_list_actions_and_ai_flag(audited):
    """The provenance block as c2pa reports it: ai_disclosure, actions, per-part validation
    entries (failures marked), ingredient codes; explanations are untrusted text."""
    clip = copy.deepcopy(audited)
    clip["provenance"] = {
        "status": "invalid", "ai_disclosure": False, "digital_source_type": "trainedAlgorithmicMedia",
        "codes": ["assertion.bmffHash.mismatch"],
        "actions": [{"action": "c2pa.created", "software_agent": "Sora", "when": None}],
        "ingredients": [{"title": "ref.jpg", "relationship": "inputTo", "status": "invalid",
                         "codes": ["signingCredential.expired"]}],
        "validation": {"active": [{"code": "assertion.bmffHash.mismatch", "kind": "failure",
                                   "explanation": "hash mismatch " + XSS, "url": "self#jumbf=/c2pa/x"}],
                       "ingredients": [{"code": "signingCredential.expired", "kind": "failure", "explanation": "old"}]}}
    page = html.render(run_of([clip]))
    assert re.search(r"<th>AI disclosure</th><td>no</td>", page)  # the block's own flag wins
    assert "<td>c2pa.created</td><td>Sora</td>" in page
    assert "<td>signingCredential.expired</td></tr>" in page  # ingredient codes column
    assert re.search(r'<td>active</td><td><code>assertion.bmffHash.mismatch</code></td><td class="s-fail">failure</td>', page)
    assert re.search(r"<td>ingredients</td><td><code>signingCredential.expired</code>", page)
    assert "hash mismatch &lt;script&gt;" in page and page.count("<script") == 1


def test_clip_without_manifest_gets_one_line_not_a_table_of_dashes(audited):
    clip = copy.deepcopy(audited)
    clip["provenance"] = {"status": "absent", "issuer": None, "common_name": None, "claim_generator": None,
                          "claim_generator_info": [], "codes": [], "actions": [], "ingredients": [],
                          "trust": {"configured": False, "sources": []}, "note": "no C2PA manifest"}
    page = html.render(run_of([clip]))
    sect = page[page.index("<h4>Provenance (C2PA)</h4>"):page.index("<h4>Watermark</h4>")]
    assert "no Content Credentials (no C2PA manifest in the file)" in sect
    assert "<table" not in sect and "—" not in sect


def test_status_row_says_why_c2pa_disagrees(audited):
    clip = copy.deepcopy(audited)
    clip["provenance"] = {"status": "valid", "c2pa_state": "Invalid", "issuer": "OpenAI",
                          "codes": ["signingCredential.untrusted", "cawg.x509.credential.untrusted"],
                          "identities": [{"label": "cawg.identity", "method": "x509", "name": "<i>Newsroom</i>",
                                          "organization": "EBU", "status": "untrusted", "roles": [],
                                          "codes": ["cawg.x509.credential.untrusted"]}]}
    page = html.render(run_of([clip]))
    assert ("<th>status</th><td>valid: intact; signer not on your trust lists; identity &lt;i&gt;Newsroom&lt;/i&gt; "
            "/ EBU (X.509 certificate) not trusted (c2pa says Invalid for these, not for the content)</td>") in page
    assert ("<th>identity</th><td>&lt;i&gt;Newsroom&lt;/i&gt; / EBU (X.509 certificate): not trusted "
            "(cawg.x509.credential.untrusted)</td>") in page
    assert "<i>Newsroom</i>" not in page  # the signer's own text is escaped


def test_generated_clips_are_headed_by_case_model_and_repeat_and_refusals_by_their_job():
    from audit.outputs._clipview import clip_view

    src = {"model": "sora-2", "case_id": "pan-left", "repeat": 2, "prompt": "p"}
    made = clip_view({"path": "out/run/pan-left/sora-2-r2.mp4", "verdict": "pass", "source": src,
                      "media": {"duration_s": 1.0}, "sha256": "ab", "generation": {"status": "downloaded"}}, 0)
    assert made["name"] == "pan-left · sora-2 · r2" and made["where"] == "out/run/pan-left/sora-2-r2.mp4"
    refused = clip_view({"path": "out/run/refused/sora-2-r1.mp4", "verdict": "fail", "media": None,
                         "source": {**src, "case_id": "refused", "repeat": 1}, "sha256": None,
                         "generation": {"status": "refused", "job_key": "run:refused:sora-2:r1"}}, 1)
    assert refused["name"] == "refused · sora-2 · r1" and refused["where"] == "no clip (refused)"
    assert refused["audited"] is False
    # a checked file whose name is its case id keeps its file name
    assert clip_view({"path": "clips/flicker.mp4", "source": {"case_id": "flicker"}}, 0)["name"] == "flicker.mp4"


def test_runtime_error_row_does_not_repeat_last_error_and_advice():
    last = "create (sora-2): HTTP 500: The server had an error while processing your request."
    advice = "The provider had a server error; run again later with --resume"
    run = {"clips": [{"path": "x/c/sora-2-r1.mp4", "source": {"case_id": "c", "model": "sora-2", "repeat": 1},
                      "generation": {"status": "failed"}, "media": None, "sha256": None,
                      "findings": [{"category": "runtime", "severity": "fail", "code": "runtime.server_error",
                                    "message": f"c on sora-2: {last} {advice}.",
                                    "evidence": {"last_error": last, "advice": advice, "retries": 3,
                                                 "resumable": True}}]},
                     {"path": "bad.mp4", "findings": [{"category": "runtime", "severity": "fail",
                                                       "code": "runtime.undecodable",
                                                       "message": "bad.mp4 does not decode. Re-download it.",
                                                       "evidence": {"advice": "Re-download it"}}]}]}
    rows = html.error_rows(run, "runtime")
    assert rows[0]["what_happened"] == last and rows[0]["job"] == "c · sora-2 · r1"
    assert rows[1]["what_happened"] == "bad.mp4 does not decode." and rows[1]["job"] == ""
    page = html.render(run)
    rt = page[page.index('id="runtime-errors"'):page.index('id="clips"')]
    assert rt.count(advice) == 1 and rt.count(last) == 1
    assert "<th>last error</th>" not in rt and "<th>message</th>" not in rt


def test_shot_boundaries_are_drawn_on_the_curves():
    """A real two-shot clip: metrics.shots (a list) has its own timeline, and every metric curve
    carries a vertical mark at the cut."""
    clip = audit_clip(AuditTask(str(FIXTURES / "real" / "cut_person_bottles.mp4")))
    (cut,) = [s for s in clip["metrics"]["shots"] if s["boundary"] == "cut"]
    page = html.render({"tool": "sora-audit", "version": "t", "run_id": "r", "clips": [clip]})
    assert 'data-metric="shots"' in page
    marks = re.findall(r'<line class="shot"[^>]*><title>([^<]*)</title>', page)
    assert marks and set(marks) == {f"cut at {cut['start_s']:.2f} s"}
    assert len(marks) >= 2   # flicker's curve and at least one other
