"""TEST-ONLY C2PA signing: a throwaway certificate chain and a signer that writes manifests the
way a video generator does (``c2pa.created``, digital source type ``trainedAlgorithmicMedia``,
a software agent, the reference image as ingredient).

Used by the fixtures script, the tests and the generation emulator. The keys it makes are
test keys, named so ("TEST ONLY") in every certificate subject: nothing signed with them is
evidence of anything but this tool's own tests.

    chain = make_test_chain(Path("certs"))               # root -> intermediate -> ES256 leaf
    sign_file("clip.mp4", "signed.mp4", chain, title="clip.mp4", ingredient="ref.jpg")
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
CLAIM_GENERATOR = "sora-audit-test"
# C2PA's own claim-signing EKU (c2pa-kp-claimSigning) and email protection, both in the
# usual EKU configuration (c2pa-rs store.cfg; a copy in fixtures/trust/EKU-CONFIG.cfg).
EXPIRING_S = 3   # lifetime, in seconds from creation, of an "expired" test leaf
C2PA_CLAIM_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.62558.2.1")

_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".jpg": "image/jpeg",
         ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
         ".m4s": "video/mp4", ".cmfv": "video/mp4"}  # DASH/CMAF segments (init segments too)


def mime_of(path: str | Path) -> str:
    """The MIME type c2pa expects for ``path`` (by extension)."""
    ext = Path(path).suffix.lower()
    return _MIME.get(ext) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"


@dataclass(frozen=True)
class TestChain:
    """Paths of a test-only chain's PEM files. ``chain_pem`` = leaf + intermediate (what the
    signer embeds); ``root_pem`` is what a verifier adds as trust anchor."""

    root_pem: Path
    intermediate_pem: Path
    leaf_pem: Path
    key_pem: Path
    chain_pem: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ZZ"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sora-audit TEST ONLY"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                         encipher_only=False, decipher_only=False)


def _cert(subject, issuer, pub, signing_key, *, ca: bool, path_len: int | None, start, end, serial: int,
          issuer_pub=None) -> x509.Certificate:
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
         .serial_number(serial).not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False))
    if issuer_pub is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_pub), critical=False)
    if ca:
        b = b.add_extension(_ca_usage(), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                          crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, C2PA_CLAIM_SIGNING]),
                            critical=False)
    return b.sign(signing_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_test_chain(directory: str | Path, expired: bool = False, *, prefix: str = "test-only",
                    now: dt.datetime | None = None, leaf_name: str = "signer") -> TestChain:
    """Write a TEST-ONLY root CA -> intermediate CA -> ES256 (P-256) leaf into ``directory``.

    The leaf has keyUsage digitalSignature (critical) and extendedKeyUsage emailProtection +
    c2pa-kp-claimSigning, as C2PA requires. ``expired=True`` gives the leaf a validity that
    ended two days ago (CAs still valid): a signing credential that has expired.
    Files: ``<prefix>-root.pem``, ``-intermediate.pem``, ``-leaf.pem``, ``-leaf.key`` (unencrypted
    private key), ``-chain.pem`` (leaf + intermediate). ``leaf_name``: the end of the leaf's
    common name ("sora-audit TEST ONLY signer").
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    label = "expired " if expired else ""
    root_key = ec.generate_private_key(ec.SECP256R1())
    int_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"sora-audit TEST ONLY {label}root CA")
    int_name = _name(f"sora-audit TEST ONLY {label}intermediate CA")
    leaf_subject = _name(f"sora-audit TEST ONLY {label}{leaf_name}")
    long_start, long_end = now - dt.timedelta(days=30), now + dt.timedelta(days=3650)
    root = _cert(root_name, root_name, root_key.public_key(), root_key, ca=True, path_len=1,
                 start=long_start, end=long_end, serial=x509.random_serial_number())
    inter = _cert(int_name, root_name, int_key.public_key(), root_key, ca=True, path_len=0,
                  start=long_start, end=long_end, serial=x509.random_serial_number(),
                  issuer_pub=root_key.public_key())
    if expired:
        leaf_start, leaf_end = now - dt.timedelta(days=20), now + dt.timedelta(seconds=EXPIRING_S)
    else:
        leaf_start, leaf_end = now - dt.timedelta(days=1), now + dt.timedelta(days=3650)
    leaf = _cert(leaf_subject, int_name, leaf_key.public_key(), int_key, ca=False, path_len=None,
                 start=leaf_start, end=leaf_end, serial=x509.random_serial_number(),
                 issuer_pub=int_key.public_key())
    p = lambda s: d / f"{prefix}-{s}"  # noqa: E731
    p("root.pem").write_bytes(_pem(root))
    p("intermediate.pem").write_bytes(_pem(inter))
    p("leaf.pem").write_bytes(_pem(leaf))
    p("leaf.key").write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    p("chain.pem").write_bytes(_pem(leaf) + _pem(inter))
    return TestChain(p("root.pem"), p("intermediate.pem"), p("leaf.pem"), p("leaf.key"), p("chain.pem"))


def wait_until_expired(chain: TestChain) -> None:
    """Sleep until the leaf of ``chain`` is past its notAfter (a few seconds at most)."""
    import time

    leaf = x509.load_pem_x509_certificate(chain.leaf_pem.read_bytes())
    left = (leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)).total_seconds()
    # c2pa compares whole seconds: be safely past notAfter, not just at it
    if left + 1.5 > 0:
        time.sleep(left + 1.5)


def _signer(chain: TestChain):
    import c2pa

    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key = serialization.load_pem_private_key(chain.key_pem.read_bytes(), password=None)

    def sign(data: bytes) -> bytes:
        # COSE ES256 wants the raw r||s form, not DER.
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    # A callback signer: the native from_info signer refuses a certificate that has expired,
    # and the expired-credential fixtures need exactly that.
    return c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ES256, chain.chain_pem.read_text(), None)


def manifest_definition(title: str, *, generator: str = CLAIM_GENERATOR, agent: str = CLAIM_GENERATOR,
                        ai: bool = True) -> dict[str, Any]:
    """The manifest a generator writes: one ``c2pa.created`` action, AI disclosure unless ``ai=False``
    (then the source type is a camera capture: c2pa requires one on ``c2pa.created``)."""
    action: dict[str, Any] = {"action": "c2pa.created", "softwareAgent": {"name": agent},
                              "digitalSourceType": TRAINED if ai else CAPTURE}
    return {
        "claim_generator_info": [{"name": generator, "version": "0.1"}],
        "title": title,
        "format": None,
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}],
    }


class _SettingsSignerContext:
    """Marks a ``c2pa.Context`` whose signer comes from its settings (``signer`` and
    ``cawg_x509_signer``): c2pa-python only counts a signer object handed to the Context, so
    without this its Builder refuses to sign before asking the native library, which has one."""

    has_signer = True


def _identity_context(chain: TestChain, identity: TestChain, roles: tuple[str, ...]):
    import c2pa

    def local(c: TestChain) -> dict[str, Any]:
        return {"alg": "es256", "sign_cert": c.chain_pem.read_text(), "private_key": c.key_pem.read_text()}

    settings = {
        "builder": {"thumbnail": {"enabled": False}},
        "signer": {"local": local(chain)},
        # The identity assertion signs the hard binding (always referenced) and the actions.
        "cawg_x509_signer": {"local": {**local(identity), "referenced_assertions": ["c2pa.actions"],
                                       "roles": list(roles)}},
    }
    ctx_class = type("IdentitySigningContext", (_SettingsSignerContext, c2pa.Context), {})
    s = c2pa.Settings.from_json(json.dumps(settings))
    try:
        return ctx_class(settings=s)
    finally:
        s.close()


def sign_file(src: str | Path, dst: str | Path, chain: TestChain, *, title: str | None = None,
              ingredient: str | Path | None = None, ai: bool = True, generator: str = CLAIM_GENERATOR,
              agent: str = CLAIM_GENERATOR, identity: TestChain | None = None,
              roles: tuple[str, ...] = ("creator",)) -> Path:
    """Sign ``src`` into ``dst`` with the TEST-ONLY ``chain`` (no timestamp authority).

    ``ingredient``: a file (e.g. the reference image) added as ``inputTo`` ingredient; if it
    carries its own manifest, that manifest travels with it and is validated as an ingredient.
    ``identity``: a second TEST-ONLY chain that signs a CAWG identity assertion (X.509, with
    ``roles``) inside the manifest: who vouches for the content. Its leaf must be valid (the
    library's own signer refuses an expired certificate).
    """
    import c2pa

    src, dst = Path(src), Path(dst)
    fmt = mime_of(src)
    definition = manifest_definition(title or dst.name, generator=generator, agent=agent, ai=ai)
    definition["format"] = fmt
    dst.parent.mkdir(parents=True, exist_ok=True)
    # No thumbnails: they would triple the size of our small fixtures and prove nothing.
    if identity is not None:
        ctx = _identity_context(chain, identity, roles)
    else:
        ctx = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Builder(json.dumps(definition), context=ctx) as builder:
        if ingredient is not None:
            ing = Path(ingredient)
            with ing.open("rb") as fh:
                builder.add_ingredient({"title": ing.name, "relationship": "inputTo"}, mime_of(ing), fh)
        with src.open("rb") as fin, dst.open("w+b") as fout:
            if identity is not None:
                builder.sign(fmt, fin, fout)  # the context's signers: the claim's and the identity's
            else:
                with _signer(chain) as signer:
                    builder.sign(signer, fmt, fin, fout)
    ctx.close()
    return dst
