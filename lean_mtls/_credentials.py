"""Load and check the app's client identity and Lean's CA bundle.

Lean's developer portal hands out three files: the app certificate
(``*_cert.crt``), its private key (``*_private_key.pem``) and Lean's public
chain (``lean_public_cert_chain.pem``).  Teams also receive them as PKCS#12
bundles, as PEM text from a vault, or re-encoded by some tool along the way.
This module accepts all of those, and checks them *before* any network
traffic, because a TLS handshake failure says very little about which file is
wrong, while a parser knows exactly.

Nothing here touches the network or writes to disk.  The private key is kept
only as long as it takes to build an ``ssl.SSLContext``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Union

from ._secrets import SecretBytes
from ._settings import from_env_hint
from .errors import CertificateError, ConfigurationError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from ._inspection import CredentialInspection

logger = logging.getLogger("lean_mtls")

#: A path, or the file's content as bytes (PEM, DER or PKCS#12).
CertSource = Union[str, "os.PathLike[str]", bytes]
#: A ``cert=`` value: one source, or the ``(cert, key)`` pair requests' ``cert=`` takes.
CertOption = Union[CertSource, tuple[CertSource, CertSource]]
#: A password as text or bytes, or a callable returning one (read lazily, e.g. from a vault).
Password = Union[str, bytes, Callable[[], Union[str, bytes]]]

#: ``ca=SYSTEM_TRUST_STORE`` trusts the operating system's store instead of certifi's bundle.
SYSTEM_TRUST_STORE = "system"

#: Warn when the client certificate has fewer days than this left.
EXPIRY_WARNING_DAYS = 30
_warned_expiry: set[str] = set()
_warned_issuers: set[str] = set()

# Tolerant of what editors, vaults, CI variables and Windows do to PEM text: trailing blanks,
# CRLF, line breaks turned into spaces or into a literal backslash-n.
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_PKCS7_LABELS = {b"PKCS7", b"CMS"}


class CertificateInfo(NamedTuple):
    """What a person needs to know about a certificate, and nothing secret."""

    subject: str
    issuer: str
    serial_number: int
    fingerprint_sha256: str
    not_before: dt.datetime
    not_after: dt.datetime

    @property
    def days_left(self) -> int:
        """Whole days until ``not_after``, counted toward zero (negative once expired: -1 a day
        after expiry, 0 within the first day); the count every message uses."""
        return self.days_left_at(utcnow())

    def days_left_at(self, now: dt.datetime) -> int:
        """:attr:`days_left` at ``now`` (an aware datetime)."""
        return whole_days(self.not_after - now)

    def expiry_text(self, now: dt.datetime | None = None) -> str:
        """``"expired 1 day ago"``, ``"expired 20 s ago"``, ``"12 days left"``: one wording for
        the SDK's messages and ``lean-mtls check``."""
        left = self.not_after - (now or utcnow())
        if left < dt.timedelta(0):
            return f"expired {span_text(-left)} ago"
        return f"{span_text(left)} left"

    @classmethod
    def of(cls, cert: x509.Certificate) -> CertificateInfo:
        from cryptography.hazmat.primitives import hashes

        return cls(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial_number=cert.serial_number,
            fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
        )


class CABundle(NamedTuple):
    """The certificates trusted to sign the *server's* certificate.

    Two views of one bundle: ``der`` is every certificate exactly as given, for
    OpenSSL, which is the only party that needs them all (it verifies the
    server).  ``certificates`` are those ``cryptography`` could read, used to
    complete the client chain and to describe the bundle; a certificate the
    parser refuses or warns about (a BER length, a zero or negative serial, as
    in certifi's bundle) is counted in ``unreadable`` and skipped there only.
    """

    certificates: tuple[x509.Certificate, ...]
    source: str
    der: tuple[bytes, ...] = ()
    unreadable: int = 0
    #: ``"file"`` (given as ca=), ``"certifi"`` (the default) or ``"system"`` (ca="system").
    kind: str = "file"

    def cadata(self) -> bytes:
        """Concatenated DER of every certificate, for ``SSLContext.load_verify_locations``."""
        if self.der:
            return b"".join(self.der)
        from cryptography.hazmat.primitives.serialization import Encoding

        return b"".join(c.public_bytes(Encoding.DER) for c in self.certificates)


class ClientIdentity(NamedTuple):
    """The client certificate chain (leaf first) and its private key.

    ``repr`` never shows the key; the object is meant to live only while the
    SSL context is being built.
    """

    chain: tuple[x509.Certificate, ...]
    private_key: AnyKey
    info: CertificateInfo
    source: str
    missing_issuer: str | None
    #: The key's PEM block exactly as given (possibly encrypted), for OpenSSL:
    #: re-encoding through cryptography would lose key types it maps onto others
    #: (an RSA-PSS key becomes a plain RSA key that no longer fits its certificate).
    key_pem: bytes | None = None
    #: The password of ``key_pem``, if any.
    key_password: bytes | None = None
    #: The verdicts (:class:`lean_mtls.CredentialInspection`); nothing secret.
    inspection: CredentialInspection | None = None
    #: Certificates of the cert file cryptography could not read (DER as given): sent after
    #: ``chain`` so OpenSSL, and the server, still get them (a BER-encoded intermediate, say).
    extra_der: tuple[bytes, ...] = ()

    def __repr__(self) -> str:
        return f"ClientIdentity(subject={self.info.subject!r}, source={self.source!r}, key=<redacted>)"


# --------------------------------------------------------------------------- reading


#: What a base64 text (standard or URL-safe alphabet, padding optional) may consist of once
#: whitespace and literal "\\n" sequences are removed.
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")
#: Path-looking text this long or shorter is named in messages; longer text never is.
_MAX_SHOWN_PATH = 255


def _decode_base64_material(data: bytes) -> bytes | None:
    """The PEM or DER inside ``data`` when ``data`` is base64 text of a PEM file
    (``base64 -w0 key.pem``), the bare base64 body of a PEM block, or base64 of
    a DER / PKCS#12 file, with or without line breaks; ``None`` otherwise."""
    import base64
    import binascii

    compact = b"".join(data.replace(b"\\r", b"").replace(b"\\n", b"\n").split())
    if len(compact) < 32 or not _BASE64_TEXT.fullmatch(compact):
        return None
    compact = compact.rstrip(b"=")
    compact += b"=" * (-len(compact) % 4)
    altchars = b"-_" if (b"-" in compact or b"_" in compact) else None
    try:
        decoded = base64.b64decode(compact, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None
    if b"-----BEGIN" in decoded[:256] or (decoded[:1] == b"\x30" and len(decoded) > 32):
        return SecretBytes(decoded)
    return None


def _looks_like_path(text: str) -> bool:
    """Whether ``text`` is shaped like a file path (and so may be named in a message).

    Anything else given as a str is never echoed: it may be a key or a token
    pasted in the wrong place (``key=os.environ["LEAN_KEY"]`` holding base64)."""
    if not text or len(text) > _MAX_SHOWN_PATH or any(c.isspace() or not c.isprintable() for c in text):
        return False
    if "-----" in text:
        return False
    has_separator = "/" in text or "\\" in text
    has_extension = re.search(r"\.[A-Za-z0-9]{1,6}$", text) is not None
    # A long run of base64 characters (no dot, dash or underscore for 40 characters) is key or token
    # material, perhaps damaged, not a path.
    base64_like = re.search(r"[A-Za-z0-9+/=]{40,}", text) is not None
    return (has_separator or has_extension) and not base64_like


def describe_value(text: str) -> str:
    """The shape of a value that is not shown: length, lines, what its first line looks like."""
    lines = text.splitlines() or [""]
    first = lines[0].strip()
    if not first:
        shape = "blank"
    elif first.startswith("-----"):
        shape = "a PEM-style line"
    elif re.fullmatch(r"[A-Za-z0-9+/=_-]+", first):
        shape = f"{len(first)} base64-like characters"
    else:
        shape = f"{len(first)} characters of text"
    return f"a str of {len(text)} characters on {len(lines)} line{'s' if len(lines) != 1 else ''}, first line {shape}"


class _Resolved(NamedTuple):
    label: str
    data: bytes


def _resolve(source: CertSource, what: str) -> _Resolved:
    """Read ``source``: a path, PEM text, base64 text of PEM/DER/PKCS#12, or bytes of any of those.

    Labels for messages are the path, or ``<key bytes>``-style names; never
    the content, and never a str that is not an existing path unless it is
    shaped like one (see :func:`_looks_like_path`)."""
    if isinstance(source, bytes):
        label = f"<{what} bytes>"
        if not source.strip():
            raise CertificateError(f"The {what} given as bytes is empty.", source=label)
        return _Resolved(label, _unwrap(SecretBytes(source)))
    if isinstance(source, str):
        if "-----BEGIN" in source:
            return _Resolved(f"<{what} PEM text>", SecretBytes(source.encode("ascii", "replace")))
        if _is_file(source) or _looks_like_path(source):
            return _read_path(source, what)
        decoded = _decode_base64_material(source.encode("ascii", "replace"))
        if decoded is not None:
            return _Resolved(f"<{what} base64 text>", decoded)
        label = f"<{what} text>"
        raise CertificateError(
            f"The {what} value is neither an existing file nor {what} material: got {describe_value(source)} "
            "(not shown: it is not a path). Pass a path, the PEM text, or base64 of the PEM or DER file.",
            source=label,
            code="missing-conf",
        )
    if isinstance(source, os.PathLike):
        return _read_path(os.fspath(source), what)
    raise ConfigurationError(
        f"{what} must be a file path or the file's content as bytes, got {type(source).__name__}."
    )


def _is_file(text: str) -> bool:
    try:
        return len(text) < 4096 and os.path.exists(text)
    except (OSError, ValueError):  # a NUL byte, a name too long
        return False


def _unwrap(data: bytes) -> bytes:
    """Bytes (or a file's content) holding base64 text instead of PEM/DER: decode it."""
    if b"-----BEGIN" in data or data[:1] == b"\x30":
        return data
    return _decode_base64_material(data) or data


def _read_path(path: str, what: str) -> _Resolved:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise CertificateError(
            f"The {what} file {path!r} does not exist. Check the path "
            f"(relative paths are resolved from {os.getcwd()!r}).",
            source=path,
            code="missing-conf",
        ) from None
    except IsADirectoryError:
        raise CertificateError(f"The {what} path {path!r} is a directory, not a file.", source=path) from None
    except OSError as exc:
        raise CertificateError(
            f"The {what} file {path!r} cannot be read ({exc.strerror}). "
            "Check its permissions for the user running this process.",
            source=path,
        ) from None
    if not data.strip():
        raise CertificateError(f"The {what} file {path!r} is empty.", source=path)
    return _Resolved(path, _unwrap(SecretBytes(data)))  # it may hold a private key: keep it out of reprs


def describe_source(source: CertSource, what: str) -> str:
    """A label for messages: the path, or ``<key bytes>``-style; never the content."""
    return _resolve(source, what).label


def read_source(source: CertSource, what: str) -> bytes:
    """The bytes of ``source`` (see :func:`_resolve`)."""
    return _resolve(source, what).data


def _password_bytes(password: Password | None) -> bytes | None:
    if password is None:
        return None
    if callable(password):
        try:
            password = password()
        except Exception as exc:  # noqa: BLE001 - a vault lookup can fail in any way
            raise CertificateError(
                f"The key_password callable failed ({type(exc).__name__}); check the secret store it reads.",
                code="missing-conf",
            ) from None
    if isinstance(password, str):
        return SecretBytes(password.encode("utf-8"))
    if isinstance(password, bytes):
        return SecretBytes(password)
    raise ConfigurationError("key_password must be str, bytes, or a callable returning one.")


def _pem_blocks(data: bytes) -> list[tuple[bytes, bytes]]:
    """``(label, normalised PEM block)`` pairs: each line stripped, LF endings."""
    if b"\\n" in data:
        data = data.replace(b"\\r", b"").replace(b"\\n", b"\n")
    blocks: list[tuple[bytes, bytes]] = []
    for match in _PEM_BLOCK.finditer(data):
        label, body = match.group(1), match.group(2)
        if b":" in body:  # RFC 1421 headers (legacy encrypted keys): keep the line structure
            lines = [line.strip() for line in body.strip().splitlines()]
        else:  # plain base64: rewrap, whatever whitespace it arrived with
            joined = b"".join(body.split())
            lines = [joined[i : i + 64] for i in range(0, len(joined), 64)]
        pem = b"\n".join([b"-----BEGIN " + label + b"-----", *lines, b"-----END " + label + b"-----", b""])
        blocks.append((label, SecretBytes(pem)))
        del body, lines
    return blocks


def _first_der_element(der: bytes) -> bytes:
    """The first DER element of ``der``: OpenSSL's TRUSTED CERTIFICATE blocks
    append trust settings after the certificate."""
    if len(der) < 2:
        return der
    length = der[1]
    if length < 0x80:
        return der[: 2 + length]
    count = length & 0x7F
    return der[: 2 + count + int.from_bytes(der[2 : 2 + count], "big")]


def _pem_certificate_der(label: bytes, block: bytes) -> bytes:
    """The DER bytes of one certificate PEM block, as given (no re-encoding);
    raises ``ValueError`` when the base64 does not decode."""
    import base64
    import binascii

    body = b"".join(line for line in block.splitlines() if not line.startswith(b"-----"))
    try:
        der = base64.b64decode(body, validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
    if not der:
        raise ValueError("empty certificate block")
    return _first_der_element(der) if label == b"TRUSTED CERTIFICATE" else der


_WARNINGS_LOCK = threading.Lock()


def read_certificate(der: bytes, label: str = "") -> x509.Certificate | None:
    """Parse one DER certificate with ``cryptography``, or ``None`` when it cannot.

    ``cryptography`` is stricter than OpenSSL (DER only, RFC 5280 serials) and
    warns about certificates it will refuse one day.  Such a certificate is not
    an error of ours: OpenSSL still gets it, only chain building and reports
    skip it.  No warning escapes to the caller (``-W error`` would turn it into
    an exception in the constructor); the skip is logged at DEBUG.
    """
    import warnings

    from cryptography import x509

    # catch_warnings swaps process-wide state; two threads inside it at once would restore each
    # other's filters and leave "always" installed for good, so parses take turns.
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = x509.load_der_x509_certificate(der)
            # Parsed lazily by cryptography: touch what chain building and reports read.
            parsed.subject, parsed.issuer, parsed.extensions, parsed.serial_number  # noqa: B018
            parsed.not_valid_before_utc, parsed.not_valid_after_utc  # noqa: B018
            cert: x509.Certificate | None = parsed
            problem = "; ".join(str(w.message) for w in caught)
        except Exception as exc:  # noqa: BLE001 - ValueError and backend errors alike
            cert, problem = None, f"{type(exc).__name__}: {exc}"
    if problem:
        logger.debug("A certificate (%d bytes) in %s is skipped for chain building and reports (%s); "
                     "OpenSSL still receives it.", len(der), label or "a bundle", problem)
        return None
    return cert


# --------------------------------------------------------------------------- parsing


class OpaqueKey:
    """A PEM private key whose algorithm ``cryptography`` does not support (RSA-PSS before
    cryptography 43, SM2, ...).  OpenSSL, which signs with it, reads it as given and is the
    judge of whether it fits the certificate; nothing here can print it."""

    __slots__ = ("algorithm",)

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm

    def __repr__(self) -> str:
        return "OpaqueKey(<redacted>)"


#: A key cryptography could read, or one only OpenSSL can.
AnyKey = Union["PrivateKeyTypes", OpaqueKey]


def _load_private_key(block: bytes, *, pem: bool, password: bytes | None, label: str) -> AnyKey:
    """Parse one key, turning cryptography's errors into advice."""
    from cryptography.hazmat.primitives import serialization

    # OpenSSL's RSA consistency check takes ~40 ms per key; it guards against
    # keys crafted by an attacker, not against the app's own key file.  The key
    # is still matched against the certificate here and loaded by OpenSSL's
    # load_cert_chain, which refuses a key that does not fit.
    def load(pw: bytes | None) -> PrivateKeyTypes:
        if pem and b"OPENSSH PRIVATE KEY" in block:
            return serialization.load_ssh_private_key(block, pw)
        if pem:
            return serialization.load_pem_private_key(block, pw, unsafe_skip_rsa_key_validation=True)
        return serialization.load_der_private_key(block, pw, unsafe_skip_rsa_key_validation=True)

    try:
        return load(password)
    except TypeError as exc:
        text = str(exc).lower()
        if "not encrypted" in text:
            # A password was configured but this key has none: that is fine.
            return load(None)
        if "encrypted" in text or "password" in text:
            raise CertificateError(
                f"The private key in {label} is encrypted: pass key_password= "
                f"({from_env_hint('key_password')}).",
                source=label,
                code="missing-conf",
            ) from None
        raise CertificateError(f"The private key in {label} cannot be used: {exc}.", source=label) from None
    except ValueError as exc:
        if password is not None and ("decrypt" in str(exc).lower() or "password" in str(exc).lower()):
            raise CertificateError(
                f"Could not decrypt the private key in {label}: key_password is wrong.",
                source=label,
            ) from None
        raise CertificateError(
            f"{label} does not hold a private key this SDK can read (PKCS#8, PKCS#1 'RSA PRIVATE KEY', "
            "SEC1 'EC PRIVATE KEY', OpenSSH, PEM or DER). Use the *_private_key.pem file from Lean's "
            "developer portal.",
            source=label,
        ) from None
    except Exception as exc:  # noqa: BLE001 - UnsupportedAlgorithm and other backend errors
        from cryptography.exceptions import UnsupportedAlgorithm

        if pem and isinstance(exc, UnsupportedAlgorithm) and b"OPENSSH" not in block:
            return OpaqueKey(str(exc))  # OpenSSL may well support it: it decides when the context is built
        raise CertificateError(
            f"The private key in {label} uses an unsupported format or algorithm ({type(exc).__name__}).",
            source=label,
        ) from None


class _Parsed(NamedTuple):
    certificates: list[x509.Certificate]
    key: AnyKey | None
    label: str
    #: Every certificate as given (DER), readable or not: what OpenSSL gets.
    der: tuple[bytes, ...] = ()
    #: How many of ``der`` cryptography could not read (skipped in ``certificates``).
    unreadable: int = 0
    #: The private key's PEM block as given, when the key came as PEM OpenSSL reads.
    key_pem: bytes | None = None
    #: The DER of the certificates cryptography could not read, as given.
    unreadable_der: tuple[bytes, ...] = ()


def _parse_pem(data: bytes, label: str, password: bytes | None, what: str) -> _Parsed:
    certs: list[x509.Certificate] = []
    ders: list[bytes] = []
    unreadable: list[bytes] = []
    key: AnyKey | None = None
    key_pem: bytes | None = None
    for kind, block in _pem_blocks(data):
        if kind in _PKCS7_LABELS:
            from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

            try:
                found = pkcs7.load_pem_pkcs7_certificates(block)
            except ValueError:
                raise CertificateError(f"{label} holds a PKCS#7 block that cannot be read.", source=label) from None
            certs.extend(found)
            ders.extend(c.public_bytes(Encoding.DER) for c in found)
        elif kind in _CERT_LABELS:
            try:
                der = _pem_certificate_der(kind, block)
            except ValueError:
                raise CertificateError(
                    f"{label} contains a damaged certificate block (its base64 does not decode). "
                    f"Download the {what} again.",
                    source=label,
                ) from None
            ders.append(der)
            cert = read_certificate(der, label)
            if cert is not None:
                certs.append(cert)
            else:
                unreadable.append(der)
        elif kind.endswith(b"PRIVATE KEY") and key is None:
            key = _load_private_key(block, pem=True, password=password, label=label)
            key_pem = None if kind == b"OPENSSH PRIVATE KEY" else block  # OpenSSL cannot read OpenSSH keys
    return _Parsed(certs, key, label, tuple(ders), len(unreadable), key_pem, tuple(unreadable))


def _parse_binary(data: bytes, label: str, password: bytes | None, what: str) -> _Parsed:
    """DER certificate, DER key, or PKCS#12 bundle."""
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    cert = read_certificate(data, label) if what != "key" else None
    if cert is not None:
        return _Parsed([cert], None, label, (data,))
    if what == "key":
        return _Parsed([], _load_private_key(data, pem=False, password=password, label=label), label)
    attempts = [password] if password is not None else [None, b""]
    for attempt in attempts:
        try:
            key, leaf, extra = pkcs12.load_key_and_certificates(data, attempt)
        except ValueError:
            continue
        except Exception:  # noqa: BLE001 - unsupported PKCS#12 algorithms
            break
        certs = ([leaf] if leaf is not None else []) + list(extra)
        return _Parsed(certs, key, label, tuple(c.public_bytes(Encoding.DER) for c in certs))
    if what == "CA bundle" and data[:1] == b"\x30":
        # One DER certificate cryptography cannot read (a BER length, say): OpenSSL is the judge.
        return _Parsed([], None, label, (data,), 1)
    if password is None:
        hint = ("If it is a PKCS#12 (.p12/.pfx) bundle, pass its password as key_password= "
                f"({from_env_hint('key_password')}).")
    else:
        hint = "If it is a PKCS#12 (.p12/.pfx) bundle, key_password is wrong."
    raise CertificateError(
        f"{label} is neither PEM, DER nor a readable PKCS#12 bundle. {hint} "
        f"Otherwise use the {what} file downloaded from Lean's developer portal.",
        source=label,
    )


def _parse(source: CertSource, what: str, password: bytes | None) -> _Parsed:
    label, data = _resolve(source, what)
    if b"-----BEGIN" in data:
        parsed = _parse_pem(data, label, password, what)
        if not parsed.der and parsed.key is None:
            raise CertificateError(
                f"{label} contains PEM data but no certificate or private key block.", source=label
            )
        return parsed
    return _parse_binary(data, label, password, what)


# --------------------------------------------------------------------------- checks


def _public_key_der(obj: object) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public_key = obj.public_key()  # type: ignore[attr-defined]
    data: bytes = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return data


def _same_name(a: x509.Name, b: x509.Name) -> bool:
    # RFC 5280 name matching is case-insensitive and whitespace-folding, as is OpenSSL's.
    return a == b or " ".join(a.rfc4514_string().casefold().split()) == " ".join(
        b.rfc4514_string().casefold().split()
    )


def _is_self_issued(cert: x509.Certificate) -> bool:
    return _same_name(cert.issuer, cert.subject)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if not _same_name(cert.issuer, issuer.subject):
        return False
    try:
        if cert.issuer == issuer.subject:
            cert.verify_directly_issued_by(issuer)
        else:  # names equal only under RFC 5280 matching, which cryptography does not apply
            _verify_signature(cert, issuer)
    except Exception:  # noqa: BLE001 - InvalidSignature, ValueError, TypeError alike mean "no"
        return False
    return True


def _verify_signature(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    """Check ``cert``'s signature with ``issuer``'s key; raises when it does not verify."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    key = issuer.public_key()
    data, signature = cert.tbs_certificate_bytes, cert.signature
    if isinstance(key, rsa.RSAPublicKey):
        padding = cert.signature_algorithm_parameters
        key.verify(signature, data, padding, cert.signature_hash_algorithm)  # type: ignore[arg-type]
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(cert.signature_hash_algorithm))  # type: ignore[arg-type]
    elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        key.verify(signature, data)
    else:
        raise TypeError(f"unsupported issuer key {type(key).__name__}")


def utcnow() -> dt.datetime:
    """The clock every validity verdict reads (tests replace it; no verdict reads the wall clock directly)."""
    return dt.datetime.now(dt.timezone.utc)


def valid_at(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def find_issuer(
    cert: x509.Certificate, pool: Sequence[x509.Certificate], now: dt.datetime | None = None
) -> x509.Certificate | None:
    """The certificate in ``pool`` that issued ``cert``, preferring one valid at ``now``.

    Re-issued CA certificates keep their name and key, so a bundle can hold an
    expired and a current copy that both "issue" the leaf; the server accepts
    only the current one.  Among several, the one valid now with the latest
    ``notAfter`` wins; an expired copy is used only when nothing else fits.
    """
    candidates = [c for c in pool if c is not cert and _issued_by(cert, c)]
    if not candidates:
        return None
    when = now or utcnow()
    return max(candidates, key=lambda c: (valid_at(c, when), c.not_valid_after_utc))


def complete_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], now: dt.datetime | None = None
) -> tuple[tuple[x509.Certificate, ...], str | None]:
    """Return ``(leaf, intermediates in issuer order)`` and the subject of the
    first issuer that could not be found, if any.

    Servers (Go's, for one) only see the certificates the client sends, so
    every intermediate between the leaf and a root must be sent; the root
    itself is not sent because the server must already trust it.  Where
    several copies of an issuer exist, the one valid at ``now`` is chosen
    (see :func:`find_issuer`).
    """
    when = now or utcnow()
    chain = [leaf]
    current = leaf
    seen = {leaf.tbs_certificate_bytes}
    while not _is_self_issued(current):
        issuer = find_issuer(current, pool, when)
        if issuer is None:
            return tuple(chain), current.issuer.rfc4514_string()
        if _is_self_issued(issuer):
            break
        key = issuer.tbs_certificate_bytes
        if key in seen or len(chain) > 10:
            break  # a loop of cross-signed certificates; what we have is the best chain
        seen.add(key)
        chain.append(issuer)
        current = issuer
    return tuple(chain), None


def whole_days(span: dt.timedelta) -> int:
    """Whole days in ``span``, toward zero (``timedelta.days`` floors: -1 s would be -1 day)."""
    return int(span.total_seconds() / 86400)


def span_text(span: dt.timedelta) -> str:
    """A non-negative span for people: ``"1 day"``, ``"3 days"``, ``"4 min 10 s"``, ``"20 s"``."""
    seconds = int(abs(span.total_seconds()))
    if seconds >= 86400:
        days = seconds // 86400
        return f"{days} day" if days == 1 else f"{days} days"
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def warn_if_expiring(info: CertificateInfo, label: str, now: dt.datetime | None = None) -> None:
    """Log, once per process and certificate, that fewer than 30 days remain
    (or that the certificate has expired while the process was running)."""
    now = now or utcnow()
    days = whole_days(info.not_after - now)
    if days >= EXPIRY_WARNING_DAYS:
        return
    key = info.fingerprint_sha256 + (":expired" if now > info.not_after else "")
    if key in _warned_expiry:
        return
    _warned_expiry.add(key)  # once per process, not once per session, reload or request
    if now > info.not_after:
        logger.error(
            "The Lean client certificate %s (%s) expired on %s UTC: Lean will refuse it. Generate a new "
            "one in Lean's developer portal and call reload_certificates().",
            info.subject,
            label,
            f"{info.not_after:%Y-%m-%d}",
        )
        return
    logger.warning(
        "The Lean client certificate %s (%s) expires on %s UTC, in %d days: "
        "generate a new one in Lean's developer portal.",
        info.subject,
        label,
        f"{info.not_after:%Y-%m-%d}",
        days,
    )


# --------------------------------------------------------------------------- public loaders


def default_ca_bundle() -> CABundle:
    """The trust anchors used when no ``ca=`` is given: certifi's bundle, as
    requests uses by default, read from ``certifi.where()`` and never from an
    environment variable (``SSL_CERT_FILE``, ``SSL_CERT_DIR``,
    ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` are all ignored)."""
    import certifi

    return CABundle((), f"certifi's CA bundle ({certifi.where()})", kind="certifi")


def system_ca_bundle() -> CABundle:
    """The operating system's trust store, chosen explicitly with ``ca="system"``.

    OpenSSL's compiled-in locations are read directly, so ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` cannot point it elsewhere (on Windows, the system store)."""
    return CABundle((), "the system trust store", kind="system")


def load_ca_bundle(source: CertSource) -> CABundle:
    """Load the CA certificates that must sign the server's certificate.

    ``SYSTEM_TRUST_STORE`` (``"system"``) selects the operating system's store;
    pass ``"./system"`` for a file of that name."""
    if isinstance(source, str) and source == SYSTEM_TRUST_STORE:
        return system_ca_bundle()
    parsed = _parse(source, "CA bundle", None)
    if parsed.key is not None:
        raise CertificateError(
            f"The CA bundle {parsed.label} contains a private key. ca= must be Lean's public "
            "certificate chain (lean_public_cert_chain.pem); the key belongs in key=. "
            "Treat that key as leaked if this file was shared.",
            source=parsed.label,
        )
    if not parsed.der:
        raise CertificateError(f"The CA bundle {parsed.label} contains no certificate.", source=parsed.label)
    return CABundle(tuple(parsed.certificates), parsed.label, parsed.der, parsed.unreadable)


def split_cert_pair(cert: CertOption, key: CertSource | None) -> tuple[CertSource, CertSource | None]:
    """Accept requests' spelling ``cert=(cert_path, key_path)`` as well as ``cert=..., key=...``."""
    if isinstance(cert, (tuple, list)):
        if len(cert) != 2:
            raise ConfigurationError(
                f"cert= as a tuple must be (certificate, key), as in requests; got {len(cert)} items.")
        if key is not None:
            raise ConfigurationError("Give the key either in cert=(certificate, key) or as key=, not both.")
        return cert[0], cert[1]
    return cert, key


def load_client_identity(
    cert: CertOption,
    key: CertSource | None = None,
    password: Password | None = None,
    ca: CABundle | None = None,
    *,
    now: dt.datetime | None = None,
    pair: bool = False,
) -> ClientIdentity:
    """Load, match, complete and check the client certificate and key.

    ``cert`` may hold the certificate (and optionally its chain and key) as
    PEM or DER, or be a PKCS#12 bundle holding all of them.  The verdicts are
    those of :func:`lean_mtls.inspect_credentials`: fatal findings (key
    mismatch, expired, not yet valid beyond the clock-skew tolerance) raise
    :class:`CertificateError`; other problems (incomplete chain, no
    clientAuth usage, an expired intermediate) and a tolerated clock skew are
    reported with ``warnings.warn`` (:class:`~lean_mtls.errors.CertificateWarning`)
    and the log, and kept on the identity for later error messages.
    """
    from ._inspection import examine

    pair = pair or isinstance(cert, (tuple, list))  # ``pair``: the caller split cert=(certificate, key)
    cert, key = split_cert_pair(cert, key)
    pw = _password_bytes(password)
    parsed_cert = _parse(cert, "certificate", pw)
    parsed_key = _parse(key, "key", pw) if key is not None else None
    examined = examine(parsed_cert, parsed_key, ca, now=now, password=pw, pair=pair)
    inspection = examined.inspection
    label = inspection.certificate_source
    for finding in inspection.fatal:
        raise CertificateError(finding.message, source=label)
    for finding in inspection.problems + inspection.warnings:
        if finding.code in {"expiring", "ca-expired"}:
            continue  # said by warn_if_expiring (once per process) and by check
        _warn(finding.message)
    for finding in inspection.notes:
        if finding.code == "chain-ends-at-intermediate" and finding.message not in _warned_issuers:
            _warned_issuers.add(finding.message)  # a root above an intermediate: say it once per process
            logger.info("%s", finding.message)
    warn_if_expiring(inspection.certificate, label, inspection.checked_at)
    key_pem = parsed_key.key_pem if parsed_key is not None else parsed_cert.key_pem
    return ClientIdentity(examined.chain, examined.private_key, inspection.certificate, label,
                          inspection.missing_issuer, key_pem, pw if key_pem is not None else None, inspection,
                          parsed_cert.unreadable_der)


def _warn(message: str) -> None:
    import warnings

    from .errors import CertificateWarning

    logger.warning("%s", message)
    # stacklevel 4: _warn <- load_client_identity <- LeanSession.__init__ / reload_certificates <- caller
    warnings.warn(message, CertificateWarning, stacklevel=4)
