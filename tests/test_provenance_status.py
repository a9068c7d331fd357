"""The one sentence that says why a provenance block has its status (CLI and HTML report)."""

from audit.provenance.status import explain
from conftest import FIXTURES, run_cli


def test_valid_while_c2pa_says_invalid_gives_the_reason():
    b = {"status": "valid", "c2pa_state": "Invalid", "codes": ["signingCredential.untrusted"],
         "trust": {"configured": False, "sources": []}}
    assert explain(b) == ("valid: content intact; c2pa says Invalid because the credential is untrusted "
                          "(signingCredential.untrusted)")
    b["codes"].append("signingCredential.expired")
    assert explain(b).endswith("and the signing certificate had expired (signingCredential.expired)")


def test_every_status_reads_on_its_own():
    assert explain({"status": "valid", "c2pa_state": "Valid", "codes": ["signingCredential.untrusted"]}) == (
        "valid: content intact; not trusted: the credential is untrusted (signingCredential.untrusted)")
    assert explain({"status": "valid", "c2pa_state": "Valid", "codes": [], "trust": {"configured": False}}) == (
        "valid: content intact; not trusted: no trust list is configured")
    assert explain({"status": "invalid", "codes": ["assertion.bmffHash.mismatch"]}).startswith(
        "invalid: the content or the claim does not match its signature (altered after signing)")
    assert explain({"status": "absent"}) == "absent: no Content Credentials (no C2PA manifest in the file)"
    assert explain({"status": "trusted", "c2pa_state": "Trusted"}).startswith("trusted: content intact")
    assert explain(None) == "not checked"


def test_provenance_command_prints_the_reason_not_a_contradiction(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "SORA_AUDIT_TRUST_DIR": "", "COLUMNS": "250"}
    r = run_cli("provenance", str(FIXTURES / "c2pa" / "expired_pan.mp4"), str(FIXTURES / "clips" / "flicker.mp4"),
                env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    text = " ".join(r.stdout.split())
    assert "status valid: content intact; c2pa says Invalid because the credential is untrusted" in text
    assert "(c2pa: Invalid)" not in text
    assert "status absent: no Content Credentials (no C2PA manifest in the file)" in text
