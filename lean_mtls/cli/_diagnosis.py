"""The file diagnosis of ``lean-mtls check`` (no network).

Every verdict comes from the credentials layer's public inspection
(:func:`lean_mtls.inspect_credentials`), the same the session acts on, so the
doctor and the SDK cannot disagree (clock-skew tolerance, the intermediate
actually sent, key match, clientAuth).  This module only shapes the verdicts
into ``check``'s report, in CLI terms (flags, not Python keywords).
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from .. import inspect_credentials
from .._credentials import (
    CABundle,
    CertificateInfo,
    CertSource,
    _is_self_issued,
    _issued_by,
    load_ca_bundle,
    load_client_identity,
)
from .._inspection import ChainCertificate, CredentialInspection
from ..errors import CertificateError, CertificateWarning
from ._output import fmt_time as _fmt_time
from ._report import CheckReport

DEFAULT_WARN_DAYS = 30


def _summary(entry: ChainCertificate) -> dict[str, Any]:
    info = entry.info
    return {"subject": info.subject, "issuer": info.issuer, "fingerprint_sha256": info.fingerprint_sha256,
            "valid_now": entry.valid_now}


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
    report = CheckReport()
    bundle = load_ca_bundle(ca) if ca is not None else None
    result = inspect_credentials(cert, key, ca, key_password, now=now, warn_days=warn_days)
    now = result.checked_at
    info = result.certificate
    days_left = (info.not_after - now).days
    report.certificate = {
        "source": result.certificate_source,
        "subject": info.subject,
        "issuer": info.issuer,
        "serial_number": f"{info.serial_number:#x}",
        "fingerprint_sha256": info.fingerprint_sha256,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "days_left": days_left,
        "validity": result.validity,
        "expired": result.validity == "expired",
        "not_yet_valid": result.validity == "not-yet-valid",
        "clock_skew_seconds": result.clock_skew.total_seconds() if result.clock_skew is not None else None,
        "client_auth": result.client_auth,
    }
    report.key = {"source": result.key_source, "matches": result.key_matches}
    _findings(result, report)
    report.chain = _chain(result)
    report.ca = _describe_ca(bundle, now, report)

    # --- would the SDK itself accept the files?  (Only meaningful when nothing above is fatal.)
    if not result.fatal:
        try:
            from .._tls import build_ssl_context

            with warnings.catch_warnings():  # said above already, in check's words
                warnings.simplefilter("ignore", CertificateWarning)
                identity = load_client_identity(cert, key, key_password, bundle, now=now)
            build_ssl_context(identity, bundle)
            del identity
        except CertificateError as error:
            report.problems.append(f"The SDK refuses these files: {error.message}")
    return report, bundle


def _findings(result: CredentialInspection, report: CheckReport) -> None:
    """The inspection's verdicts in check's lists; advice that names a setting names the flag."""
    info = result.certificate
    for finding in result.problems:
        if finding.code == "key-mismatch":
            report.problems.append(
                f"The private key in {result.key_source} does not match the certificate in "
                f"{result.certificate_source}: use the key generated together with this certificate.")
        elif finding.code == "chain-incomplete":
            report.problems.append(
                f"The chain is incomplete: the issuer {result.missing_issuer!r} of the certificate is "
                f"{_where(result)}, so the server will likely reject the certificate. Use Lean's full "
                "certificate chain as --ca (lean_public_cert_chain.pem) or append the intermediate certificates "
                "to the cert file.")
        elif finding.code == "expired":
            report.problems.append(
                f"The certificate expired on {_fmt_time(info.not_after)}: generate a new one in Lean's developer "
                "portal (Authentication section).")
        else:
            report.problems.append(finding.message)
    for finding in result.warnings:
        if finding.code == "ca-expired":
            continue  # _describe_ca says it
        report.warnings.append(finding.message)
    for finding in result.notes:
        if finding.code == "chain-ends-at-intermediate":
            report.notes.append(
                f"The chain sent ends at an intermediate whose issuer {result.missing_issuer!r} is "
                f"{_where(result)}. That is normal when the issuer is a root the server trusts; use --ping to "
                "confirm.")
        elif finding.code not in {"default-ca"}:
            report.notes.append(finding.message)


def _where(result: CredentialInspection) -> str:
    if result.ca.kind == "file":
        return f"neither in {result.certificate_source} nor in {result.ca.source}"
    return f"not in {result.certificate_source} and no CA bundle was given (--ca)"


def _chain(result: CredentialInspection) -> dict[str, Any]:
    intermediates = [{**_summary(e), "source": e.source} for e in result.chain[1:]]
    leaf = result.chain[0]
    root = None if result.root is None else {
        "subject": result.root.info.subject,
        "source": "self-signed" if len(result.chain) == 1 and result.root.info == leaf.info else result.root.source,
    }
    if not result.chain_complete:
        how = "incomplete"
    elif root is not None and root["source"] == "self-signed":
        how = "self-signed certificate"
    elif not intermediates:
        how = "issued directly by a root"
    else:
        how = "completed from the " + " and the ".join(sorted({i["source"] for i in intermediates}))
    chain: dict[str, Any] = {
        "complete": result.chain_complete,
        "how": how,
        "sent": [_summary(e) for e in result.chain],
        "intermediates": intermediates,
        "root": root,
        "missing_issuer": result.missing_issuer,
    }
    if any(p.code == "chain-incomplete" for p in result.problems):
        chain["problem"] = True
    return chain


def _is_root(cert: Any) -> bool:
    return _is_self_issued(cert) and _issued_by(cert, cert)


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
