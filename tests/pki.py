"""Certificate material in the many shapes users bring it in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


def private_key(leaf: trustme.LeafCert):  # type: ignore[no-untyped-def]
    return serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)


def certificate(blob: trustme.Blob) -> x509.Certificate:
    return x509.load_pem_x509_certificate(blob.bytes())


def key_bytes(leaf: trustme.LeafCert, form: str, password: bytes | None = None) -> bytes:
    """The leaf's key as ``pkcs8``, ``traditional`` (PKCS#1 / SEC1), ``der``,
    ``pkcs8-encrypted`` or ``traditional-encrypted``."""
    key = private_key(leaf)
    enc: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if form.endswith("-encrypted"):
        assert password is not None
        enc = serialization.BestAvailableEncryption(password)
    if form.startswith("pkcs8"):
        return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, enc)
    if form.startswith("traditional"):
        return key.private_bytes(PEM, serialization.PrivateFormat.TraditionalOpenSSL, enc)
    if form == "der":
        return key.private_bytes(DER, serialization.PrivateFormat.PKCS8, enc)
    raise ValueError(form)


def pkcs12_bytes(leaf: trustme.LeafCert, extra: list[trustme.Blob], password: bytes | None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(
        b"app",
        private_key(leaf),
        certificate(leaf.cert_chain_pems[0]),
        [certificate(b) for b in extra] or None,
        enc,
    )


def issue(ca: trustme.CA, cn: str = "app-1234", *, days_valid: float | None = None,
          starts_in_days: float | None = None, key_type: trustme.KeyType = trustme.KeyType.ECDSA
          ) -> trustme.LeafCert:
    now = dt.datetime.now(dt.timezone.utc)
    not_before = now - dt.timedelta(days=1)
    not_after = now + dt.timedelta(days=365)
    if days_valid is not None:
        not_after = now + dt.timedelta(days=days_valid)
        not_before = min(not_before, not_after - dt.timedelta(days=2))
    if starts_in_days is not None:
        not_before = now + dt.timedelta(days=starts_in_days)
        not_after = not_before + dt.timedelta(days=365)
    return ca.issue_cert(f"{cn}@lean.test", common_name=cn, not_before=not_before,
                         not_after=not_after, key_type=key_type)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
