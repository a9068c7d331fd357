"""compare / trend / history on small synthetic suites with known ground truth.

Run 1: clean clips; run 2: the same cases flickering (+-5 % brightness); run 3: the clean clips
audited again. Clips are audited in-process (fast) and stored; the commands run as the CLI."""

from __future__ import annotations

import json

import pytest

from audit import comparison, contract, history
from audit.pipeline import AuditTask, audit_clip
from audit.policy import load_policy
from audit.synth import CameraSegment, ClipSpec, render
from conftest import FIXTURES, run_cli

CASES = [("c1", 1, "pan_left"), ("c2", 2, "pan_right"), ("c3", 3, "tilt_up"), ("c4", 4, "static")]


def _suite(folder, flicker_amp: float, model: str = "sora-x"):
    folder.mkdir(parents=True, exist_ok=True)
    for case, seed, cam in CASES:
        segs = () if cam == "static" else (CameraSegment(cam, 0.0, 2.0, 0.2),)
        clip = folder / f"{case}.mp4"
        render(ClipSpec(seconds=1.0, seed=seed, camera=segs, flicker_amp=flicker_amp, audio=False), clip)
        (folder / f"{case}.mp4.json").write_text(json.dumps({"model": model, "case_id": case, "prompt": "p"}))
    return folder


def _audit(folder, run_id: str) -> dict:
    clips = [audit_clip(AuditTask(str(p))) for p in sorted(folder.glob("*.mp4"))]
    pol = load_policy()
    return contract.run_dict(run_id=run_id, clips=clips, started_at="2026-11-25T10:00:00+00:00",
                             finished_at="2026-11-25T10:00:05+00:00", policy_source="defaults",
                             policy_digest=pol.digest, exit_code=0)


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    root = tmp_path_factory.mktemp("suites")
    clean, flick = _suite(root / "clean", 0.0), _suite(root / "flicker", 0.05)
    db = root / "h.sqlite"
    conn = history.connect(db)
    history.store_run(conn, _audit(clean, "run-clean"), label="base", stored_at="2026-11-25T10:00:00")
    history.store_run(conn, _audit(flick, "run-flicker"), label="flickery", stored_at="2026-11-25T11:00:00")
    again = history.store_run(conn, _audit(clean, "run-again"), label="again", stored_at="2026-11-25T12:00:00")
    conn.close()
    return {"root": root, "db": db, "clean": clean, "flicker": flick, "again": again}


def test_planted_flicker_regression_exits_1(suites, tmp_path):
    out = tmp_path / "cmp.json"
    r = run_cli("compare", "base", "flickery", "--db", str(suites["db"]), "--json", str(out),
                "--html", str(tmp_path / "cmp.html"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "REGRESSION" in r.stdout and "flicker.score" in r.stdout
    d = json.loads(out.read_text())
    assert d["regression"] is True and "sora-x flicker.score" in d["regressions"]
    row = next(x for x in d["rows"] if x["metric"] == "flicker.score")
    assert row["n"] == 4 and row["status"] == "regression"
    assert row["delta"] > 2.0 and row["ci"][0] > 0.25         # +-5 % flicker scores ~5 against ~0.1
    # the clean clips pass the gate with a warning (no provenance signal): warn, not pass
    base, cand = d["models"]["sora-x"]["baseline"], d["models"]["sora-x"]["candidate"]
    assert (base["pass_rate"], base["warn_rate"]) == (0.0, 1.0)
    assert (cand["pass_rate"], cand["warn_rate"]) == (0.0, 0.0)
    assert "pass 0% -> 0%, warn 100% -> 0%" in r.stdout
    html = (tmp_path / "cmp.html").read_text()
    assert "Regression" in html and "flicker.score" in html


def test_reverse_direction_is_an_improvement_not_a_regression(suites, tmp_path):
    r = run_cli("compare", "flickery", "base", "--db", str(suites["db"]), "--json", str(tmp_path / "c.json"), "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    d = json.loads((tmp_path / "c.json").read_text())
    assert {x["status"] for x in d["rows"] if x["metric"] == "flicker.score"} == {"improvement"}


def test_identical_clips_show_no_regression_and_are_recognised(suites, tmp_path):
    assert set(suites["again"].seen_before) == {str(p) for p in suites["clean"].glob("*.mp4")}
    r = run_cli("compare", "--baseline", "base", "again", "--db", str(suites["db"]), "--json", str(tmp_path / "c.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    d = json.loads((tmp_path / "c.json").read_text())
    assert d["regression"] is False
    score = next(x for x in d["rows"] if x["metric"] == "flicker.score")
    assert score["delta"] == 0.0 and score["ci"] == [0.0, 0.0] and score["status"] == "within tolerance"


def test_baseline_alone_compares_against_the_newest_run(suites, tmp_path):
    r = run_cli("compare", "--baseline", "flickery", "--db", str(suites["db"]), "--json", str(tmp_path / "c.json"))
    assert r.returncode == 0, r.stdout + r.stderr     # newest run is the clean re-audit: an improvement
    assert json.loads((tmp_path / "c.json").read_text())["candidate"]["label"] == "again"


def test_unknown_run_and_missing_db_are_usage_errors(suites, tmp_path):
    r = run_cli("compare", "base", "nope", "--db", str(suites["db"]))
    assert r.returncode == 2 and "nope" in r.stderr
    r = run_cli("history", "--db", str(tmp_path / "none.sqlite"))
    assert r.returncode == 2 and "none.sqlite" in r.stderr
    assert not (tmp_path / "none.sqlite").exists()


def test_trend_page_is_self_contained_svg(suites, tmp_path):
    page = tmp_path / "trend.html"
    r = run_cli("trend", "--metric", "flicker.score", "--by", "model", "--db", str(suites["db"]), "--html", str(page),
                "--json", str(tmp_path / "t.json"))
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    assert html.count("<svg") == 5 and "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    d = json.loads((tmp_path / "t.json").read_text())
    meds = [run["groups"]["sora-x"]["median"] for run in d["runs"]]
    assert [run["label"] for run in d["runs"]] == ["base", "flickery", "again"]
    assert meds[1] > 10 * meds[0] and meds[2] == meds[0]
    assert [run["groups"]["sora-x"]["warn_rate"] for run in d["runs"]] == [1.0, 0.0, 1.0]
    assert [run["groups"]["sora-x"]["pass_rate"] for run in d["runs"]] == [0.0, 0.0, 0.0]


# ---- the statistics on numbers we choose ---------------------------------------------------------

def _clips(values, model="m", name="flicker.score"):
    return [{"path": f"{i}.mp4", "case_id": f"k{i}", "model": model, "repeat": None, "verdict": "pass",
             "metrics": {name: v}, "findings": []} for i, v in enumerate(values)]


def _cmp(a, b, **kw):
    return comparison.compare({"id": "a"}, _clips(a, **kw), {"id": "b"}, _clips(b, **kw), load_policy())


def test_noise_within_tolerance_is_not_a_regression():
    c = _cmp([0.10, 0.15, 0.05, 0.12, 0.08], [0.14, 0.09, 0.11, 0.16, 0.10])
    assert c.rows[0].status == comparison.WITHIN and not c.regressions


def test_consistent_shift_beyond_tolerance_is_a_regression_and_noisy_one_is_not():
    c = _cmp([0.1] * 6, [0.6, 0.7, 0.5, 0.65, 0.55, 0.6])
    assert c.rows[0].status == comparison.REGRESSION and c.rows[0].ci[0] > 0
    # the median moved up by 0.4 but half the clips got better: the interval includes zero
    c = _cmp([1.0] * 6, [1.5, 1.6, 1.4, 0.2, 0.3, 1.45])
    assert c.rows[0].delta > 0.25 and c.rows[0].ci[0] < 0 and c.rows[0].status == comparison.WITHIN


def test_lower_is_worse_metric_and_too_few_pairs():
    c = _cmp([0.9, 0.95, 1.0, 0.92], [0.5, 0.6, 0.55, 0.5], name="watermark.coverage")
    assert c.rows[0].worse == "lower" and c.rows[0].status == comparison.REGRESSION
    c = _cmp([0.1, 0.1], [3.0, 3.0])
    assert c.rows[0].status == comparison.TOO_FEW and not c.regressions


def test_matching_by_model_case_and_repeat():
    a = _clips([0.1, 0.2]) + [{"path": "x/r.mp4", "case_id": None, "model": "m", "repeat": 1, "verdict": "pass",
                              "metrics": {}, "findings": []}]
    b = _clips([0.1, 0.2], model="other") + _clips([0.3])
    pairs, left = comparison.match(a, b)
    assert len(pairs) == 1 and pairs[0][0]["case_id"] == "k0"
    assert left == {"baseline": ["m/k1", "m/r.mp4#1"], "candidate": ["other/k0", "other/k1"]}


@pytest.mark.slow
def test_check_stores_runs_and_compare_gates_end_to_end_on_the_fixtures(tmp_path):
    db = tmp_path / "h.sqlite"
    rel1, rel2 = FIXTURES / "history" / "release-1", FIXTURES / "history" / "release-2"
    base = ["--db", str(db), "--jobs", "0"]
    r1 = run_cli("check", str(rel1), "--label", "release-1", "--report", str(tmp_path / "r1"), *base)
    assert r1.returncode == 0, r1.stdout + r1.stderr
    r2 = run_cli("check", str(rel2), "--label", "release-2", "--report", str(tmp_path / "r2"), *base)
    assert r2.returncode == 1                                  # flickering clips fail the gate
    r3 = run_cli("check", str(rel1 / "desk_static.mp4"), "--report", str(tmp_path / "r3"), "--json",
                 str(tmp_path / "r3.json"), *base)
    assert "seen before" in r3.stdout and "release-1" in r3.stdout
    res = json.loads((tmp_path / "r3.json").read_text())
    assert res["clips"][0]["history"]["seen_before"][0]["label"] == "release-1"
    assert json.loads((tmp_path / "r3" / "results.json").read_text())["history"]["db"] == str(db)
    runs = json.loads(run_cli("history", "--db", str(db), "--json").stdout)
    assert [x["label"] for x in runs] == [None, "release-2", "release-1"]
    # unsigned clips pass with a provenance warning (no manifest, no watermark: issue 9's default)
    assert runs[1]["n_clips"] == 3 and runs[1]["fail"] >= 2 and runs[2]["pass"] + runs[2]["warn"] == 3
    r = run_cli("compare", "release-1", "release-2", "--db", str(db), "--json", str(tmp_path / "c.json"))
    assert r.returncode == 1 and "REGRESSION" in r.stdout, r.stdout
    rows = {x["metric"]: x for x in json.loads((tmp_path / "c.json").read_text())["rows"]}
    assert rows["flicker.score"]["status"] == "regression" and rows["flicker.score"]["n"] == 3
    r = run_cli("check", str(rel1 / "harbour_pan.mp4"), "--no-history", "--report", str(tmp_path / "r4"), *base)
    assert r.returncode == 0 and len(json.loads(run_cli("history", "--db", str(db), "--json").stdout)) == 3
    # $SORA_AUDIT_DB is the default database of every command
    assert len(json.loads(run_cli("history", "--json", env={"SORA_AUDIT_DB": str(db)}).stdout)) == 3


def test_two_models_in_one_run_are_compared_case_by_case():
    run = _clips([0.1, 0.12, 0.09, 0.11], model="sora-2") + _clips([0.8, 0.9, 0.85, 0.7], model="sora-2-pro")
    a, b = comparison.pair_models(run, run, "sora-2", "sora-2-pro")
    c = comparison.compare({"id": "r"}, a, {"id": "r"}, b, load_policy())
    assert list(c.models) == ["sora-2 -> sora-2-pro"] and c.models["sora-2 -> sora-2-pro"]["pairs"] == 4
    assert c.rows[0].status == comparison.REGRESSION
    a, b = comparison.pair_models(run, run, "sora-2-pro", "sora-2")
    assert comparison.compare({"id": "r"}, a, {"id": "r"}, b, load_policy()).rows[0].status == comparison.IMPROVEMENT


def test_html_pages_escape_untrusted_text(tmp_path):
    from audit.history_html import write_compare_html

    evil = "<script>alert(1)</script>"
    a = _clips([0.1, 0.1, 0.1], model=evil)
    c = comparison.compare({"id": "a", "label": evil}, a, {"id": "b", "label": "x"}, a, load_policy())
    html = write_compare_html(tmp_path / "c.html", c.to_dict()).read_text()
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    db = tmp_path / "h.sqlite"
    conn = history.connect(db)
    clip = {"path": "a.mp4", "verdict": "pass", "source": {"model": evil, "case_id": "k"},
            "metrics": {"flicker": {"score": 0.1}}, "findings": []}
    history.store_run(conn, {"run_id": "r1", "clips": [clip]}, label=evil)
    conn.close()
    r = run_cli("trend", "--metric", "flicker.score", "--db", str(db), "--html", str(tmp_path / "t.html"), "-q")
    assert r.returncode == 0, r.stderr
    t = (tmp_path / "t.html").read_text()
    assert evil not in t and "&lt;script&gt;" in t


def test_trend_by_case_has_one_line_per_case(suites):
    from audit.commands.trend import trend_data

    conn = history.connect(suites["db"], create=False)
    try:
        d = trend_data(conn, "flicker.score", "case", 2)      # the two newest runs
    finally:
        conn.close()
    assert d["groups"] == ["c1", "c2", "c3", "c4"]
    assert [r["label"] for r in d["runs"]] == ["flickery", "again"]
    for case in d["groups"]:
        flick, clean = (r["groups"][case] for r in d["runs"])
        assert flick["n"] == clean["n"] == 1 and flick["median"] > 1.0 > 0.5 > clean["median"]


def test_pass_rate_counts_only_passes_and_warn_rate_the_warnings():
    """One definition for compare, trend and history: a warning is not a pass."""
    clips = [{"verdict": v, "findings": f} for v, f in [
        ("pass", []), ("warn", []), ("warn", []), ("fail", [{"category": "policy", "severity": "fail"}]),
        ("error", [{"category": "runtime", "severity": "fail"}])]]
    r = history.rates(clips)
    assert (r["clips"], r["pass_rate"], r["warn_rate"]) == (5, 0.2, 0.4)
    assert (r["policy_error_rate"], r["runtime_error_rate"]) == (0.2, 0.2)
    assert history.rates([])["warn_rate"] is None
