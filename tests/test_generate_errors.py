"""Refusals the mapping table has never seen: an invented code or message that reads as a content
decision is category policy (the closest known code, else ``policy.unclassified_refusal``) with
the provider's code and message verbatim; anything else unknown stays runtime. Both channels:
an HTTP 4xx at create and a job that ends ``failed``."""

from __future__ import annotations

import pytest

from audit.sora import errors as E

# (provider code, provider message, our finding code): none of these codes is in MAPPING
CONTENT = [
    ("input_image_contains_real_person", "Input images containing real people are not allowed", "policy.likeness"),
    ("prompt_rejected_v3", "Your prompt was rejected under our usage policies.", "policy.unclassified_refusal"),
    ("sora_safety_hold", "This generation is on hold for a safety review.", "policy.unclassified_refusal"),
    ("output_blocked", "The generated video was blocked before delivery.", "policy.unclassified_refusal"),
    ("prohibited_subject", "The subject of this request is prohibited.", "policy.unclassified_refusal"),
    ("cameo_not_consented", "The person in the cameo has not consented.", "policy.likeness"),
    ("likeness_check_failed", "Please try again later.", "policy.likeness"),
    ("ip_guardrail", "The prompt references copyrighted characters.", "policy.third_party_content"),
    ("human_face_detected", "A face was detected in the reference image.", "policy.unclassified_refusal"),
    ("request_flagged", "Request flagged by an automated moderator.", "policy.unclassified_refusal"),
    ("nsfw_detected", "The image may contain NSFW content.", "policy.unclassified_refusal"),
    (None, "Generating real people is not supported.", "policy.likeness"),
    ("content_rule_7", "This content violates our guidelines.", "policy.unclassified_refusal"),
]

# unknown codes that are not a content decision: they stay runtime
NOT_CONTENT = [
    ("video_too_long", "The requested duration exceeds the maximum for this model."),
    ("resolution_unsupported", "1920x1080 is not available on this tier."),
    ("upstream_unavailable", "The upstream renderer did not answer; please retry."),
    ("image_decode_failed", "The reference image could not be decoded."),
    ("prompt_too_long", "The prompt exceeds 32000 characters."),
    ("parameter_conflict", "seconds and duration cannot both be set."),
    ("interface_mismatch", "The request interface version is not supported."),  # "interface" is not "face"
    ("weird_failure", "??"),
    ("region_unavailable", "Video generation is not available in your region yet."),
    (None, "Something new went wrong."),
    ("billing_pending", "Your invoice is being processed."),
]


@pytest.mark.parametrize("code,message,ours", CONTENT)
def test_an_unknown_refusal_that_reads_as_a_content_decision_is_policy(code, message, ours):
    for err in (E.classify_http(400, {"error": {"message": message, "type": "invalid_request_error",
                                                "param": None, "code": code}}, what="create (sora-2)"),
                E.classify_job_error(code, message, "video_1")):
        assert isinstance(err, E.PolicyRefusal) and err.category == "policy" and err.code == ours
        assert (err.provider_code, err.provider_message) == (code, message)  # verbatim
        assert not err.resumable
        f = E.to_finding(err, case_id="c", model="sora-2", prompt="p")
        assert f.category == "policy" and f.evidence["provider_code"] == code
        assert f.evidence["provider_message"] == message and message.rstrip(".") in f.message
        # the advice speaks of content, not of fixing seconds or size
        assert "refused" in err.advice or "cannot be generated" in err.advice
        assert "seconds" not in err.advice and "--resume" not in err.advice


@pytest.mark.parametrize("code,message", NOT_CONTENT)
def test_an_unknown_code_that_is_not_a_content_decision_stays_runtime(code, message):
    err = E.classify_http(400, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                          "code": code}}, what="create (sora-2)")
    assert err.category == "runtime" and err.code == "runtime.invalid_request"
    assert "malformed" in err.advice and "suite" in err.advice
    job = E.classify_job_error(code, message, "video_1")
    assert job.category == "runtime" and job.code == "runtime.job_failed" and job.resumable
    assert (job.provider_code, job.provider_message) == (code, message)


@pytest.mark.parametrize("status,cls", [(429, E.RateLimited), (401, E.AuthError), (503, E.ServerError)])
def test_content_words_do_not_turn_rate_limits_auth_or_server_errors_into_refusals(status, cls):
    err = E.classify_http(status, {"error": {"message": "Blocked by the safety service gateway.", "code": "x_1"}})
    assert type(err) is cls and err.category == "runtime"


def test_the_vocabulary_is_the_table_and_it_is_listed_for_the_docs():
    assert E.reads_as_content_decision("input_image_contains_real_person", None)
    assert not E.reads_as_content_decision("interface_error", "surface the error")
    rows = E.mapping_rows()
    assert rows[-1][1:] == ("policy", "policy.unclassified_refusal")
