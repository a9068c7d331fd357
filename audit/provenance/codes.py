"""What a C2PA validation status code says: about the content, the signer's credential, a CAWG
identity assertion, or something the validator could not check.

The status of a manifest rests on this (``reading.classify``): only an ``integrity`` failure
makes it ``invalid`` (tampering); a ``credential`` failure leaves intact content ``valid``; a
CAWG identity assertion's problems never touch the content's status (the content's own hashes
and claim signature are checked by their own codes, which c2pa reports beside them).

Two layers:

- ``KNOWN``: every status code c2pa-rs can report (its ``validation_status`` constants, its
  CAWG identity codes, and the codes found in the native library c2pa-python 0.38 ships), each
  given its class by hand.
- ``RULES``: for a code not in the table (c2pa-rs keeps adding codes), what its name says,
  read from its family and its last words. A code no rule fits is ``UNKNOWN``: reported by
  name, and the status then follows c2pa's own verdict, never ``invalid`` on a guess.
"""

from __future__ import annotations

import re

INTEGRITY = "integrity"                      # the content or the claim does not match its signature, or
                                             # the manifest is malformed / incomplete: altered
CREDENTIAL = "credential"                    # the signer's credential: trust, expiry, revocation, timestamp
IDENTITY = "identity"                        # a CAWG identity assertion's own signature or structure fails
IDENTITY_CREDENTIAL = "identity_credential"  # a CAWG identity's credential: trust, expiry, issuer
UNVERIFIED = "unverified"                    # the validator could not check it (remote part, algorithm...)
UNKNOWN = "unknown"                          # no rule fits: reported verbatim, never guessed
CLASSES = (INTEGRITY, CREDENTIAL, IDENTITY, IDENTITY_CREDENTIAL, UNVERIFIED, UNKNOWN)

# c2pa's own kind for each code when it reports it (success / informational / failure): what the
# table below is checked against, and what tells a passing code from a failing one.
SUCCESS, INFORMATIONAL, FAILURE = "success", "informational", "failure"


def _table(cls: str, kind: str, codes: str) -> dict[str, tuple[str, str]]:
    return {c: (cls, kind) for c in codes.split()}


# code -> (class, kind). The class of a success or informational code is the class of what it
# vouches for (``assertion.dataHash.match`` is about integrity, ``timeStamp.trusted`` about the
# credential); only failure codes change a status.
KNOWN: dict[str, tuple[str, str]] = {
    # -- the content and the claim --
    **_table(INTEGRITY, SUCCESS, """
        claimSignature.validated assertion.hashedURI.match assertion.dataHash.match assertion.bmffHash.match
        assertion.boxesHash.match assertion.collectionHash.match ingredient.manifest.validated
        ingredient.claimSignature.validated"""),
    **_table(INTEGRITY, INFORMATIONAL, """
        assertion.dataHash.additionalExclusionsPresent assertion.bmffHash.additionalExclusionsPresent
        assertion.boxesHash.additionalExclusionsPresent manifest.unreferenced ingredient.unknownProvenance"""),
    **_table(INTEGRITY, FAILURE, """
        claim.malformed claim.missing claim.multiple claim.hardBindings.missing claim.required.missing
        claim.cbor.invalid claimSignature.missing claimSignature.mismatch
        assertion.hashedURI.mismatch assertion.missing assertion.undeclared assertion.notRedacted
        assertion.selfRedacted assertion.required.missing assertion.json.invalid assertion.cbor.invalid
        assertion.multipleHardBindings assertion.outsideManifest assertion.metadata.disallowed
        assertion.action.ingredientMismatch assertion.action.redacted assertion.action.malformed
        assertion.action.redactionMismatch assertion.action.softBindingMissing assertion.hardBinding.redacted
        assertion.dataHash.mismatch assertion.dataHash.malformed assertion.dataHash.redacted
        assertion.bmffHash.mismatch assertion.bmffHash.malformed
        assertion.boxesHash.mismatch assertion.boxesHash.malformed assertion.boxesHash.unknownBox
        assertion.collectionHash.mismatch assertion.collectionHash.malformed
        assertion.collectionHash.invalidURI assertion.collectionHash.incorrectFileCount
        assertion.ingredient.malformed assertion.timestamp.malformed assertion.external-reference.malformed
        assertion.cloud-data.hardBinding assertion.cloud-data.actions assertion.cloud-data.malformed
        hashedURI.missing hashedURI.mismatch ingredient.hashedURI.mismatch ingredient.manifest.missing
        ingredient.manifest.mismatch ingredient.claimSignature.missing ingredient.claimSignature.mismatch
        manifest.multipleParents manifest.update.invalid manifest.update.wrongParents
        manifest.timestamp.invalid manifest.timestamp.wrongParents manifest.compressed.invalid"""),
    # -- the signer's credential (and the timestamp that vouches for the signing time) --
    **_table(CREDENTIAL, SUCCESS, """
        claimSignature.insideValidity signingCredential.trusted signingCredential.ocsp.notRevoked
        timeStamp.validated timeStamp.trusted"""),
    **_table(CREDENTIAL, INFORMATIONAL, """
        signingCredential.ocsp.skipped signingCredential.ocsp.inaccessible timeOfSigning.insideValidity
        algorithm.deprecated"""),
    **_table(CREDENTIAL, FAILURE, """
        signingCredential.untrusted signingCredential.invalid signingCredential.expired
        signingCredential.ocsp.revoked signingCredential.ocsp.unknown claimSignature.outsideValidity
        timeStamp.mismatch timeStamp.malformed timeStamp.outsideValidity timeStamp.untrusted"""),
    # -- what the validator could not check --
    **_table(UNVERIFIED, SUCCESS, "assertion.accessible"),
    **_table(UNVERIFIED, INFORMATIONAL, "manifest.unknownProvenance com.adobe.prerelease"),
    **_table(UNVERIFIED, FAILURE, "manifest.inaccessible assertion.inaccessible algorithm.unsupported general.error"),
    # -- CAWG identity assertions (X.509 and identity claims aggregation) --
    **_table(IDENTITY, SUCCESS, "cawg.identity.well-formed cawg.x509.signature.validated"),
    **_table(IDENTITY, FAILURE, """
        cawg.identity.assertion.duplicate cawg.identity.assertion.mismatch cawg.identity.cbor.invalid
        cawg.identity.hard_binding_missing cawg.identity.pad.invalid cawg.identity.sig_type.unknown
        cawg.x509.signature.mismatch cawg.x509.algorithm.unsupported
        cawg.ica.invalid_alg cawg.ica.invalid_content_type cawg.ica.invalid_cose_sign1 cawg.ica.invalid_did_document
        cawg.ica.invalid_issuer cawg.ica.invalid_verifiable_credential cawg.ica.signature_mismatch
        cawg.ica.signer_payload.mismatch cawg.ica.valid_from.missing"""),
    **_table(IDENTITY_CREDENTIAL, SUCCESS, """
        cawg.x509.credential.trusted cawg.ica.credential_valid cawg.ica.time_stamp.validated"""),
    **_table(IDENTITY_CREDENTIAL, INFORMATIONAL, "cawg.ica.untrusted_issuer"),
    **_table(IDENTITY_CREDENTIAL, FAILURE, """
        cawg.x509.credential.untrusted cawg.x509.credential.invalid cawg.x509.signature.outside_validity
        cawg.ica.did_unavailable cawg.ica.valid_from.invalid cawg.ica.valid_until.invalid
        cawg.ica.time_stamp.invalid"""),
}

_CREDENTIAL_WORDS = re.compile(r"(?i)(untrusted|expired|revoked|ocsp|outside_?validity|credential)")
_INTEGRITY_WORDS = re.compile(r"(?i)(mismatch|malformed|missing)$")


def _by_rule(code: str) -> str:
    """A code not in the table, by what its name says (codes are ``family.part[.part]``: the
    family says whose code it is, the last part what happened), first rule that fits:

    1. family ``signingCredential`` or ``timeStamp``: the signer's credential
    2. family ``cawg`` naming a credential, or untrusted / expired / revoked / OCSP / outside
       validity: the identity's credential; anything else of the family: the identity
       assertion itself (never the content)
    3. any other family naming untrusted / expired / revoked / OCSP / outside validity /
       credential: the signer's credential
    4. any other family ending in mismatch / malformed / missing: integrity
    5. else unknown
    """
    family, _, rest = code.partition(".")
    last = code.rsplit(".", 1)[-1]
    if family in ("signingCredential", "timeStamp"):
        return CREDENTIAL
    if family == "cawg":
        if _CREDENTIAL_WORDS.search(rest):
            return IDENTITY_CREDENTIAL
        return IDENTITY  # whatever else it says, it is about the identity assertion, not the content
    if _CREDENTIAL_WORDS.search(rest):
        return CREDENTIAL
    return INTEGRITY if _INTEGRITY_WORDS.search(last) else UNKNOWN


def code_class(code: str) -> str:
    """The class of ``code`` (one of ``CLASSES``): from the table, else from what its name says."""
    known = KNOWN.get(code)
    return known[0] if known else _by_rule(code)


def is_known(code: str) -> bool:
    return code in KNOWN


def classes_of(codes) -> dict[str, str]:
    """``{code: class}`` for each code, in order."""
    return {c: code_class(c) for c in codes}


# Codes whose words are said in the status explanation and the findings.
EXPIRED_CODES = {"signingCredential.expired", "claimSignature.outsideValidity", "timeStamp.outsideValidity"}
UNTRUSTED_CODES = {"signingCredential.untrusted", "signingCredential.invalid"}
REVOKED_CODES = {"signingCredential.ocsp.revoked"}
