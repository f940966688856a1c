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

from .. import (
    CAInspection,
    CertificateError,
    CertificateWarning,
    CertSource,
    ChainCertificate,
    CredentialInspection,
    LeanSession,
    Password,
    inspect_credentials,
)
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
    key_password: Password | None,
    *,
    warn_days: int = DEFAULT_WARN_DAYS,
    now: dt.datetime | None = None,
) -> CheckReport:
    """Read the files and report what is wrong with them, without any network.

    Raises :class:`CertificateError` / :class:`ConfigurationError` when a file
    cannot be read or holds nothing usable (there is nothing to diagnose then).
    """
    report = CheckReport()
    result = inspect_credentials(cert, key, ca, key_password, now=now, warn_days=warn_days)
    now = result.checked_at
    info = result.certificate
    days_left = info.days_left_at(now)
    report.certificate = {
        "source": result.certificate_source,
        "subject": info.subject,
        "issuer": info.issuer,
        "serial_number": f"{info.serial_number:#x}",
        "fingerprint_sha256": info.fingerprint_sha256,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "days_left": days_left,
        "expiry": info.expiry_text(now),
        "validity": result.validity,
        "expired": result.validity == "expired",
        "not_yet_valid": result.validity == "not-yet-valid",
        "clock_skew_seconds": result.clock_skew.total_seconds() if result.clock_skew is not None else None,
        "client_auth": result.client_auth,
    }
    report.key = {"source": result.key_source, "matches": result.key_matches}
    _findings(result, report)
    report.chain = _chain(result)
    report.ca = _describe_ca(result.ca, report)

    # --- would the SDK itself accept the files?  (Only meaningful when nothing above is fatal.)
    if not result.fatal:
        problem = _session_refuses(cert, key, ca, key_password)
        if problem is not None:
            report.problems.append(f"The SDK refuses these files: {problem}")
    return report


#: A placeholder: the probe session below is never used for a request.
_PROBE_TOKEN = "lean-mtls-check-probe"
_PROBE_URL = "https://lean-mtls-check.invalid"


def _session_refuses(cert: CertSource, key: CertSource | None, ca: CertSource | None,
                     key_password: Password | None) -> str | None:
    """Build a session from the files, as the application will (OpenSSL has the
    last word on keys and CA files); the reason it refuses them, or None."""
    try:
        with warnings.catch_warnings():  # said above already, in check's words
            warnings.simplefilter("ignore", CertificateWarning)
            LeanSession(_PROBE_TOKEN, cert=cert, key=key, ca=ca, key_password=key_password,
                        base_url=_PROBE_URL, retries=0).close()
    except CertificateError as error:
        return error.message
    return None


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


def _describe_ca(ca: CAInspection, report: CheckReport) -> dict[str, Any]:
    if ca.kind != "file":
        report.notes.append(
            f"No CA bundle given (--ca / LEAN_CA): the server would be verified against {ca.source} "
            "(environment variables cannot change that; --ca system selects the operating system's store). "
            "Lean's developer portal provides lean_public_cert_chain.pem for this."
            if ca.kind == "certifi" else
            f"--ca system: the server would be verified against {ca.source}. Lean's developer portal provides "
            "lean_public_cert_chain.pem, which pins Lean's own chain."
        )
        verifies = "certifi" if ca.kind == "certifi" else "system-trust-store"
        return {"source": None, "kind": ca.kind, "certificates": 0, "roots": [], "ends_at": [],
                "verifies_server": verifies}
    ends_at = [{"subject": subject, "issuer": issuer} for subject, issuer in ca.ends_at]
    if ca.roots:
        summary = ("holds the self-signed root" + ("s " if len(ca.roots) > 1 else " ")
                   + ", ".join(repr(r) for r in ca.roots))
    else:
        summary = (
            "holds no self-signed root; it ends at "
            + ", ".join(f"{e['subject']!r} (issued by {e['issuer']!r}, not in the bundle)" for e in ends_at)
            + ". The SDK accepts a chain anchored at an intermediate, so the server is trusted only if its "
            "chain passes through one of these."
        )
        report.notes.append(f"The CA bundle {summary}")
    for subject in ca.expired:
        report.warnings.append(f"The CA bundle holds an expired certificate {subject!r}: download Lean's chain again.")
    # Only a handshake can prove the bundle verifies Lean's server (--ping sets this).
    return {
        "source": ca.source,
        "kind": ca.kind,
        "certificates": ca.certificates,
        "unreadable": ca.unreadable,
        "roots": list(ca.roots),
        "ends_at": ends_at,
        "expired": list(ca.expired),
        "verifies_server": "not checked (use --ping)",
        "summary": summary,
    }
