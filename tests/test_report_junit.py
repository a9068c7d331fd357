"""JUnit XML: one testcase per clip, a failure per failed rule, errors for runtime failures."""

import xml.etree.ElementTree as ET

from audit.outputs.junit import to_xml


def _f(cat, sev, code, msg="m"):
    return {"category": cat, "severity": sev, "code": code, "message": msg, "evidence": {}}


def _run(clips):
    return {"run_id": "r", "version": "0.1.0", "started_at": "2026-11-25T15:00:00+00:00", "exit_code": 1,
            "policy": {"source": "defaults", "sha256": "x"}, "clips": clips}


def _clip(path, verdict, findings, t=1.5):
    return {"path": path, "verdict": verdict, "findings": findings, "timings": {"total_s": t}}


def test_testcases_failures_and_errors():
    run = _run([
        _clip("a/pass.mp4", "pass", [_f("quality", "info", "quality.note")]),
        _clip("a/two.mp4", "fail", [_f("quality", "fail", "quality.flicker", "Flicker <8> & more"),
                                    _f("provenance", "fail", "provenance.invalid"),
                                    _f("watermark", "warn", "watermark.partial")]),
        _clip("b/bad.mp4", "error", [_f("runtime", "fail", "runtime.undecodable", "cannot decode")]),
        _clip("b/warn.mp4", "warn", [_f("quality", "warn", "quality.camera_mismatch")]),
    ])
    root = ET.fromstring(to_xml(run))
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("errors") == "1"
    assert abs(float(suite.get("time")) - 6.0) < 1e-6
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"a/pass.mp4", "a/two.mp4", "b/bad.mp4", "b/warn.mp4"}
    assert cases["a/pass.mp4"].find("failure") is None and cases["a/pass.mp4"].find("error") is None
    fails = cases["a/two.mp4"].findall("failure")
    assert [f.get("type") for f in fails] == ["quality.flicker", "provenance.invalid"]
    assert fails[0].get("message") == "Flicker <8> & more"  # escaped in the file, intact once parsed
    assert "watermark.partial" in cases["a/two.mp4"].find("system-out").text
    errs = cases["b/bad.mp4"].findall("error")
    assert len(errs) == 1 and errs[0].get("type") == "runtime.undecodable"
    assert cases["b/warn.mp4"].find("failure") is None
    assert cases["a/two.mp4"].get("classname") == "sora-audit.a"
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["run_id"] == "r" and props["exit_code"] == "1"


def test_warnings_fail_when_the_gate_counts_them():
    # [gate] warn_as = "fail": the clip fails on warnings only; they become the failures.
    root = ET.fromstring(to_xml(_run([_clip("w.mp4", "fail", [_f("quality", "warn", "quality.drift")])])))
    case = root.find("testsuite/testcase")
    assert [f.get("type") for f in case.findall("failure")] == ["quality.drift"]


def test_a_failed_clip_never_reads_as_passed():
    root = ET.fromstring(to_xml(_run([_clip("x.mp4", "error", []), _clip("y.mp4", "fail", [])])))
    suite = root.find("testsuite")
    assert suite.get("failures") == "1" and suite.get("errors") == "1"


def test_cli_junit_on_fixture_clips(tmp_path):
    from conftest import FIXTURES, run_cli

    out = tmp_path / "ci" / "junit.xml"
    r = run_cli("check", str(FIXTURES / "clips" / "flicker.mp4"), str(FIXTURES / "clips" / "corrupt.mp4"),
                "--junit", str(out), "--report", str(tmp_path / "rep"), "-q", "--jobs", "0", "--no-html")
    assert r.returncode == 1, r.stderr
    suite = ET.parse(out).getroot().find("testsuite")
    cases = {c.get("name").rsplit("/", 1)[-1]: c for c in suite.iter("testcase")}
    assert cases["flicker.mp4"].find("failure").get("type") == "quality.flicker"
    assert cases["corrupt.mp4"].find("error") is not None
