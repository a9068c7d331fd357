"""The TEST-ONLY C2PA signing now lives in ``audit.provenance.signing``; this name stays because
``audit.sora``'s emulator imports it optionally (``from .. import signing``)."""

from .provenance.signing import *  # noqa: F401,F403
from .provenance.signing import TestChain, make_test_chain, mime_of, sign_file, wait_until_expired  # noqa: F401
