"""Build the one ``ssl.SSLContext`` a session uses for Lean.

Why build it ourselves instead of passing ``cert=``/``verify=`` to requests:
requests hands file *paths* to urllib3, which re-reads and re-parses them for
every new connection, lets ``REQUESTS_CA_BUNDLE`` replace the CA, and never
sends intermediates it was not given in the cert file.  A context built once
from validated material fixes all three and makes new connections cheaper.

``SSLContext.load_cert_chain`` only reads from a path, so the key has to be
presented as a file for an instant.  On Linux that "file" is an anonymous
memory file (``memfd_create``) that never touches a disk.  Elsewhere it is a
0600 temporary file holding the key re-encrypted under a one-time random
password, removed before this module returns.
"""

from __future__ import annotations

import logging
import os
import secrets
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from ._credentials import CABundle, ClientIdentity
from ._secrets import SecretBytes
from .errors import CertificateError

logger = logging.getLogger("lean_mtls")

MINIMUM_TLS_VERSION = ssl.TLSVersion.TLSv1_2


def build_ssl_context(identity: ClientIdentity | None, ca: CABundle | None, *, verify: bool = True) -> ssl.SSLContext:
    """Return a client context: TLS >= 1.2, hostname checked, server verified
    against ``ca`` only (or the system store when no ``ca`` is given), and the
    client chain loaded when ``identity`` is given.

    ``verify=False`` (sandbox only, enforced by the session) turns server
    verification off; the client certificate is still sent."""
    # Not ssl.create_default_context(): that honours SSLKEYLOGFILE, which would
    # let an environment variable write the session keys of bank traffic to disk.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = MINIMUM_TLS_VERSION
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if ca is not None:
        try:
            context.load_verify_locations(cadata=ca.pem())
        except ssl.SSLError as exc:
            raise CertificateError(
                f"The CA bundle {ca.source} was refused by OpenSSL ({exc.reason or exc}).", source=ca.source
            ) from None
        # Lets a bundle that stops at an intermediate (rather than a root) still
        # anchor verification, as Python 3.13's default context does.
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if identity is not None:
        load_client_identity_into(context, identity)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def load_client_identity_into(context: ssl.SSLContext, identity: ClientIdentity) -> None:
    """Load the client chain and key into ``context`` without a plain key on disk."""
    from cryptography.hazmat.primitives import serialization

    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in identity.chain)
    try:
        if _memfd_supported():
            plain_key = SecretBytes(identity.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ))
            with _memory_file(chain_pem + plain_key) as path:
                context.load_cert_chain(path)
        else:
            one_time_password = SecretBytes(secrets.token_urlsafe(32).encode("ascii"))
            key_pem = identity.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(one_time_password),
            )
            with _private_temp_file(chain_pem + key_pem) as path:
                context.load_cert_chain(path, password=one_time_password)
    except ssl.SSLError as exc:
        raise CertificateError(
            f"OpenSSL refused the client certificate or key from {identity.source} "
            f"({exc.reason or exc}). A key that is too small (RSA < 2048 bits) or a certificate "
            "signed with a weak hash is refused by modern OpenSSL; ask Lean for a new certificate.",
            source=identity.source,
        ) from None


def _memfd_supported() -> bool:
    return hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")


@contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    fd = os.memfd_create("lean-mtls-identity", os.MFD_CLOEXEC)
    try:
        _write_all(fd, data)
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


@contextmanager
def _private_temp_file(data: bytes) -> Iterator[str]:
    fd, path = tempfile.mkstemp(prefix="lean-mtls-", suffix=".pem")  # created 0600
    try:
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        yield path
    finally:
        try:
            os.unlink(path)
        except OSError:  # pragma: no cover - only if something else removed it
            logger.debug("temporary identity file already removed")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
