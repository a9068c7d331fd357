from pathlib import Path

import pytest

from audit.errors import ConfigError
from audit.findings import FAIL, INFO, QUALITY, RUNTIME, WARN, Finding
from audit.policy import exit_code, load_policy


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_load_and_are_documented():
    pol = load_policy()
    assert pol.source == "defaults"
    assert pol.get("analysis", "max_side") == 640
    assert pol.get("gate", "warn_as") == "warn"
    assert len(pol.digest) == 64


def test_user_file_overrides_only_what_it_names(tmp_path):
    pol = load_policy(_write(tmp_path, "[analysis]\nmax_side = 320\n"))
    assert pol.get("analysis", "max_side") == 320
    assert pol.get("media", "min_frames") == 2
    assert pol.digest != load_policy().digest


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[analysis]\nmax_sid = 3\n", "unknown policy key 'analysis.max_sid'"),
        ("[nosuch]\nx = 1\n", "unknown policy key 'nosuch'"),
        ("[analysis]\nmax_side = 'big'\n", "'analysis.max_side' must be int"),
        ("[analysis\nmax_side = 3\n", "not valid TOML"),
        ("[severity]\n\"quality.flicker\" = \"loud\"\n", "must be one of info, warn, fail, ignore"),
        ("[gate]\ncategories = [\"quality\", \"vibes\"]\n", "gate.categories has unknown ['vibes']"),
        ("[gate]\nwarn_as = \"maybe\"\n", "'gate.warn_as' must be one of warn, fail; got 'maybe'"),
        ("[conformance]\nseverity = \"loud\"\n", "'conformance.severity' must be one of info, warn, fail"),
        ("[provenance]\nrequire = \"signature\"\n", "'provenance.require' must be one of any, manifest"),
        ("[provenance]\nunmet = \"error\"\n", "'provenance.unmet' must be one of warn, fail"),
    ],
)
def test_malformed_policy_is_refused_naming_file_and_key(tmp_path, text, needle):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_policy(path)
    assert str(path) in str(e.value)
    assert needle in str(e.value)


def test_missing_policy_file(tmp_path):
    with pytest.raises(ConfigError, match="policy file not found"):
        load_policy(tmp_path / "nope.toml")


def f(cat, sev, code="x.y"):
    return Finding(cat, sev, code, "m")


def test_verdicts():
    pol = load_policy()
    assert pol.verdict([]) == "pass"
    assert pol.verdict([f(QUALITY, INFO)]) == "pass"
    assert pol.verdict([f(QUALITY, WARN)]) == "warn"
    assert pol.verdict([f(QUALITY, FAIL), f(RUNTIME, WARN)]) == "fail"
    assert pol.verdict([f(RUNTIME, FAIL)]) == "error"
    # a known failure on partial data still fails: it is certainly not publishable
    assert pol.verdict([f(RUNTIME, FAIL), f(QUALITY, FAIL)]) == "fail"


def test_severity_overrides_and_ignore(tmp_path):
    pol = load_policy(_write(tmp_path, '[severity]\n"quality.a" = "fail"\n"quality.b" = "ignore"\n'))
    out = pol.apply_overrides([f(QUALITY, WARN, "quality.a"), f(QUALITY, FAIL, "quality.b"), f(QUALITY, WARN, "quality.c")])
    assert [(x.code, x.severity) for x in out] == [("quality.a", FAIL), ("quality.c", WARN)]
    assert pol.verdict(out) == "fail"


def test_warn_as_fail_and_gated_categories(tmp_path):
    strict = load_policy(_write(tmp_path, '[gate]\nwarn_as = "fail"\n'))
    assert strict.verdict([f(QUALITY, WARN)]) == "fail"
    only_prov = load_policy(_write(tmp_path, '[gate]\ncategories = ["provenance"]\n'))
    assert only_prov.verdict([f(QUALITY, FAIL)]) == "pass"
    assert only_prov.verdict([f(RUNTIME, FAIL)]) == "error"  # runtime always counts


def test_exit_codes():
    assert exit_code([]) == 0
    assert exit_code(["pass", "warn"]) == 0
    assert exit_code(["pass", "error"]) == 3
    assert exit_code(["error", "fail", "pass"]) == 1


def test_choices_match_what_the_detectors_accept():
    from audit.provenance.detector import REQUIRES
    from audit.policy import CHOICES

    assert CHOICES["provenance.require"] == REQUIRES
    defaults = load_policy()
    for dotted, allowed in CHOICES.items():  # every default is one of its own choices
        section, key = dotted.split(".")
        assert defaults.get(section, key) in allowed
