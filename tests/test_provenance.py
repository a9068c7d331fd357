"""Content Credentials: every tamper and credential case lands in its status, with its codes.

Inputs are the committed fixtures (fixtures/c2pa/, fixtures/clips/signed_*.mp4, signed with
TEST-ONLY keys by fixtures/gen_provenance.py) and files altered from them here.
"""

from __future__ import annotations

import os
import struct

import av
import pytest

from audit.pipeline import AuditOptions, AuditTask, audit_clip
from audit.policy import load_policy
from audit.provenance import TrustConfig, classify, findings_for, verify
from audit.synth import remux
from conftest import FIXTURES, TRUST_LISTS

C2PA_DIR = FIXTURES / "c2pa"
SIGNED = FIXTURES / "clips" / "clean_pan.mp4"  # signed in place by fixtures/gen_provenance.py
UNSIGNED = FIXTURES / "clips" / "warp.mp4"
ROOT_PEM = C2PA_DIR / "test-only-root.pem"
EXPIRED_ROOT_PEM = C2PA_DIR / "test-only-expired-root.pem"
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")


def own_trust() -> TrustConfig:
    return TrustConfig.from_files([ROOT_PEM])


def boxes(data: bytes) -> list[tuple[str, int, int]]:
    """Top-level ISO BMFF boxes: (type, offset, size)."""
    out, i = [], 0
    while i + 8 <= len(data):
        size, typ = struct.unpack(">I4s", data[i:i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
        elif size == 0:
            size = len(data) - i
        out.append((typ.decode("latin1"), i, size))
        i += size
    return out


def manifest_box(data: bytes) -> tuple[int, int]:
    for typ, off, size in boxes(data):
        if typ == "uuid" and data[off + 8:off + 24] == C2PA_UUID:
            return off, size
    raise AssertionError("no C2PA uuid box")


def codes_of(block) -> set[str]:
    return set(block["codes"])


def finding_codes(block, pol=None) -> dict[str, str]:
    pol = pol or dict(load_policy().section("provenance"))
    return {f.code: f.severity for f in findings_for(block, pol)}


# --- intact ------------------------------------------------------------------------------------


def test_intact_without_trust_is_valid_and_says_trust_cannot_be_established():
    b = verify(SIGNED)
    assert b["status"] == "valid" and b["c2pa_state"] == "Valid"
    assert b["codes"] == ["signingCredential.untrusted"]
    assert b["trust"]["configured"] is False and "trusted cannot be established" in b["note"]
    assert b["issuer"] == "sora-audit TEST ONLY" and "TEST ONLY" in b["common_name"]
    assert b["claim_generator_info"][0]["name"] == "sora-audit-test"
    assert b["alg"].lower() == "es256" and b["title"] == "clean_pan.mp4"
    assert b["digital_source_type"].endswith("/trainedAlgorithmicMedia") and b["ai_disclosure"] is True
    assert b["actions"][0]["action"] == "c2pa.created" and b["actions"][0]["software_agent"] == "sora-audit-test"
    assert [(i["title"], i["relationship"]) for i in b["ingredients"]] == [("clean_pan.jpg", "inputTo")]
    assert b["manifest_count"] == 1
    active = {(v["code"], v["kind"]) for v in b["validation"]["active"]}
    assert ("assertion.bmffHash.match", "success") in active
    assert ("signingCredential.untrusted", "failure") in active
    assert all(v["explanation"] for v in b["validation"]["active"])
    assert finding_codes(b) == {"provenance.untrusted": "info"}


def test_intact_with_own_root_as_anchor_is_trusted():
    b = verify(SIGNED, own_trust())
    assert (b["status"], b["c2pa_state"], b["codes"]) == ("trusted", "Trusted", [])
    assert b["note"] is None and b["trust"]["configured"]
    assert finding_codes(b) == {}


def test_intact_untrusted_with_other_anchors_warns():
    b = verify(SIGNED, TrustConfig.from_files([EXPIRED_ROOT_PEM]))
    assert b["status"] == "valid" and b["codes"] == ["signingCredential.untrusted"]
    assert finding_codes(b) == {"provenance.untrusted": "warn"}


def test_public_shaped_lists_plus_test_root_give_trusted():
    # multi-certificate bundles with text between certificates and mixed key types, as published
    lists = TRUST_LISTS
    anchors = [lists / "C2PA-TRUST-LIST.pem", lists / "CAI-ANCHORS.pem"]
    public = TrustConfig.from_files(anchors, lists / "CAI-ALLOWED.pem", lists / "EKU-CONFIG.cfg")
    b = verify(SIGNED, public)
    assert b["status"] == "valid" and b["codes"] == ["signingCredential.untrusted"]  # our test root is not on them
    b = verify(SIGNED, TrustConfig.from_files([*anchors, ROOT_PEM], lists / "CAI-ALLOWED.pem", lists / "EKU-CONFIG.cfg"))
    assert (b["status"], b["c2pa_state"], b["codes"]) == ("trusted", "Trusted", [])


# --- tampering ---------------------------------------------------------------------------------


def test_byte_flipped_in_mdat_is_invalid(tmp_path):
    data = bytearray(SIGNED.read_bytes())
    _, off, size = next(b for b in boxes(bytes(data)) if b[0] == "mdat")
    data[off + size // 2] ^= 0xFF
    p = tmp_path / "flipped.mp4"
    p.write_bytes(bytes(data))
    b = verify(p, own_trust())
    assert b["status"] == "invalid" and b["c2pa_state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in codes_of(b)
    fs = finding_codes(b, )
    assert fs["provenance.invalid"] == "fail" and "provenance.untrusted" not in fs


def test_reencoded_clip_has_no_manifest(tmp_path):
    out = tmp_path / "reencoded.mp4"
    with av.open(str(SIGNED)) as src, av.open(str(out), "w") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream("libx264", rate=24)
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        for frame in src.decode(vin):
            for pkt in vout.encode(frame.reformat(format="yuv420p")):
                dst.mux(pkt)
        for pkt in vout.encode():
            dst.mux(pkt)
    b = verify(out)
    assert b["status"] == "absent" and b["codes"] == [] and b["c2pa_state"] is None


def test_trimmed_clip_has_no_manifest(tmp_path):
    out = tmp_path / "trimmed.mp4"
    remux(SIGNED, out, until_s=1.0)
    assert 0 < out.stat().st_size < SIGNED.stat().st_size
    assert verify(out)["status"] == "absent"


def test_stripped_manifest_is_absent(tmp_path):
    data = SIGNED.read_bytes()
    off, size = manifest_box(data)
    p = tmp_path / "stripped.mp4"
    p.write_bytes(data[:off] + data[off + size:])
    b = verify(p, own_trust())
    assert b["status"] == "absent" and "no C2PA manifest" in b["note"]


def test_manifest_transplanted_into_another_clip_is_invalid(tmp_path):
    donor = SIGNED.read_bytes()
    off, size = manifest_box(donor)
    target = UNSIGNED.read_bytes()
    ftyp_end = boxes(target)[0][2]
    p = tmp_path / "transplant.mp4"
    p.write_bytes(target[:ftyp_end] + donor[off:off + size] + target[ftyp_end:])
    b = verify(p, own_trust())
    assert b["status"] == "invalid" and "assertion.bmffHash.mismatch" in codes_of(b)
    assert b["issuer"] == "sora-audit TEST ONLY"  # still says who signed the original


@pytest.mark.parametrize("share, status", [(0.6, "invalid"), (0.99, "error")])
def test_truncated_file(tmp_path, share, status):
    data = SIGNED.read_bytes()
    p = tmp_path / "truncated.mp4"
    p.write_bytes(data[: int(len(data) * share)])
    b = verify(p, own_trust())
    assert b["status"] == status
    if status == "invalid":  # media cut off: the hash no longer matches
        assert "assertion.bmffHash.mismatch" in codes_of(b)
    else:                    # the index box cut off: the file cannot be parsed
        assert "beyond asset bounds" in b["note"]
        assert finding_codes(b) == {"provenance.error": "fail", "provenance.cut_short": "warn"}
        assert b["layout"]["missing_bytes"] == len(data) - int(len(data) * 0.99)  # the box layout says why


# --- credentials -------------------------------------------------------------------------------


def test_expired_leaf_without_anchors_is_valid_with_credential_findings():
    b = verify(C2PA_DIR / "expired_pan.mp4")
    assert b["status"] == "valid" and b["c2pa_state"] == "Invalid"  # the library's verdict, verbatim
    assert codes_of(b) == {"signingCredential.untrusted", "signingCredential.expired"}
    assert finding_codes(b) == {"provenance.credential_expired": "warn", "provenance.untrusted": "info"}


def test_expired_leaf_with_its_root_as_anchor_is_still_not_trusted():
    b = verify(C2PA_DIR / "expired_pan.mp4", TrustConfig.from_files([EXPIRED_ROOT_PEM]))
    assert b["status"] == "valid"
    assert codes_of(b) == {"signingCredential.untrusted", "signingCredential.expired"}
    fs = finding_codes(b)
    assert fs == {"provenance.credential_expired": "warn", "provenance.untrusted": "warn"}
    msg = next(f.message for f in findings_for(b, {}) if f.code == "provenance.untrusted")
    assert "expired" in msg


def test_ingredient_with_bad_credential_does_not_change_active_status():
    b = verify(C2PA_DIR / "ingredient_bad.mp4", own_trust())
    assert (b["status"], b["c2pa_state"], b["codes"]) == ("trusted", "Trusted", [])
    assert b["manifest_count"] == 2
    (ing,) = b["ingredients"]
    assert ing["title"] == "reference_expired.jpg" and ing["status"] == "valid"
    assert "signingCredential.expired" in ing["codes"]
    assert b["validation"]["ingredients"][0]["items"]
    f = next(f for f in findings_for(b, {}) if f.code == "provenance.ingredient_invalid")
    assert f.severity == "warn" and "signingCredential.expired" in f.evidence["codes"]


# --- hostile and odd files ---------------------------------------------------------------------


def _box(typ: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), typ) + payload


@pytest.mark.parametrize("kind", ["nested", "random", "text"])
def test_garbage_structure_is_error_not_crash(tmp_path, kind):
    if kind == "nested":
        inner = b""
        for k in range(200):
            inner = _box(b"moov" if k % 2 else b"trak", inner)
        data = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + inner
    elif kind == "random":
        data = os.urandom(4000)
    else:
        data = b"this is not a video\n"
    p = tmp_path / f"{kind}.mp4"
    p.write_bytes(data)
    b = verify(p)
    assert b["status"] == "error" and str(p) in b["note"]
    assert all(ch.isprintable() for ch in b["note"])
    if kind == "nested":
        assert "nested" in b["note"]
    assert finding_codes(b) == {"provenance.error": "fail"}


def test_missing_file_is_error():
    b = verify("/nonexistent/clip.mp4")
    assert b["status"] == "error" and "no such file" in b["note"]


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
def test_images_signed_and_tampered(tmp_path, ext):
    import cv2

    from audit.provenance.signing import make_test_chain, sign_file

    img = cv2.imread(str(FIXTURES / "references" / "clean_pan.jpg"))
    src = tmp_path / f"ref{ext}"
    cv2.imwrite(str(src), img)
    chain = make_test_chain(tmp_path / "chain")
    out = sign_file(src, tmp_path / f"signed{ext}", chain)
    trust = TrustConfig.from_files([chain.root_pem])
    b = verify(out, trust)
    assert b["status"] == "trusted"
    # (c2pa lists the data of BMFF hashes, not of data hashes: the label comes from its check)
    assert b["hard_binding"] == {"label": "c2pa.hash.data", "merkle": None}
    assert verify(src)["status"] == "absent"
    if ext == ".jpg":
        data = bytearray(out.read_bytes())
        data[-200] ^= 0x55  # inside the entropy-coded pixels
        bad = tmp_path / "tampered.jpg"
        bad.write_bytes(bytes(data))
        b = verify(bad, trust)
        assert b["status"] == "invalid" and "assertion.dataHash.mismatch" in codes_of(b)


def test_mov_clip_signed_and_read(tmp_path):
    from audit.provenance.signing import sign_file
    from audit.provenance.signing import TestChain

    mov = tmp_path / "clip.mov"
    remux(UNSIGNED, mov, format="mov")
    chain = TestChain(*(C2PA_DIR / f"test-only-{n}" for n in ("root.pem", "intermediate.pem", "leaf.pem", "leaf.key",
                                                             "chain.pem")))
    out = sign_file(mov, tmp_path / "signed.mov", chain, ai=False)
    b = verify(out, own_trust())
    assert b["status"] == "trusted" and b["ai_disclosure"] is False
    assert finding_codes(b) == {"provenance.no_ai_disclosure": "warn"}


def test_classify_separates_integrity_from_credentials():
    assert classify([], ["signingCredential.trusted"]) == "trusted"
    assert classify([], []) == "valid"
    assert classify(["signingCredential.untrusted", "signingCredential.expired"], []) == "valid"
    assert classify(["signingCredential.revoked"], []) == "valid"
    assert classify(["timeStamp.untrusted"], []) == "valid"
    assert classify(["claimSignature.mismatch"], []) == "invalid"
    assert classify(["signingCredential.untrusted", "assertion.hashedURI.mismatch"], []) == "invalid"
    assert classify(["assertion.missing"], ["signingCredential.trusted"]) == "invalid"


# --- in the pipeline ---------------------------------------------------------------------------


def _audit(path, trust=None, policy_text=None, tmp_path=None):
    pol = load_policy()
    if policy_text is not None:
        f = tmp_path / "p.toml"
        f.write_text(policy_text)
        pol = load_policy(f)
    return audit_clip(AuditTask(str(path), AuditOptions(policy=pol, trust=trust)))


def _prov_findings(r):
    return {f["code"]: f["severity"] for f in r["findings"] if f["category"] == "provenance"}


def test_pipeline_fills_provenance_and_gates_by_requirement(tmp_path):
    r = _audit(SIGNED, own_trust())
    assert r["provenance"]["status"] == "trusted" and r["timings"]["detectors"]["provenance"] >= 0
    assert _prov_findings(r) == {}
    r = _audit(UNSIGNED)
    assert r["provenance"]["status"] == "absent"
    assert _prov_findings(r) == {"provenance.absent": "warn"}  # require = "any", no watermark check ran
    r = _audit(UNSIGNED, policy_text='[provenance]\nunmet = "fail"\n', tmp_path=tmp_path)
    assert _prov_findings(r) == {"provenance.absent": "fail"} and r["verdict"] == "fail"
    r = _audit(UNSIGNED, policy_text='[provenance]\nrequire = "none"\n', tmp_path=tmp_path)
    assert _prov_findings(r) == {"provenance.absent": "info"}
    r = _audit(SIGNED, own_trust(), policy_text='[provenance]\nrequire = "both"\nunmet = "fail"\n',
               tmp_path=tmp_path)
    assert _prov_findings(r) == {"provenance.watermark_required": "fail"} and r["verdict"] == "fail"


def test_policy_allow_lists(tmp_path):
    r = _audit(SIGNED, own_trust(), policy_text='[provenance]\nallowed_issuers = ["OpenAI"]\n', tmp_path=tmp_path)
    assert _prov_findings(r) == {"provenance.issuer_not_allowed": "fail"}
    r = _audit(SIGNED, own_trust(), tmp_path=tmp_path,
               policy_text='[provenance]\nallowed_issuers = ["sora-audit test only"]\n'
                           'allowed_claim_generators = ["Sora"]\n')
    assert _prov_findings(r) == {"provenance.generator_not_allowed": "fail"}
    r = _audit(SIGNED, own_trust(), policy_text='[provenance]\nallowed_claim_generators = ["sora-audit-test"]\n',
               tmp_path=tmp_path)
    assert _prov_findings(r) == {} and r["verdict"] == "pass"


def test_undecodable_signed_file_still_gets_its_provenance(tmp_path):
    data = SIGNED.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: int(len(data) * 0.6)])
    r = _audit(p, own_trust())
    assert r["provenance"]["status"] == "invalid"
    codes = {f["code"] for f in r["findings"]}
    assert "provenance.invalid" in codes and any(c.startswith("runtime.") for c in codes)
    assert r["verdict"] == "fail"


def test_unmet_requirement_does_not_hide_an_unauditable_clip(render_clip, tmp_path):
    r = _audit(render_clip("still.mp4", seconds=0.04, fps=25), policy_text='[provenance]\nunmet = "fail"\n',
               tmp_path=tmp_path)
    assert r["provenance"]["status"] == "absent"
    absent = next(f for f in r["findings"] if f["code"] == "provenance.absent")
    assert absent["severity"] == "warn" and absent["evidence"]["clip_not_fully_audited"] is True
    assert r["verdict"] == "error"


def test_lone_init_segment_is_reported_as_such_not_as_tampering(tmp_path):
    from audit.provenance.signing import TestChain, sign_file

    frag = tmp_path / "frag.mp4"
    remux(UNSIGNED, frag, format="mp4", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"})
    chain = TestChain(*(C2PA_DIR / f"test-only-{n}" for n in ("root.pem", "intermediate.pem", "leaf.pem", "leaf.key",
                                                             "chain.pem")))
    signed = sign_file(frag, tmp_path / "signed_frag.mp4", chain)
    assert verify(signed, own_trust())["status"] == "trusted"  # the whole fragmented file
    data = signed.read_bytes()
    first_moof = next(off for typ, off, _ in boxes(data) if typ == "moof")
    init = tmp_path / "init.mp4"
    init.write_bytes(data[:first_moof])
    b = verify(init, own_trust())
    assert b["status"] == "error" and b["init_segment_only"] is True and "init segment" in b["note"]
    assert b["c2pa_state"] == "Invalid" and "assertion.bmffHash.mismatch" in b["codes"]  # the library's, verbatim
    assert finding_codes(b) == {"provenance.init_segment_only": "warn"}
