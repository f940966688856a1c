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
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ._credentials import CABundle, ClientIdentity, OpaqueKey, default_ca_bundle
from ._fork import reset_in_child
from ._secrets import SecretBytes
from .errors import CertificateError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

logger = logging.getLogger("lean_mtls")

MINIMUM_TLS_VERSION = ssl.TLSVersion.TLSv1_2


class ResumingSSLContext(ssl.SSLContext):
    """An ``SSLContext`` that resumes TLS sessions with each origin.

    A full mutual-TLS handshake costs signatures and chain verification on
    both sides; resuming a session skips them and roughly halves the cost of a
    new connection.  urllib3 never offers a previous session, so the context
    does: ``wrap_socket`` for ``(host, port)`` offers the last session
    remembered for that same ``(host, port)``.  Sessions are remembered after
    the handshake and again when a connection goes back to the pool, because
    TLS 1.3 tickets arrive only after the handshake.

    Safe by construction: the cache lives in this context, so a session is
    only ever offered with the same client certificate and trust settings that
    established it (a certificate reload builds a new context, hence a new,
    empty cache), and only to the same host and port.
    """

    resumption_enabled = True

    def _cache(self) -> tuple[threading.Lock, dict[tuple[str, int], ssl.SSLSession]]:
        state = self.__dict__.get("_lean_cache")
        if state is None:
            state = self.__dict__.setdefault("_lean_cache", (threading.Lock(), {}))
            reset_in_child(self)
        return state  # type: ignore[no-any-return]

    def reset_after_fork(self) -> None:
        """In a forked child: a fresh cache lock, and no TLS session shared with the parent."""
        self.__dict__.pop("_lean_cache", None)

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        key = _peer_key(sock, server_hostname) if self.resumption_enabled else None
        if session is None and key is not None:
            lock, cache = self._cache()
            with lock:
                session = cache.get(key)
        tls = super().wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )
        if key is not None and do_handshake_on_connect and tls.version() != "TLSv1.3":
            self.remember(key, tls)  # TLS 1.2 sessions exist now; 1.3 tickets come later
        return tls

    def remember(self, key: tuple[str, int], tls: ssl.SSLSocket) -> bool:
        """Keep ``tls``'s session for the next connection to ``key``; True if it can resume.

        Reading ``SSLSocket.session`` serialises the session (hundreds of
        microseconds), so callers do it once per connection, not per request.
        """
        if not self.resumption_enabled:
            return False
        try:
            session = tls.session
            version = tls.version()
        except (OSError, ValueError, AttributeError):
            return False
        if session is None or (version == "TLSv1.3" and not session.has_ticket):
            return False
        lock, cache = self._cache()
        with lock:
            cache[key] = session
        return True

    def forget_sessions(self) -> None:
        lock, cache = self._cache()
        with lock:
            cache.clear()


def session_key(host: str, port: int) -> tuple[str, int]:
    return host.strip("[]").lower(), port


def _peer_key(sock: socket.socket, server_hostname: str | bytes | None) -> tuple[str, int] | None:
    if server_hostname is None:
        return None
    try:
        port = int(sock.getpeername()[1])
    except (OSError, IndexError, TypeError, ValueError):
        return None
    host = server_hostname.decode("ascii") if isinstance(server_hostname, bytes) else server_hostname
    return session_key(host, port)


def build_ssl_context(
    identity: ClientIdentity | None, ca: CABundle | None, *, verify: bool = True, resume: bool = True
) -> ssl.SSLContext:
    """Return a client context: TLS >= 1.2, hostname checked against the
    subjectAltName only (no fallback to the subject CN, RFC 6125 / 9525),
    server verified against ``ca`` only (certifi's bundle when ``ca`` is None;
    never a location named by an environment variable), TLS 1.3 post-handshake
    client authentication offered, and the client chain loaded when
    ``identity`` is given.

    ``verify=False`` (sandbox only, enforced by the session) turns server
    verification off; the client certificate is still sent.  ``resume``
    turns TLS session resumption on (see :class:`ResumingSSLContext`)."""
    # Not ssl.create_default_context(): that honours SSLKEYLOGFILE, which would
    # let an environment variable write the session keys of bank traffic to disk.
    context = ResumingSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.resumption_enabled = resume
    context.minimum_version = MINIMUM_TLS_VERSION
    context.check_hostname = True
    # A certificate naming its host only in the subject CN is refused, as
    # browsers and Python >= 3.7 with OpenSSL do (X509_CHECK_FLAG_NEVER_CHECK_SUBJECT).
    context.hostname_checks_common_name = False
    context.verify_mode = ssl.CERT_REQUIRED
    # Servers such as Apache ask for the client certificate per location, after
    # reading the request (TLS 1.3 post-handshake authentication); the client
    # must announce it can answer, or the server can only refuse.
    context.post_handshake_auth = True
    load_trust_anchors(context, ca if ca is not None else default_ca_bundle())
    if identity is not None:
        load_client_identity_into(context, identity)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def load_trust_anchors(context: ssl.SSLContext, ca: CABundle) -> None:
    """Load ``ca`` into ``context``: every certificate of a ca= file as given
    (OpenSSL is the judge, not our parser), certifi's file, or the system store
    from OpenSSL's compiled-in locations (never SSL_CERT_FILE / SSL_CERT_DIR)."""
    try:
        if ca.kind == "certifi":
            import certifi

            context.load_verify_locations(cafile=certifi.where())
        elif ca.kind == "system":
            _load_system_store(context)
        else:
            context.load_verify_locations(cadata=ca.cadata())
            # Lets a bundle that stops at an intermediate (rather than a root) still
            # anchor verification, as Python 3.13's default context does.
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    except ssl.SSLError as exc:
        raise CertificateError(
            f"The CA bundle {ca.source} was refused by OpenSSL ({exc.reason or exc}).", source=ca.source
        ) from None


def _load_system_store(context: ssl.SSLContext) -> None:
    if sys.platform == "win32":  # the Windows certificate store; no environment variable involved
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        return
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if cafile is None and capath is None:
        raise CertificateError(
            f"ca='system' was given but this system has no trust store at {paths.openssl_cafile!r} or "
            f"{paths.openssl_capath!r}. Pass Lean's chain (lean_public_cert_chain.pem) as ca=.",
            source="the system trust store",
        )
    context.load_verify_locations(cafile=cafile, capath=capath)


def load_client_identity_into(context: ssl.SSLContext, identity: ClientIdentity) -> None:
    """Load the client chain and key into ``context`` without a plain key on disk."""
    from cryptography.hazmat.primitives import serialization

    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in identity.chain)
    chain_pem += b"".join(_der_to_pem(der) for der in identity.extra_der)  # as given, after the chain
    as_given = identity.key_pem
    if isinstance(identity.private_key, OpaqueKey) and not _memfd_supported() and not (
            as_given and b"ENCRYPTED" in as_given and identity.key_password):
        raise CertificateError(
            f"The private key in {identity.source} uses an algorithm only OpenSSL reads "
            f"({identity.private_key.algorithm}); on this platform it must be given encrypted, with "
            "key_password=, so that it never lies on disk in plain text.",
            source=identity.source,
        )
    try:
        if _memfd_supported():
            plain_key = as_given or _plain_pkcs8(identity)
            with _memory_file(chain_pem + b"\n" + plain_key) as path:
                context.load_cert_chain(path, password=identity.key_password if as_given else None)
        elif as_given is not None and b"ENCRYPTED" in as_given and identity.key_password:
            # Already encrypted: the file on disk holds nothing the password does not protect.
            with _private_temp_file(chain_pem + b"\n" + as_given) as path:
                context.load_cert_chain(path, password=identity.key_password)
        else:
            one_time_password = SecretBytes(secrets.token_urlsafe(32).encode("ascii"))
            key_pem = _private_key(identity).private_bytes(
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


#: id-RSASSA-PSS (RFC 4055), DER-encoded OBJECT IDENTIFIER.
_RSASSA_PSS_OID_DER = bytes.fromhex("06092a864886f70d01010a")


def _plain_pkcs8(identity: ClientIdentity) -> bytes:
    """The key as unencrypted PKCS#8 PEM, in the algorithm its certificate names.

    cryptography reads an RSA-PSS key (from PKCS#12 or DER) as a plain RSA key and
    would write it back as rsaEncryption, which OpenSSL then refuses for a
    certificate whose key is id-RSASSA-PSS; the PKCS#1 key is re-wrapped under
    that algorithm instead (no parameters: any PSS parameters allowed).
    """
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import PublicKeyAlgorithmOID

    key = _private_key(identity)
    leaf = identity.chain[0]
    if isinstance(key, rsa.RSAPrivateKey) and leaf.public_key_algorithm_oid == PublicKeyAlgorithmOID.RSASSA_PSS:
        pkcs1 = SecretBytes(key.private_bytes(serialization.Encoding.DER,
                                              serialization.PrivateFormat.TraditionalOpenSSL,
                                              serialization.NoEncryption()))
        der = SecretBytes(_der(0x30, b"\x02\x01\x00" + _der(0x30, _RSASSA_PSS_OID_DER) + _der(0x04, pkcs1)))
        return SecretBytes(b"-----BEGIN PRIVATE KEY-----\n" + base64.encodebytes(der) + b"-----END PRIVATE KEY-----\n")
    return SecretBytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _private_key(identity: ClientIdentity) -> PrivateKeyTypes:
    if isinstance(identity.private_key, OpaqueKey):  # excluded by the caller's checks
        raise CertificateError("This key can only be handed to OpenSSL as given.", source=identity.source)
    return identity.private_key


def key_fits_certificate(cert: x509.Certificate, key_pem: bytes, password: bytes | None) -> bool:
    """Whether OpenSSL accepts ``key_pem`` as the key of ``cert`` (for key types cryptography cannot
    compare).  Never prompts for a password on a terminal: a missing one is an empty one."""
    from cryptography.hazmat.primitives import serialization

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    data = cert.public_bytes(serialization.Encoding.PEM) + b"\n" + key_pem
    secret = password or b""
    try:
        if _memfd_supported():
            with _memory_file(data) as path:
                context.load_cert_chain(path, password=lambda: secret)
        elif b"ENCRYPTED" in key_pem:
            with _private_temp_file(data) as path:
                context.load_cert_chain(path, password=lambda: secret)
        else:
            return False
    except (ssl.SSLError, ValueError):
        return False
    return True


def _der_to_pem(der: bytes) -> bytes:
    import base64

    body = base64.encodebytes(der)
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"


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
