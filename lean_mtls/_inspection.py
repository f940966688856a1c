"""One inspection of the app's credentials, shared by the session and ``lean-mtls check``.

The session refuses or warns, and the doctor prints a report, from the *same*
verdicts computed here, so the two cannot disagree: identity, validity (with
a small clock-skew tolerance), key match, the clientAuth usage, and the chain
that will be sent, with where each intermediate came from.  Nothing here
touches the network, and nothing secret is kept in the result: it can be
printed, logged or serialised as is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ._credentials import (
    EXPIRY_WARNING_DAYS,
    AnyKey,
    CABundle,
    CertificateInfo,
    CertOption,
    CertSource,
    OpaqueKey,
    Password,
    _is_self_issued,
    _issued_by,
    _Parsed,
    _public_key_der,
    complete_chain,
    find_issuer,
    span_text,
    valid_at,
    whole_days,
)

if TYPE_CHECKING:
    from cryptography import x509

#: How far a certificate's ``notBefore`` may lie in the future and still be accepted (with a
#: warning). Clocks of containers and VMs drift by minutes; a certificate downloaded moments ago
#: must still work, as Lean's server (the real verifier, on a synchronised clock) accepts it.
#: Five minutes is the customary tolerance of PKI tools (Kerberos, step-ca, cert-manager backdating).
CLOCK_SKEW_TOLERANCE = dt.timedelta(minutes=5)

#: ``CredentialInspection.validity`` values.
VALID = "valid"
EXPIRING = "expiring"
EXPIRED = "expired"
NOT_YET_VALID = "not-yet-valid"
CLOCK_SKEW = "clock-skew"

#: CredentialFinding codes that make the session refuse the credentials.
FATAL_CODES = frozenset({"key-mismatch", "expired", "not-yet-valid"})
#: Problems with the CA bundle (verifying the *server*), named when server verification fails.
CA_PROBLEM_CODES = frozenset({"ca-not-a-ca"})


class CredentialFinding(NamedTuple):
    """One verdict: a stable ``code`` and a message naming the problem and the fix."""

    code: str
    message: str


class ChainCertificate(NamedTuple):
    """One certificate of the client chain, and where it came from."""

    info: CertificateInfo
    #: ``"cert file"``, ``"key file"`` or ``"CA bundle"``.
    source: str
    #: Whether it is within its validity period at the time of the inspection.
    valid_now: bool


class CAInspection(NamedTuple):
    """The trust anchors that verify the *server*."""

    source: str
    #: ``"file"`` (ca= given), ``"certifi"`` (the default) or ``"system"`` (ca="system").
    kind: str
    #: Certificates handed to OpenSSL (0 for certifi and system: read by OpenSSL itself).
    certificates: int
    #: Of those, how many ``cryptography`` could not read (skipped for chain completion only).
    unreadable: int
    #: Subjects of the self-signed roots in the bundle.
    roots: tuple[str, ...]
    #: ``(subject, issuer)`` of bundle certificates whose issuer is not in the bundle.
    ends_at: tuple[tuple[str, str], ...]
    #: Subjects of the bundle's expired certificates.
    expired: tuple[str, ...]


class CredentialInspection(NamedTuple):
    """What :func:`inspect_credentials` found; the same verdicts the session acts on.

    ``problems`` make a server refuse the certificate (the session refuses
    those in :data:`FATAL_CODES` itself and names the others in a later
    handshake error); ``warnings`` work today but need attention; ``notes``
    are informational.
    """

    certificate: CertificateInfo
    certificate_source: str
    key_source: str
    key_matches: bool
    #: One of ``"valid"``, ``"expiring"``, ``"expired"``, ``"not-yet-valid"``, ``"clock-skew"``.
    validity: str
    #: How far ``notBefore`` is ahead of the clock when within :data:`CLOCK_SKEW_TOLERANCE`.
    clock_skew: dt.timedelta | None
    #: False when an Extended Key Usage leaves out clientAuth; None when there is no EKU (any use).
    client_auth: bool | None
    #: The chain the session sends: leaf first, then intermediates in issuer order.
    chain: tuple[ChainCertificate, ...]
    chain_complete: bool
    #: Subject of the first issuer found neither in the cert file nor in the CA bundle.
    missing_issuer: str | None
    #: The root above the chain when it was found (never sent).
    root: ChainCertificate | None
    ca: CAInspection
    problems: tuple[CredentialFinding, ...]
    warnings: tuple[CredentialFinding, ...]
    notes: tuple[CredentialFinding, ...]
    #: The clock reading every verdict used.
    checked_at: dt.datetime

    @property
    def ok(self) -> bool:
        """True when nothing would make a server refuse the certificate."""
        return not self.problems

    @property
    def fatal(self) -> tuple[CredentialFinding, ...]:
        """The problems the session refuses at construction."""
        return tuple(p for p in self.problems if p.code in FATAL_CODES)

    @property
    def known_problems(self) -> tuple[str, ...]:
        """Non-fatal problems a server rejection would most likely be caused by (and a chain that
        may be incomplete); what a later handshake-rejection error names."""
        found = [p for p in self.problems if p.code not in FATAL_CODES and p.code not in CA_PROBLEM_CODES]
        found += [w for w in self.warnings if w.code == "chain-maybe-incomplete"]
        messages = [p.message for p in found]
        if self.validity == CLOCK_SKEW:  # tolerated here; a server whose clock is right refuses it
            messages += [
                f"The certificate is not valid before {_fmt(self.certificate.not_before)}, a server with a "
                f"correct clock refuses it until then. {w.message}"
                for w in self.warnings if w.code == CLOCK_SKEW
            ]
        return tuple(messages)

    @property
    def ca_problems(self) -> tuple[str, ...]:
        """Problems with the CA bundle: what a later server-verification failure names."""
        return tuple(p.message for p in self.problems if p.code in CA_PROBLEM_CODES)


# --------------------------------------------------------------------------- public entry point


def inspect_credentials(
    cert: CertOption,
    key: CertSource | None = None,
    ca: CertSource | None = None,
    key_password: Password | None = None,
    *,
    now: dt.datetime | None = None,
    warn_days: int = EXPIRY_WARNING_DAYS,
) -> CredentialInspection:
    """Inspect the client certificate, key and CA bundle without any network.

    Takes the same values as :class:`~lean_mtls.LeanSession`: ``cert`` a path
    or content (PEM, DER, PKCS#12, base64 of those) or a ``(cert, key)``
    pair; ``ca`` a bundle, ``"system"``, or None for certifi's bundle; ``now``
    an aware datetime (default: the current UTC time); ``warn_days`` days of
    validity below which expiry is a warning.

    Returns a :class:`CredentialInspection`; credential faults (expired, key
    mismatch, incomplete chain, no clientAuth) are findings in it, not
    exceptions.  Raises :class:`~lean_mtls.CertificateError` only when a file
    cannot be read or holds no certificate or key at all, and
    :class:`~lean_mtls.ConfigurationError` for values of the wrong type.
    """
    from ._credentials import _parse, _password_bytes, load_ca_bundle, split_cert_pair

    pair = isinstance(cert, (tuple, list))
    cert, key = split_cert_pair(cert, key)
    bundle = load_ca_bundle(ca) if ca is not None else None
    pw = _password_bytes(key_password)
    parsed_cert = _parse(cert, "certificate", pw)
    parsed_key = _parse(key, "key", pw) if key is not None else None
    return examine(parsed_cert, parsed_key, bundle, now=now, warn_days=warn_days, password=pw,
                   pair=pair).inspection


# --------------------------------------------------------------------------- the examination


class Examined(NamedTuple):
    """The inspection plus what building an SSL context needs (private; holds the key)."""

    inspection: CredentialInspection
    chain: tuple[x509.Certificate, ...]
    private_key: AnyKey

    def __repr__(self) -> str:
        return f"Examined({self.inspection.certificate.subject!r}, key=<redacted>)"


#: The only curves TLS 1.3 signature schemes name for ECDSA (RFC 8446 section 4.2.3).
_TLS13_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})


def _curve_tls13_cannot_sign(private_key: Any) -> str | None:
    """The name of ``private_key``'s EC curve when TLS 1.3 has no signature scheme for it
    (brainpool, secp256k1, ...), else ``None``."""
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.name not in _TLS13_CURVES:
        return str(private_key.curve.name)
    return None


def _swapped(pair: bool) -> str:
    if pair:  # the user wrote cert=(a, b), not key=
        return " The pair cert=(...) looks swapped: its order is (certificate, key), as in requests."
    return " cert= and key= look swapped."


def examine(
    parsed_cert: _Parsed,
    parsed_key: _Parsed | None,
    bundle: CABundle | None,
    *,
    now: dt.datetime | None = None,
    warn_days: int = EXPIRY_WARNING_DAYS,
    password: bytes | None = None,
    pair: bool = False,
) -> Examined:
    from . import _credentials
    from .errors import CertificateError

    now = now or _credentials.utcnow()  # looked up on the module: tests (and only tests) replace the clock
    label = parsed_cert.label
    private_key = parsed_key.key if parsed_key is not None else parsed_cert.key
    key_label = parsed_key.label if parsed_key is not None else label
    if not parsed_cert.certificates:
        swapped = parsed_key is not None and parsed_key.certificates
        if parsed_cert.der and not swapped:
            raise CertificateError(
                f"{label} holds a certificate this SDK cannot read (it is not valid DER). "
                "Download the certificate again from Lean's developer portal.",
                source=label,
            )
        raise CertificateError(
            f"{label} contains no certificate."
            + (_swapped(pair) if swapped else " cert= must be the *_cert.crt file."),
            source=label,
        )
    if private_key is None:
        if parsed_key is not None:
            raise CertificateError(
                f"{parsed_key.label} contains no private key. key= must be the *_private_key.pem file.",
                source=parsed_key.label,
            )
        raise CertificateError(
            f"{label} holds no private key: pass key= (the *_private_key.pem file from Lean's "
            "developer portal) or a PKCS#12 bundle as cert=.",
            source=label,
            code="missing-conf",
        )

    problems: list[CredentialFinding] = []
    warnings: list[CredentialFinding] = []
    notes: list[CredentialFinding] = []

    key_pem = parsed_key.key_pem if parsed_key is not None else parsed_cert.key_pem
    fits = _key_matcher(private_key, key_pem, password)
    leaf = next((c for c in parsed_cert.certificates if fits(c)), None)
    key_matches = leaf is not None
    if leaf is None:
        non_ca = [c for c in parsed_cert.certificates if not _is_self_issued(c)]
        leaf = (non_ca or parsed_cert.certificates)[0]
        problems.append(CredentialFinding(
            "key-mismatch",
            f"The private key in {key_label} does not match the certificate in {label}. Use the key "
            "generated together with this certificate (the files from one 'generate new certificate' "
            "download belong together).",
        ))
    info = CertificateInfo.of(leaf)
    validity, skew = _validity(info, label, now, warn_days, problems, warnings)
    client_auth = _client_auth_allowed(leaf)
    if client_auth is False:
        problems.append(CredentialFinding(
            "no-client-auth",
            f"The certificate {info.subject!r} is not allowed for TLS client authentication (its Extended "
            "Key Usage leaves out clientAuth), so servers refuse it: it is not a client certificate (a "
            "server certificate?). Use the app certificate from Lean's developer portal.",
        ))

    curve = _curve_tls13_cannot_sign(private_key)
    if curve is not None:
        problems.append(CredentialFinding(
            "key-curve-not-tls13",
            f"The private key in {key_label} is on the EC curve {curve}, which TLS 1.3 cannot sign with "
            "(RFC 8446 allows ECDSA only on secp256r1, secp384r1 and secp521r1): OpenSSL loads the key, but "
            "under TLS 1.3 it sends no usable client certificate and the server refuses the connection. Ask "
            "for a certificate on P-256 or P-384 (or an RSA key).",
        ))

    in_cert_file = {c.tbs_certificate_bytes for c in parsed_cert.certificates}
    in_key_file = {c.tbs_certificate_bytes for c in parsed_key.certificates} if parsed_key is not None else set()
    bundle_certs = list(bundle.certificates) if bundle is not None else []
    key_file_certs = [c for c in parsed_key.certificates if c.tbs_certificate_bytes not in in_cert_file] if (
        parsed_key is not None) else []
    pool = [c for c in parsed_cert.certificates if c is not leaf] + key_file_certs + bundle_certs

    def origin(c: x509.Certificate) -> str:
        tbs = c.tbs_certificate_bytes
        return "cert file" if tbs in in_cert_file else "key file" if tbs in in_key_file else "CA bundle"

    chain, missing = complete_chain(leaf, pool, now)
    entries = tuple(ChainCertificate(CertificateInfo.of(c), "cert file" if c is leaf else origin(c),
                                     valid_at(c, now)) for c in chain)
    root = _root_of(chain, missing, pool, leaf, origin, now)
    _chain_findings(chain, entries, missing, label, bundle, problems, notes)
    if parsed_cert.unreadable_der:
        _unreadable_in_cert_file(len(parsed_cert.unreadable_der), label, problems, warnings, notes)

    ca_inspection = _inspect_ca(bundle, now, warnings, notes)
    _ca_without_ca(bundle, parsed_cert.certificates, problems)
    inspection = CredentialInspection(
        certificate=info,
        certificate_source=label,
        key_source=key_label,
        key_matches=key_matches,
        validity=validity,
        clock_skew=skew,
        client_auth=client_auth,
        chain=entries,
        chain_complete=missing is None,
        missing_issuer=missing,
        root=root,
        ca=ca_inspection,
        problems=tuple(problems),
        warnings=tuple(warnings),
        notes=tuple(notes),
        checked_at=now,
    )
    return Examined(inspection, chain, private_key)


def _key_matcher(
    private_key: AnyKey, key_pem: bytes | None, password: bytes | None
) -> Callable[[x509.Certificate], bool]:
    """``certificate -> bool``: does the key belong to it?  Compared by public key where
    cryptography reads both; otherwise OpenSSL (the party that uses them) decides."""
    key_der = None if isinstance(private_key, OpaqueKey) else _public_key_der(private_key)

    def fits(cert: x509.Certificate) -> bool:
        try:
            cert_der: bytes | None = _public_key_der(cert)
        except Exception:  # noqa: BLE001 - UnsupportedAlgorithm: a key type cryptography does not know
            cert_der = None
        if key_der is not None and cert_der is not None:
            return key_der == cert_der
        if key_pem is None:
            return False
        from ._tls import key_fits_certificate

        return key_fits_certificate(cert, key_pem, password)

    return fits


def _validity(
    info: CertificateInfo, label: str, now: dt.datetime, warn_days: int,
    problems: list[CredentialFinding], warnings: list[CredentialFinding],
) -> tuple[str, dt.timedelta | None]:
    if now < info.not_before:
        ahead = info.not_before - now
        if ahead <= CLOCK_SKEW_TOLERANCE:
            warnings.append(CredentialFinding(
                "clock-skew",
                f"The client certificate in {label} becomes valid only at {_fmt(info.not_before)}, "
                f"{_fmt_span(ahead)} after this machine's clock ({_fmt(now)}). That is within the "
                f"{_fmt_span(CLOCK_SKEW_TOLERANCE)} clock-skew tolerance, so it is used: the clock here is "
                "probably behind; synchronise it (NTP).",
            ))
            return CLOCK_SKEW, ahead
        problems.append(CredentialFinding(
            "not-yet-valid",
            f"The client certificate in {label} is not valid until {_fmt(info.not_before)} "
            f"({_fmt_span(ahead)} from this machine's clock, {_fmt(now)}; more than the "
            f"{_fmt_span(CLOCK_SKEW_TOLERANCE)} skew tolerance). Check the system clock, or wait until "
            "the certificate becomes valid.",
        ))
        return NOT_YET_VALID, None
    if now > info.not_after:
        problems.append(CredentialFinding(
            "expired",
            f"The client certificate in {label} expired on {_fmt(info.not_after)} "
            f"({info.expiry_text(now)}). "
            "Generate a new certificate in Lean's developer portal (Authentication section).",
        ))
        return EXPIRED, None
    days_left = whole_days(info.not_after - now)
    if days_left < warn_days:
        warnings.append(CredentialFinding(
            "expiring",
            f"The client certificate expires on {_fmt(info.not_after)}, in {span_text(info.not_after - now)} "
            f"(less than "
            f"{warn_days}): generate a new one in Lean's developer portal and roll it out.",
        ))
        return EXPIRING, None
    return VALID, None


def _chain_findings(
    chain: Sequence[x509.Certificate], entries: Sequence[ChainCertificate], missing: str | None, label: str,
    bundle: CABundle | None, problems: list[CredentialFinding], notes: list[CredentialFinding],
) -> None:
    for entry in entries[1:]:
        if not entry.valid_now:
            problems.append(CredentialFinding(
                "intermediate-not-valid",
                f"The intermediate certificate {entry.info.subject!r} (from the {entry.source}) sent with the "
                f"client certificate is outside its validity period ({_fmt(entry.info.not_before)} to "
                f"{_fmt(entry.info.not_after)}), and no valid copy was found: servers refuse the chain. "
                "Download Lean's current certificate chain.",
            ))
    if missing is None:
        return
    if bundle is not None and bundle.kind == "file":
        where = f"neither in {label} nor in the CA bundle {bundle.source}"
    else:
        where = f"not in {label} and no CA bundle file was given"
    if len(chain) == 1:
        problems.append(CredentialFinding(
            "chain-incomplete",
            f"The chain sent is incomplete: the issuer {missing!r} of the client certificate is {where}, so "
            "only the certificate itself is sent and the server will likely reject it. Give Lean's full "
            "certificate chain (lean_public_cert_chain.pem) as the CA bundle, or append the intermediate "
            "certificates to the certificate file.",
        ))
    else:
        # Clients never send the root: a chain that stops at an intermediate
        # works whenever the server trusts that intermediate's issuer.
        notes.append(CredentialFinding(
            "chain-ends-at-intermediate",
            f"The chain sent ends at an intermediate whose issuer {missing!r} is {where}. That is normal when "
            "the issuer is a root the server trusts.",
        ))


def _unreadable_in_cert_file(
    count: int, label: str, problems: list[CredentialFinding], warnings: list[CredentialFinding],
    notes: list[CredentialFinding],
) -> None:
    notes.append(CredentialFinding(
        "cert-file-unreadable",
        f"{count} certificate(s) in {label} could not be read by the certificate parser (non-DER encoding or "
        "a non-positive serial); they are sent as given after the chain, and OpenSSL and the server judge them.",
    ))
    # The missing issuer may well be one of them: say so, without calling the chain broken.
    for finding in [p for p in problems if p.code == "chain-incomplete"]:
        problems.remove(finding)
        warnings.append(CredentialFinding(
            "chain-maybe-incomplete",
            finding.message.replace("The chain sent is incomplete", "The chain sent may be incomplete", 1)
            + f" (It may be among the {count} unreadable certificate(s) of {label}, which are sent as given.)",
        ))


def _root_of(
    chain: Sequence[x509.Certificate], missing: str | None, pool: Sequence[x509.Certificate],
    leaf: x509.Certificate, origin: Callable[[x509.Certificate], str], now: dt.datetime,
) -> ChainCertificate | None:
    last = chain[-1]
    if _is_self_issued(last):
        return ChainCertificate(CertificateInfo.of(last), "cert file" if last is leaf else origin(last),
                                valid_at(last, now))
    if missing is None:
        found = find_issuer(last, pool, now)
        if found is not None:
            return ChainCertificate(CertificateInfo.of(found), origin(found), valid_at(found, now))
    return None


def _inspect_ca(
    bundle: CABundle | None, now: dt.datetime, warnings: list[CredentialFinding], notes: list[CredentialFinding]
) -> CAInspection:
    from ._credentials import default_ca_bundle

    if bundle is None:
        bundle = default_ca_bundle()
        notes.append(CredentialFinding(
            "default-ca",
            "No CA bundle given: the server is verified against certifi's CA bundle (no environment "
            "variable can change that). Lean's developer portal provides lean_public_cert_chain.pem "
            "for Lean's servers.",
        ))
    if bundle.kind != "file":
        return CAInspection(bundle.source, bundle.kind, 0, 0, (), (), ())
    certs = list(bundle.certificates)
    roots = tuple(c.subject.rfc4514_string() for c in certs if _is_self_issued(c) and _issued_by(c, c))
    ends_at = tuple(
        (c.subject.rfc4514_string(), c.issuer.rfc4514_string())
        for c in certs
        if not _is_self_issued(c) and not any(o is not c and _issued_by(c, o) for o in certs)
    )
    expired = tuple(c.subject.rfc4514_string() for c in certs if c.not_valid_after_utc < now)
    for subject in expired:
        warnings.append(CredentialFinding(
            "ca-expired", f"The CA bundle holds an expired certificate {subject!r}: download Lean's chain again."))
    if bundle.unreadable:
        notes.append(CredentialFinding(
            "ca-unreadable",
            f"{bundle.unreadable} certificate(s) in the CA bundle could not be read by the certificate "
            "parser (non-DER encoding or a non-positive serial); OpenSSL still uses them to verify the "
            "server, they are only skipped when completing the client chain.",
        ))
    return CAInspection(bundle.source, bundle.kind, len(bundle.der), bundle.unreadable, roots, ends_at, expired)


def _is_ca(cert: x509.Certificate) -> bool:
    """A certificate that may sign others: basicConstraints CA:TRUE, or a self-signed one without
    the extension (an X.509 v1 root, which OpenSSL still accepts as a trust anchor)."""
    from cryptography import x509 as _x509

    try:
        return bool(cert.extensions.get_extension_for_class(_x509.BasicConstraints).value.ca)
    except _x509.ExtensionNotFound:
        return _is_self_issued(cert)


def _ca_without_ca(bundle: CABundle | None, own: Sequence[x509.Certificate],
                   problems: list[CredentialFinding]) -> None:
    """A ca= file holding only end-entity certificates (often the app's own certificate, or a server
    certificate: Lean's portal gives three files) can never verify Lean's server."""
    if bundle is None or bundle.kind != "file" or bundle.unreadable or not bundle.certificates:
        return  # an unreadable certificate may be a CA: OpenSSL uses it
    if any(_is_ca(c) for c in bundle.certificates):
        return
    mine = {c.tbs_certificate_bytes for c in own}
    if any(c.tbs_certificate_bytes in mine for c in bundle.certificates):
        what = "your own client certificate"
    else:
        subjects = ", ".join(repr(c.subject.rfc4514_string()) for c in bundle.certificates[:3])
        what = f"only end-entity certificates ({subjects}), no CA certificate"
    problems.append(CredentialFinding(
        "ca-not-a-ca",
        f"The CA bundle {bundle.source} holds {what}, not Lean's certificate chain: it cannot verify any "
        "server. Use lean_public_cert_chain.pem from Lean's developer portal as the CA bundle.",
    ))


def _client_auth_allowed(cert: x509.Certificate) -> bool | None:
    from cryptography import x509 as _x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        usage = cert.extensions.get_extension_for_class(_x509.ExtendedKeyUsage).value
    except _x509.ExtensionNotFound:
        return None
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usage


def _fmt(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _fmt_span(span: dt.timedelta) -> str:
    return span_text(span)
