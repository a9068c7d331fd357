"""Content Credentials (C2PA): read a file's manifest with c2pa-python and say honestly what it is.

Status (``provenance.status``) separates integrity from credentials:

    trusted   an intact active manifest whose signer chains to a configured trust anchor
              (or is on the allowed list), with no failure code at all
    valid     intact (every hash and the claim signature match) but the credential is not
              established: untrusted signer, expired certificate without a trusted timestamp,
              no trust list configured... -- reported as findings, never as tampering
    invalid   the content or the claim does not match its signature (``assertion.*.mismatch``,
              ``claimSignature.mismatch``, missing or malformed required assertions): altered
    absent    no manifest
    error     the file or its manifest could not be parsed (e.g. hostile, over-nested boxes)

Problems inside ingredient manifests do not change the active manifest's status; they are kept
per ingredient and become ``provenance.ingredient_invalid`` findings. The library's own verdict
(``Trusted``/``Valid``/``Invalid``) and every status code with its explanation are kept verbatim
in ``c2pa_state`` and ``validation``.

The package: ``reading`` (a file's manifest into the contract block), ``codes`` (what each C2PA
status code is about: integrity, credential, identity...), ``identity`` (CAWG identity
assertions), ``fragments`` (init segment plus media segments), ``findings`` (the block under the
policy), ``status`` (the status in words),
``truststore`` (the public trust lists and the cache), ``signing`` (TEST-ONLY signing) and
``detector`` (the pipeline's provenance detector and the provenance requirement).
"""

from .findings import findings_for
from .fragments import (WHOLE_FILE_HASH, ConcatStream, FragmentError, bmff_boxes, check_fragment, is_init_segment,
                        verify_fragmented)
from .reading import (ABSENT, AI_SOURCE_TYPES, ERROR, EXPIRED_CODES, INVALID, NO_TRUST, STATUSES, TRUSTED,
                      UNTRUSTED_CODES, VALID, TrustConfig, block_from, classify, empty_block, is_credential_code,
                      mime_of, verify)

__all__ = [
    "ABSENT", "AI_SOURCE_TYPES", "ERROR", "EXPIRED_CODES", "INVALID", "NO_TRUST", "STATUSES", "TRUSTED",
    "UNTRUSTED_CODES", "VALID", "WHOLE_FILE_HASH", "ConcatStream",
    "FragmentError", "TrustConfig", "block_from", "bmff_boxes", "check_fragment", "classify", "empty_block",
    "findings_for", "is_credential_code", "is_init_segment", "mime_of", "verify", "verify_fragmented",
]
