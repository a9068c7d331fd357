"""The one sentence that says why a provenance block has its status (CLI and HTML report)."""

from audit.provenance.status import explain
from conftest import FIXTURES, run_cli


def test_valid_while_c2pa_says_invalid_says_why_in_words():
    b = {"status": "valid", "c2pa_state": "Invalid", "codes": ["signingCredential.untrusted"],
         "trust": {"configured": True, "sources": ["anchors:x.pem"]}}
    assert explain(b) == "valid: intact; signer not on your trust lists (c2pa says Invalid for this, not for the content)"
    b["codes"].append("signingCredential.expired")
    b["cert_validity"] = {"not_before": "2025-12-01T00:00:00+00:00", "not_after": "2026-01-01T00:00:00+00:00"}
    assert explain(b) == ("valid: intact; signer not on your trust lists; certificate expired 2026-01-01 with no "
                          "trusted timestamp (c2pa says Invalid for these, not for the content)")
    b["trust"]["configured"] = False  # without any list, that is the reason, not the list's content
    assert explain(b).startswith("valid: intact; no trust list configured; certificate expired 2026-01-01")


def test_every_status_reads_on_its_own():
    assert explain({"status": "valid", "c2pa_state": "Valid", "codes": ["signingCredential.untrusted"]}) == (
        "valid: intact; signer not on your trust lists")
    assert explain({"status": "valid", "c2pa_state": "Valid", "codes": [], "trust": {"configured": False}}) == (
        "valid: intact; no trust list configured")
    assert explain({"status": "invalid", "codes": ["assertion.bmffHash.mismatch"]}).startswith(
        "invalid: the content or the claim does not match its signature (altered after signing)")
    assert explain({"status": "absent"}) == "absent: no Content Credentials (no C2PA manifest in the file)"
    assert explain({"status": "trusted", "c2pa_state": "Trusted"}) == (
        "trusted: intact and the signer is trusted (a configured anchor or the allowed list)")
    assert explain(None) == "not checked"


def test_reasons_name_codes_not_checked_unclassified_and_identities():
    b = {"status": "valid", "c2pa_state": "Valid", "trust": {"configured": True},
         "codes": ["timeStamp.untrusted", "signingCredential.ocsp.stale", "manifest.inaccessible", "liveVideo.gap"],
         "identities": [{"status": "untrusted", "method": "x509", "name": "Jane Doe", "organization": "Newsroom"},
                        {"status": "invalid", "method": "ica", "name": "jdoe", "issuer": "did:web:example.com"}]}
    assert explain(b) == (
        "valid: intact; timestamp authority not on your trust lists; signer's credential: signingCredential.ocsp.stale; "
        "not checked: manifest.inaccessible; unclassified code liveVideo.gap; identity Jane Doe / Newsroom "
        "(X.509 certificate) not trusted; identity assertion of jdoe, vouched for by did:web:example.com "
        "(identity claims aggregation) fails its own check")


def test_provenance_command_prints_the_reason_not_a_contradiction(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "SORA_AUDIT_TRUST_DIR": "", "COLUMNS": "250"}
    r = run_cli("provenance", str(FIXTURES / "c2pa" / "expired_pan.mp4"), str(FIXTURES / "clips" / "flicker.mp4"),
                env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    text = " ".join(r.stdout.split())
    assert "status valid: intact; no trust list configured; certificate expired" in text
    assert "with no trusted timestamp (c2pa says Invalid for these, not for the content)" in text
    assert "(c2pa: Invalid)" not in text
    assert "status absent: no Content Credentials (no C2PA manifest in the file)" in text
