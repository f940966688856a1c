"""The file diagnosis of ``lean-mtls check`` (no network).

TEMPORARY: this re-does the credential loader's work through its private
helpers; it is replaced by the credentials layer's public inspection
(issue 12, "Structure") as soon as that lands.  ``check`` reaches it only
through :func:`lean_mtls.cli.check.inspect_files`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .._credentials import (
    CABundle,
    CertificateInfo,
    CertSource,
    _is_self_issued,
    _issued_by,
    _parse,
    _public_key_der,
    complete_chain,
    load_ca_bundle,
    load_client_identity,
)
from ..errors import CertificateError
from ._output import fmt_time as _fmt_time
from ._report import CheckReport

if TYPE_CHECKING:
    from cryptography import x509

DEFAULT_WARN_DAYS = 30


def _cert_summary(cert: x509.Certificate) -> dict[str, Any]:
    info = CertificateInfo.of(cert)
    return {"subject": info.subject, "issuer": info.issuer, "fingerprint_sha256": info.fingerprint_sha256}


def _is_root(cert: x509.Certificate) -> bool:
    return _is_self_issued(cert) and _issued_by(cert, cert)


def _client_auth_allowed(cert: x509.Certificate) -> bool | None:
    """False when an Extended Key Usage extension leaves out clientAuth; None when there is none."""
    from cryptography import x509 as _x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        usage = cert.extensions.get_extension_for_class(_x509.ExtendedKeyUsage).value
    except _x509.ExtensionNotFound:
        return None
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usage


def diagnose(
    cert: CertSource,
    key: CertSource | None,
    ca: CertSource | None,
    key_password: str | None,
    *,
    warn_days: int = DEFAULT_WARN_DAYS,
    now: dt.datetime | None = None,
) -> tuple[CheckReport, CABundle | None]:
    """Read the files and report what is wrong with them, without any network.

    Raises :class:`CertificateError` / :class:`ConfigurationError` when a file
    cannot be read or holds nothing usable (there is nothing to diagnose then).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    report = CheckReport()
    bundle = load_ca_bundle(ca) if ca is not None else None

    password = key_password.encode("utf-8") if key_password is not None else None
    parsed_cert = _parse(cert, "certificate", password)
    parsed_key = _parse(key, "key", password) if key is not None else None
    if not parsed_cert.certificates:
        swapped = " --cert and --key look swapped." if parsed_key is not None and parsed_key.certificates else ""
        raise CertificateError(f"{parsed_cert.label} contains no certificate.{swapped}", source=parsed_cert.label)
    private_key = parsed_key.key if parsed_key is not None and parsed_key.key is not None else parsed_cert.key
    key_label = parsed_key.label if parsed_key is not None else parsed_cert.label
    if private_key is None:
        raise CertificateError(
            f"No private key found in {key_label}: pass --key (the *_private_key.pem file) or set LEAN_KEY.",
            source=key_label,
            code="missing-conf",
        )

    # --- the certificate and its key
    key_der = _public_key_der(private_key)
    leaf = next((c for c in parsed_cert.certificates if _public_key_der(c) == key_der), None)
    key_matches = leaf is not None
    if leaf is None:
        non_ca = [c for c in parsed_cert.certificates if not _is_self_issued(c)]
        leaf = (non_ca or parsed_cert.certificates)[0]
    info = CertificateInfo.of(leaf)
    days_left = (info.not_after - now).days
    expired = now > info.not_after
    not_yet_valid = now < info.not_before
    client_auth = _client_auth_allowed(leaf)
    report.certificate = {
        "source": parsed_cert.label,
        "subject": info.subject,
        "issuer": info.issuer,
        "serial_number": f"{info.serial_number:#x}",
        "fingerprint_sha256": info.fingerprint_sha256,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "days_left": days_left,
        "expired": expired,
        "not_yet_valid": not_yet_valid,
        "client_auth": client_auth,
        "certificates_in_file": len(parsed_cert.certificates),
    }
    report.key = {"source": key_label, "matches": key_matches}
    if expired:
        report.problems.append(
            f"The certificate expired on {_fmt_time(info.not_after)} ({-days_left} days ago): generate a new one in "
            "Lean's developer portal (Authentication section)."
        )
    elif not_yet_valid:
        report.problems.append(
            f"The certificate is not valid until {_fmt_time(info.not_before)}: check the system clock."
        )
    elif days_left < warn_days:
        report.warnings.append(
            f"The certificate expires on {_fmt_time(info.not_after)}, in {days_left} days (less than {warn_days}): "
            "generate a new one in Lean's developer portal and roll it out."
        )
    if not key_matches:
        report.problems.append(
            f"The private key in {key_label} does not match the certificate in {parsed_cert.label}: use the key "
            "generated together with this certificate."
        )
    if client_auth is False:
        report.problems.append(
            "The certificate's Extended Key Usage does not allow TLS client authentication: it is not a client "
            "certificate (is it a server certificate?)."
        )

    # --- the chain the SDK will send
    in_cert_file = {c.tbs_certificate_bytes for c in parsed_cert.certificates}
    bundle_certs = list(bundle.certificates) if bundle is not None else []
    pool = [c for c in parsed_cert.certificates if c is not leaf] + bundle_certs

    def origin(c: x509.Certificate) -> str:
        return "cert file" if c.tbs_certificate_bytes in in_cert_file else "CA bundle"

    chain, missing = complete_chain(leaf, pool)
    root: dict[str, Any] | None = None
    last = chain[-1]
    if _is_self_issued(last):
        root = {"subject": CertificateInfo.of(last).subject, "source": "self-signed" if last is leaf else origin(last)}
    elif missing is None:
        found = next((c for c in pool if _issued_by(last, c)), None)
        if found is not None:
            root = {"subject": CertificateInfo.of(found).subject, "source": origin(found)}
    intermediates = [{**_cert_summary(c), "source": origin(c)} for c in chain[1:]]
    sources = sorted({item["source"] for item in intermediates})
    if missing is not None:
        how = "incomplete"
    elif last is leaf and _is_self_issued(leaf):
        how = "self-signed certificate"
    elif not intermediates:
        how = "issued directly by a root"
    else:
        how = "completed from the " + " and the ".join(sources)
    report.chain = {
        "complete": missing is None,
        "how": how,
        "sent": [_cert_summary(c) for c in chain],
        "intermediates": intermediates,
        "root": root,
        "missing_issuer": missing,
    }
    if missing is not None:
        where = f"neither in {parsed_cert.label} nor in {bundle.source}" if bundle is not None else (
            f"not in {parsed_cert.label} and no CA bundle was given")
        if len(chain) == 1:
            report.problems.append(
                f"The chain is incomplete: the issuer {missing!r} of the certificate is {where}, "
                "so the server will likely reject the certificate. Use Lean's full certificate chain as --ca "
                "(lean_public_cert_chain.pem) or append the intermediate certificates to the cert file."
            )
            report.chain["problem"] = True
        else:
            # Clients never send the root: a chain that stops at an intermediate
            # works whenever the server trusts that intermediate's issuer.
            report.notes.append(
                f"The chain sent ends at an intermediate whose issuer {missing!r} is {where}. That is normal "
                "when the issuer is a root the server trusts; use --ping to confirm."
            )

    # --- the CA bundle: what will verify Lean's server
    report.ca = _describe_ca(bundle, now, report)

    # --- would the SDK itself accept the files?  (Only meaningful when nothing above is wrong.)
    if key_matches and not expired and not not_yet_valid:
        try:
            from .._tls import build_ssl_context

            identity = load_client_identity(cert, key, key_password, bundle, now=now)
            build_ssl_context(identity, bundle)
            del identity
        except CertificateError as error:
            report.problems.append(f"The SDK refuses these files: {error.message}")
    return report, bundle


def _describe_ca(bundle: CABundle | None, now: dt.datetime, report: CheckReport) -> dict[str, Any]:
    if bundle is None:
        report.notes.append(
            "No CA bundle given (--ca / LEAN_CA): the server would be verified against certifi's CA bundle "
            "(environment variables cannot change that; --ca system selects the operating system's store). "
            "Lean's developer portal provides lean_public_cert_chain.pem for this."
        )
        return {"source": None, "certificates": 0, "roots": [], "ends_at": [], "verifies_server": "certifi"}
    certs = list(bundle.certificates)
    roots = [CertificateInfo.of(c).subject for c in certs if _is_root(c)]
    # Certificates whose issuer is not in the bundle: where a chain built from the bundle stops.
    ends_at = [
        {"subject": CertificateInfo.of(c).subject, "issuer": CertificateInfo.of(c).issuer}
        for c in certs
        if not _is_self_issued(c) and not any(o is not c and _issued_by(c, o) for o in certs)
    ]
    expired = [CertificateInfo.of(c).subject for c in certs if CertificateInfo.of(c).not_after < now]
    # Only a handshake can prove the bundle verifies Lean's server (--ping sets this).
    verdict = "not checked (use --ping)"
    if roots:
        summary = "holds the self-signed root" + ("s " if len(roots) > 1 else " ") + ", ".join(repr(r) for r in roots)
    else:
        summary = (
            "holds no self-signed root; it ends at "
            + ", ".join(f"{e['subject']!r} (issued by {e['issuer']!r}, not in the bundle)" for e in ends_at)
            + ". The SDK accepts a chain anchored at an intermediate, so the server is trusted only if its "
            "chain passes through one of these."
        )
        report.notes.append(f"The CA bundle {summary}")
    for subject in expired:
        report.warnings.append(f"The CA bundle holds an expired certificate {subject!r}: download Lean's chain again.")
    return {
        "source": bundle.source,
        "certificates": len(certs),
        "roots": roots,
        "ends_at": ends_at,
        "expired": expired,
        "verifies_server": verdict,
        "summary": summary,
    }
