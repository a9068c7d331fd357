"""The contract is the project's own: its JSON Schema rejects what breaks it, every finding code
the package can emit is documented, and nothing in the package or tests points outside the
repository."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

from audit import contract
from audit.findings import CATEGORIES, SEVERITIES
from conftest import FIXTURES, ROOT, run_cli, validate_results, validate_results_under

DOC = ROOT / "docs" / "contract.md"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    """A real run's results: the fixtures that pass, fail and cannot be read."""
    d = tmp_path_factory.mktemp("contract")
    clips = [FIXTURES / "clips" / n for n in ("clean_pan.mp4", "flicker.mp4", "corrupt.mp4")]
    r = run_cli("check", *map(str, clips), "--report", str(d), "-q", "--no-history")
    assert r.returncode == 1, r.stderr
    return json.loads((d / "results.json").read_text())


def test_schema_is_valid_2020_12_and_shipped_as_package_data():
    schema = json.loads(contract.schema_path().read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"schema/*.json"' in pyproject  # installed with the package, not only in the checkout


def test_a_real_run_follows_the_schema_and_its_version(results):
    validate_results(results)
    assert results["schema_version"] == contract.SCHEMA_VERSION
    assert {Path(c["path"]).name: c["verdict"] for c in results["clips"]} == {
        "clean_pan.mp4": "pass", "flicker.mp4": "fail", "corrupt.mp4": "error"}
    assert f"| {contract.SCHEMA_VERSION} |" in DOC.read_text()  # the version's change is documented


def _broken(results, change) -> dict:
    doc = copy.deepcopy(results)
    change(doc)
    return doc


@pytest.mark.parametrize("what, change", [
    ("missing verdict", lambda d: d["clips"][0].pop("verdict")),
    ("unknown verdict", lambda d: d["clips"][0].update(verdict="ok")),
    ("unknown category", lambda d: d["clips"][1]["findings"][0].update(category="aesthetics")),
    ("unknown severity", lambda d: d["clips"][1]["findings"][0].update(severity="error")),
    ("code of no category", lambda d: d["clips"][1]["findings"][0].update(code="flicker")),
    ("finding without code", lambda d: d["clips"][1]["findings"][0].pop("code")),
    ("unknown provenance status", lambda d: d["clips"][0]["provenance"].update(status="ok")),
    ("width as text", lambda d: d["clips"][0]["media"].update(width="320")),
    ("counts missing", lambda d: d.pop("counts")),
    ("exit code 4", lambda d: d.update(exit_code=4)),
    ("unknown camera label", lambda d: d["clips"][0]["metrics"]["camera"].update(motion="pan")),
    ("metrics without flicker", lambda d: d["clips"][0]["metrics"].pop("flicker")),
    ("other tool", lambda d: d.update(tool="other")),
    ("shot with unknown boundary", lambda d: d["clips"][0]["metrics"].update(
        shots=[{"start_s": 0, "end_s": 1, "boundary": "wipe"}])),
    ("active_box of 3 numbers", lambda d: d["clips"][0]["media"].update(active_box=[0, 0, 10])),
])
def test_schema_rejects_broken_documents(results, what, change):
    with pytest.raises(jsonschema.ValidationError):
        validate_results(_broken(results, change))


def test_schema_accepts_the_next_rounds_optional_fields_and_new_fields(results):
    def add(d):
        c = d["clips"][0]
        c["media"]["active_box"] = [0, 12, 320, 156]
        c["metrics"]["shots"] = [{"start_s": 0.0, "end_s": 1.2, "boundary": "start", "flicker": 0.1},
                                 {"start_s": 1.2, "end_s": 2.0, "boundary": "dissolve"}]
        c["metrics"]["flash"] = {"max_flashes_per_s": 0.0, "worst_window": None, "area": 0.0}
        c["watermark"] = c["watermark"] or {"present": None, "confidence": None, "coverage": None, "track": []}
        c["watermark"]["mark"] = "sora"
        c["a_new_block"] = {"grows": True}  # blocks grow: a new field is not a breach
    validate_results(_broken(results, add))


@pytest.mark.parametrize("flash", [{"worst_window": None}, {"max_flashes_per_s": -1},
                                   {"max_flashes_per_s": 4, "worst_window": [0.5]}])
def test_schema_rejects_a_malformed_flash_block(results, flash):
    def add(d):
        d["clips"][0]["metrics"]["flash"] = flash
    with pytest.raises(jsonschema.ValidationError):
        validate_results(_broken(results, add))


def test_the_guard_finds_and_validates_results_under_a_folder(tmp_path, results):
    good, bad = tmp_path / "a" / "results.json", tmp_path / "b" / "out.json"
    good.parent.mkdir()
    bad.parent.mkdir()
    good.write_text(json.dumps(results))
    bad.write_text(json.dumps(_broken(results, lambda d: d["clips"][0].pop("verdict"))))
    (tmp_path / "other.json").write_text('{"items": []}')  # not a results document: left alone
    with pytest.raises(AssertionError, match="does not follow the results schema"):
        validate_results_under(tmp_path)
    bad.unlink()
    assert validate_results_under(tmp_path) in ([], [good])  # [good] if the walk met b/ first
    assert validate_results_under(tmp_path) == []  # each file is validated once until it changes
    good.write_text(json.dumps(results, indent=1))
    assert validate_results_under(tmp_path) == [good]


def _package_finding_codes() -> set[str]:
    """Every finding code the package can emit: the string literals shaped as codes, and the
    conformance checks (``conformance.<check>``)."""
    cats = "|".join(CATEGORIES)
    literal = re.compile(rf"""["']((?:{cats})\.[a-z0-9_]+)["']""")
    codes: set[str] = set()
    for py in (ROOT / "audit").rglob("*.py"):
        codes |= set(literal.findall(py.read_text(encoding="utf-8")))
    conformance = (ROOT / "audit" / "detectors" / "conformance.py").read_text()
    codes |= {f"conformance.{k}" for k in re.findall(r'check\("(\w+)"', conformance)}
    return codes


def test_every_finding_code_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    codes = _package_finding_codes()
    assert {"quality.flicker", "runtime.file_missing", "policy.likeness", "conformance.duration"} <= codes
    # policy keys shaped like codes (section.key of the defaults) are not finding codes
    from audit.policy import load_policy

    defaults = load_policy()
    policy_keys = {c for c in codes if c.split(".")[1] in (defaults.data.get(c.split(".")[0]) or {})}
    missing = sorted(c for c in codes - policy_keys if f"`{c}`" not in doc)
    assert not missing, f"finding codes not documented in docs/contract.md: {missing}"


def test_categories_severities_verdicts_and_exit_codes_are_documented():
    doc = DOC.read_text(encoding="utf-8")
    for word in (*CATEGORIES, *SEVERITIES, "pass", "error"):
        assert f"`{word}`" in doc
    for code in range(4):
        assert f"| {code} |" in doc


OUTSIDE = re.compile(r"\.\./shared|/work/")


def test_nothing_in_the_package_or_tests_points_outside_the_repository():
    """A fresh clone must pass on its own: no path to the team's shelf or to a machine."""
    hits = []
    for folder in ("audit", "tests", "fixtures", "docs", ".ci"):
        for p in (ROOT / folder).rglob("*"):
            if not p.is_file() or p.suffix in (".mp4", ".m4s", ".jpg", ".png", ".pyc", ".key", ".pem", ".sqlite"):
                continue
            text = p.read_text(encoding="utf-8", errors="replace")
            hits += [f"{p.relative_to(ROOT)}: {m.group(0)}" for m in OUTSIDE.finditer(text)
                     if p != Path(__file__).resolve()]
    assert not hits, hits
    readme = (ROOT / "README.md").read_text()
    assert "DESIGN.md" not in readme and "../shared" not in readme and "docs/contract.md" in readme
