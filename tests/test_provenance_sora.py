"""Our status logic on validation results shaped like a real Sora 2 clip's (and the other real
files of the notes).

No real Sora clip is in the repository. The structures below are recorded from real files the
team examined (our notes on C2PA, "Real files"): claim_generator_info [{"name": "Sora",
"org.contentauth.c2pa_rs": "0.67.1"}], claim version 2 without a claim_generator string, title
``<32 hex>_media.mp4``, one c2pa.created action by softwareAgent Sora with digitalSourceType
trainedAlgorithmicMedia, hash binding c2pa.hash.bmff.v3, ES256, issuer "OpenAI", common name
"Truepic Lens CLI in Sora", a timestamp. With library defaults: Invalid, failures
signingCredential.untrusted + signingCredential.expired. With the C2PA + CAI anchors, the CAI
allowed list and the EKU config: Trusted, no failure. The shapes (keys, code/url/explanation
items) are those c2pa-python 0.38.1 returns for our own signed fixtures.
"""

from __future__ import annotations

import copy

from audit.policy import load_policy
from audit.provenance import TrustConfig, block_from, findings_for

LABEL = "urn:c2pa:5f0c6d1e-2b7a-4c4e-9a51-0d7c3e8b9f21"
SIG = f"self#jumbf=/c2pa/{LABEL}/c2pa.signature"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"

MANIFEST = {
    "claim_generator_info": [{"name": "Sora", "org.contentauth.c2pa_rs": "0.67.1"}],
    "title": "3f9a0c4be1d24c7f9e8a6b5d4c3b2a19_media.mp4",
    "instance_id": "xmp:iid:0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
    "assertions": [
        {"label": "c2pa.hash.bmff.v3", "data": {"alg": "sha256", "name": "jumbf manifest",
                                               "exclusions": [{"xpath": "/uuid"}, {"xpath": "/ftyp"}]}},
        {"label": "c2pa.actions.v2", "data": {"actions": [
            {"action": "c2pa.created", "softwareAgent": {"name": "Sora"},
             "digitalSourceType": IPTC + "trainedAlgorithmicMedia"}]}},
    ],
    "signature_info": {"alg": "Es256", "issuer": "OpenAI", "common_name": "Truepic Lens CLI in Sora",
                       "cert_serial_number": "112233445566778899", "time": "2025-10-06T17:21:08+00:00"},
    "label": LABEL,
    "claim_version": 2,
}


def _item(code, explanation):
    return {"code": code, "url": SIG, "explanation": explanation}


SUCCESS = [_item("claimSignature.insideValidity", "claim signature valid"),
           _item("claimSignature.validated", "claim signature valid"),
           {"code": "assertion.bmffHash.match", "explanation": "BMFF hash valid",
            "url": f"self#jumbf=/c2pa/{LABEL}/c2pa.assertions/c2pa.hash.bmff.v3"}]
DEFAULTS = {"activeManifest": {
    "success": SUCCESS,
    "informational": [_item("signingCredential.ocsp.skipped", "OCSP fetching skipped")],
    "failure": [_item("signingCredential.untrusted", "signing certificate untrusted"),
                _item("signingCredential.expired", "certificate expired")]}, "specVersion": "2.4.0"}
WITH_LISTS = {"activeManifest": {
    "success": SUCCESS + [_item("signingCredential.trusted", "signing certificate trusted, found in User trust anchors")],
    "informational": [_item("signingCredential.ocsp.skipped", "OCSP fetching skipped")],
    "failure": []}, "specVersion": "2.4.0"}
STORE = {"active_manifest": LABEL, "manifests": {LABEL: MANIFEST}}
LISTS = TrustConfig(anchors="-----BEGIN CERTIFICATE-----\n(C2PA-TRUST-LIST + CAI-ANCHORS)\n-----END CERTIFICATE-----\n",
                    allowed="-----BEGIN CERTIFICATE-----\n(CAI-ALLOWED)\n-----END CERTIFICATE-----\n",
                    eku_config="1.3.6.1.5.5.7.3.4\n",
                    sources=("anchors:C2PA-TRUST-LIST.pem", "anchors:CAI-ANCHORS.pem", "allowed:CAI-ALLOWED.pem",
                             "trust_config:EKU-CONFIG.cfg"))


def policy(**over):
    pol = dict(load_policy().section("provenance"))
    pol.update(over)
    return pol


def codes(block, pol=None):
    return {f.code: f.severity for f in findings_for(block, pol or policy())}


def test_sora_clip_with_library_defaults_is_intact_but_its_credential_unestablished():
    b = block_from("Invalid", copy.deepcopy(DEFAULTS), STORE, copy.deepcopy(MANIFEST), None)
    # the library says Invalid; the content and claim are intact: our status is valid
    assert b["c2pa_state"] == "Invalid" and b["status"] == "valid"
    assert b["codes"] == ["signingCredential.untrusted", "signingCredential.expired"]
    assert codes(b) == {"provenance.credential_expired": "warn", "provenance.untrusted": "info"}
    assert b["trust"]["configured"] is False and "trusted cannot be established" in b["note"]


def test_sora_clip_with_the_public_lists_is_trusted():
    b = block_from("Trusted", copy.deepcopy(WITH_LISTS), STORE, copy.deepcopy(MANIFEST), LISTS)
    assert b["status"] == "trusted" and b["c2pa_state"] == "Trusted" and b["codes"] == []
    assert b["trust"]["sources"][0] == "anchors:C2PA-TRUST-LIST.pem"
    assert codes(b) == {}
    # an allow-list naming Sora's issuer and generator passes it; another issuer's does not
    assert codes(b, policy(allowed_issuers=["OpenAI"], allowed_claim_generators=["Sora"])) == {}
    assert codes(b, policy(allowed_issuers=["Google"])) == {"provenance.issuer_not_allowed": "fail"}


def test_sora_manifest_fields_as_the_notes_describe_them():
    b = block_from("Trusted", copy.deepcopy(WITH_LISTS), STORE, copy.deepcopy(MANIFEST), LISTS)
    assert b["claim_generator"] == "Sora"  # from claim_generator_info: v2 claims have no claim_generator
    assert b["claim_generator_info"] == [{"name": "Sora", "org.contentauth.c2pa_rs": "0.67.1"}]
    assert b["claim_version"] == 2 and b["alg"] == "Es256"
    assert (b["issuer"], b["common_name"]) == ("OpenAI", "Truepic Lens CLI in Sora")
    assert b["actions"] == [{"action": "c2pa.created", "software_agent": "Sora",
                             "digitalSourceType": IPTC + "trainedAlgorithmicMedia", "when": None}]
    assert b["ai_disclosure"] is True and b["digital_source_type"].endswith("/trainedAlgorithmicMedia")
    assert b["title"].endswith("_media.mp4") and b["manifest_count"] == 1
    assert b["signed_at"] == "2025-10-06T17:21:08+00:00"
    assert b["hard_binding"] == {"label": "c2pa.hash.bmff.v3", "merkle": False}
    assert codes(b, policy(require_ai_disclosure=True)) == {}


def test_a_sora_clip_altered_after_signing_is_invalid_whatever_the_trust():
    bad = copy.deepcopy(WITH_LISTS)
    bad["activeManifest"]["success"] = [s for s in bad["activeManifest"]["success"]
                                        if s["code"] != "assertion.bmffHash.match"]
    bad["activeManifest"]["failure"] = [{"code": "assertion.bmffHash.mismatch", "explanation": "hash mismatch",
                                         "url": SUCCESS[2]["url"]}]
    b = block_from("Invalid", bad, STORE, copy.deepcopy(MANIFEST), LISTS)
    assert b["status"] == "invalid" and codes(b) == {"provenance.invalid": "fail"}


def test_timestamp_trust_is_checked_against_the_configured_anchors():
    """Sora's credential is short-lived: its validity rests on the timestamp. c2pa-rs checks a
    timestamp's TSA chain against the same trust settings as the signer (there is no separate TSA
    anchor key in c2pa-python 0.38.1's settings); we pin that check on, and c2pa accepts it."""
    import c2pa

    from audit.provenance.reading import _context
    from test_provenance import ROOT_PEM

    trust = TrustConfig.from_files([ROOT_PEM])
    assert trust.settings()["verify"] == {"verify_trust": True, "verify_timestamp_trust": True}
    assert isinstance(_context(trust), c2pa.Context)


# --- the other real files of the notes, as recorded shapes ---------------------------------------


def _results(failure=(), success=SUCCESS, deltas=None):
    r = {"activeManifest": {"success": list(success), "informational": [], "failure": list(failure)},
         "specVersion": "2.4.0"}
    if deltas is not None:
        r["ingredientDeltas"] = deltas
    return r


def test_adobe_premiere_ingredient_with_expired_certificate():
    """Notes: the active manifest has no failures, yet the library's state is Invalid because of
    the ingredient (ingredientDeltas). Ours: the clip keeps its status; the ingredient warns."""
    manifest = dict(copy.deepcopy(MANIFEST), claim_generator_info=[{"name": "Adobe Premiere Pro"}],
                    ingredients=[{"title": "interview.mov", "relationship": "parentOf", "label": "c2pa.ingredient.v3",
                                  "active_manifest": "urn:c2pa:ingredient-manifest"}])
    deltas = [{"ingredientAssertionURI": f"self#jumbf=/c2pa/{LABEL}/c2pa.assertions/c2pa.ingredient.v3",
               "validationDeltas": {"success": [], "informational": [],
                                    "failure": [_item("signingCredential.expired", "certificate expired")]}}]
    trusted = SUCCESS + [_item("signingCredential.trusted", "signing certificate trusted")]
    b = block_from("Invalid", _results(success=trusted, deltas=deltas), STORE, manifest, LISTS)
    assert b["c2pa_state"] == "Invalid" and b["status"] == "trusted" and b["codes"] == []
    assert b["ingredients"] == [{"title": "interview.mov", "relationship": "parentOf", "format": None,
                                 "status": "valid", "codes": ["signingCredential.expired"]}]
    assert codes(b) == {"provenance.ingredient_invalid": "warn"}


def test_broadcaster_expired_signer_without_timestamp_under_every_list():
    """Notes: intact content, unverifiable credential; Invalid (expired + untrusted) whatever the lists."""
    fails = [_item("signingCredential.untrusted", "signing certificate untrusted"),
             _item("signingCredential.expired", "certificate expired")]
    b = block_from("Invalid", _results(failure=fails), STORE, copy.deepcopy(MANIFEST), LISTS)
    assert b["status"] == "valid"
    assert codes(b) == {"provenance.credential_expired": "warn", "provenance.untrusted": "warn"}


def test_tampered_jpeg_signature_is_invalid():
    """Notes: tampered JPEGs give assertion.dataHash.mismatch (pixels) and claimSignature.mismatch."""
    for code in ("assertion.dataHash.mismatch", "claimSignature.mismatch"):
        b = block_from("Invalid", _results(failure=[_item(code, "mismatch")]), STORE, copy.deepcopy(MANIFEST), LISTS)
        assert b["status"] == "invalid" and codes(b) == {"provenance.invalid": "fail"}, code


def test_signer_refused_without_eku_configuration_is_a_credential_problem():
    """Notes: without an EKU configuration a Microsoft-signed clip reads signingCredential.invalid."""
    b = block_from("Invalid", _results(failure=[_item("signingCredential.invalid", "certificate invalid")]),
                   STORE, copy.deepcopy(MANIFEST), LISTS)
    assert b["status"] == "valid" and codes(b) == {"provenance.untrusted": "warn"}
