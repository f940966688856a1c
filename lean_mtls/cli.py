"""The ``lean-mtls`` command line (also ``python -m lean_mtls``).

Subcommands:

``demo``
    Starts the local Lean emulator (:class:`lean_mtls.testing.FakeLean`, needs
    ``pip install 'lean-mtls[testing]'``) and walks a real mutual-TLS session
    against it.  No Lean account and no network needed.
``check``
    A doctor for real credentials: reads the certificate, key and CA bundle
    (flags or ``LEAN_*`` variables), says what is wrong with them and, with
    ``--ping``, calls ``GET /banks/v1/``.  Exit codes are stable, for cron jobs.
``banks``, ``customers create|get``
    Thin calls for scripts, JSON on stdout, built with
    :meth:`LeanSession.from_env`.

Secrets (the app token, the key password) are only ever read from environment
variables and are never printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TextIO

from ._credentials import (
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
from ._version import __version__
from .errors import (
    AuthenticationError,
    CertificateError,
    ConfigurationError,
    ConflictError,
    LeanAPIError,
    LeanConnectionError,
    LeanError,
    LeanTimeout,
    LeanTLSError,
    NotFoundError,
    PermissionDeniedError,
)

if TYPE_CHECKING:
    from cryptography import x509

    from ._session import LeanSession

#: Exit codes of ``lean-mtls`` (``check`` uses all four).
EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_WARNING = 3

DEFAULT_WARN_DAYS = 30
DEFAULT_PING_TIMEOUT = 10.0

TESTING_EXTRA_HINT = "python -m pip install 'lean-mtls[testing]'"

_CHECK_EPILOG = """\
exit codes (stable, for cron jobs and monitoring):
  0  healthy: files readable, key matches, chain complete, certificate valid
     for more than --warn-days days, and (with --ping) Lean answered
  1  problem found: expired or not yet valid certificate, key does not match,
     incomplete chain, certificate not for client authentication, files the
     SDK would refuse, or the --ping failed (TLS, network, HTTP error)
  2  usage or configuration error: bad flags, missing or unreadable file,
     no certificate or key found, missing key password, unset variable
  3  warning only: the certificate expires within --warn-days days

Files come from --cert/--key/--ca or LEAN_CERT/LEAN_KEY/LEAN_CA (a path or the
PEM text itself).  The app token and key password are read from environment
variables only (--app-token-env, --key-password-env; defaults LEAN_APP_TOKEN
and LEAN_KEY_PASSWORD) and are never printed.

examples:
  lean-mtls check --cert app_cert.crt --key app_private_key.pem --ca lean_public_cert_chain.pem
  LEAN_APP_TOKEN=... lean-mtls check --ping --environment production --json
"""


class UsageError(Exception):
    """A problem with how the command was called (exit 2)."""


# --------------------------------------------------------------------------- output helpers


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error_line(message: str, stream: TextIO | None = None) -> None:
    print(f"error: {_one_line(message)}", file=stream or sys.stderr)


def _dump_json(obj: Any, stream: TextIO | None = None) -> None:
    # One write of the whole document, so that scrubbing sees every value whole.
    (stream or sys.stdout).write(json.dumps(obj, indent=2, default=str) + "\n")


def _fmt_time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------- shared options


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("credentials and server (flags win over LEAN_* variables)")
    group.add_argument("--cert", metavar="PATH", help="client certificate (default: $LEAN_CERT)")
    group.add_argument("--key", metavar="PATH", help="private key (default: $LEAN_KEY)")
    group.add_argument("--ca", metavar="PATH",
                       help="Lean's certificate chain, lean_public_cert_chain.pem (default: $LEAN_CA)")
    group.add_argument(
        "--key-password-env",
        metavar="VAR",
        help="name of the environment variable holding the key password (default: LEAN_KEY_PASSWORD if set)",
    )
    group.add_argument(
        "--app-token-env",
        metavar="VAR",
        help="name of the environment variable holding the app token (default: LEAN_APP_TOKEN)",
    )
    group.add_argument("--environment", choices=["sandbox", "production"],
                       help="Lean environment (default: $LEAN_ENVIRONMENT or sandbox)")
    group.add_argument("--region", choices=["uae", "ksa"], help="Lean region (default: $LEAN_REGION or uae)")
    group.add_argument("--base-url", metavar="URL",
                       help="API base URL, overriding environment/region (default: $LEAN_BASE_URL)")
    group.add_argument("--timeout", type=_positive_float, default=DEFAULT_PING_TIMEOUT, metavar="SECONDS",
                       help=f"connect and read timeout (default: {DEFAULT_PING_TIMEOUT:g})")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more days, got {text!r}")
    return value


def _env_source(flag: str | None, var: str, environ: Mapping[str, str]) -> CertSource | None:
    """A file flag, else the variable (a path, or the PEM text itself, which the loaders accept as is)."""
    return flag or environ.get(var) or None


#: Secret values read by this process; every line written is scrubbed of them.
_SECRETS: set[str] = set()
_MIN_SECRET_LENGTH = 6  # replacing "abc" everywhere would mangle ordinary text
REDACTED = "<redacted>"


def _scrub(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class _ScrubbingStream:
    """Wraps stdout/stderr so that no secret read from the environment is ever printed,
    even where it hides inside other text (a certificate subject holding the app id)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(_scrub(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _secret_from_env(flag_var: str | None, default_var: str, what: str, environ: Mapping[str, str]) -> str | None:
    """The secret held by the variable named on the command line (which must
    then be set), else by ``default_var`` if set."""
    if flag_var:
        value = environ.get(flag_var)
        if not value:
            raise UsageError(f"the environment variable {flag_var} (named by --{what}-env) is not set or empty.")
    else:
        value = environ.get(default_var) or None
    if value is not None and len(value) >= _MIN_SECRET_LENGTH:
        _SECRETS.add(value)
    return value


@dataclass
class _Settings:
    cert: CertSource | None
    key: CertSource | None
    ca: CertSource | None
    key_password: str | None
    app_token: str | None
    app_token_var: str
    overrides: dict[str, Any]


def _settings(args: argparse.Namespace, environ: Mapping[str, str]) -> _Settings:
    client_secret = environ.get("LEAN_CLIENT_SECRET")
    if client_secret and len(client_secret) >= _MIN_SECRET_LENGTH:
        _SECRETS.add(client_secret)  # OAuth mode: used through from_env, never printed
    overrides: dict[str, Any] = {}
    for name in ("environment", "region", "base_url"):
        value = getattr(args, name, None)
        if value:
            overrides[name] = value
    return _Settings(
        cert=_env_source(args.cert, "LEAN_CERT", environ),
        key=_env_source(args.key, "LEAN_KEY", environ),
        ca=_env_source(args.ca, "LEAN_CA", environ),
        key_password=_secret_from_env(args.key_password_env, "LEAN_KEY_PASSWORD", "key-password", environ),
        app_token=_secret_from_env(args.app_token_env, "LEAN_APP_TOKEN", "app-token", environ),
        app_token_var=args.app_token_env or "LEAN_APP_TOKEN",
        overrides=overrides,
    )


def _build_session(settings: _Settings, environ: Mapping[str, str], **extra: Any) -> LeanSession:
    """``LeanSession.from_env`` with the command line's files, token and hosts."""
    from ._session import LeanSession

    env = {k: v for k, v in environ.items() if k.startswith("LEAN_")}
    env.pop("LEAN_APP_TOKEN", None)
    env.pop("LEAN_KEY_PASSWORD", None)
    overrides: dict[str, Any] = dict(settings.overrides)
    for name in ("cert", "key", "ca", "key_password", "app_token"):
        value = getattr(settings, name)
        if value is not None:
            overrides[name] = value
    if not overrides.get("app_token") and not env.get("LEAN_CLIENT_ID"):
        raise ConfigurationError(
            f"No app token: set {settings.app_token_var} to the app token from Lean's developer portal "
            "(or name another variable with --app-token-env).",
            code="missing-conf",
        )
    overrides.update(extra)
    return LeanSession.from_env(env, **overrides)


# --------------------------------------------------------------------------- check: the diagnosis


@dataclass
class CheckReport:
    """What ``check`` found; rendered as text or JSON."""

    certificate: dict[str, Any] = field(default_factory=dict)
    key: dict[str, Any] = field(default_factory=dict)
    chain: dict[str, Any] = field(default_factory=dict)
    ca: dict[str, Any] = field(default_factory=dict)
    ping: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_PROBLEM
        if self.warnings:
            return EXIT_WARNING
        return EXIT_OK

    @property
    def status(self) -> str:
        return {EXIT_OK: "ok", EXIT_PROBLEM: "problem", EXIT_WARNING: "warning"}[self.exit_code]

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "certificate": self.certificate,
            "key": self.key,
            "chain": self.chain,
            "ca": self.ca,
            "ping": self.ping,
            "problems": self.problems,
            "warnings": self.warnings,
            "notes": self.notes,
        }


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
            from ._tls import build_ssl_context

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


# --------------------------------------------------------------------------- check: the ping

_ADVICE = {
    "server-not-trusted": "The CA bundle does not verify this server: pass Lean's certificate chain for this "
    "environment (lean_public_cert_chain.pem) as --ca, and check --environment/--base-url.",
    "client-certificate-rejected": "The server refused the client certificate: use the certificate and key "
    "generated for this app and this environment (sandbox and production differ), with Lean's chain as --ca.",
    "tls-handshake-failed": "The TLS handshake failed: check that the host speaks TLS 1.2+ on this port and that "
    "the certificate belongs to this environment.",
    "connection-failed": "Could not reach the server: check DNS, firewalls and proxies (outbound HTTPS to the "
    "Lean host must be allowed).",
    "issue-with-proxy": "The proxy failed: check the proxy settings.",
    "timeout": "The server did not answer in time: check network access, or raise --timeout.",
    "invalid-response": "The answer was not Lean's JSON: is --base-url pointing at Lean's API?",
}


def _advice(error: LeanError) -> str:
    if isinstance(error, AuthenticationError):
        return ("The app token was refused (or does not belong to this certificate): set the app token of this app "
                "and environment from Lean's developer portal.")
    if isinstance(error, PermissionDeniedError):
        return "Lean refused access: check the certificate belongs to this app and the app's permissions."
    if isinstance(error, NotFoundError):
        return "The endpoint was not found: check --base-url."
    if isinstance(error, LeanAPIError):
        return "Lean answered with an error: see the message; retry later for 5xx or 429."
    if isinstance(error, LeanTLSError) and error.code in _ADVICE:
        return _ADVICE[error.code]
    if isinstance(error, LeanTimeout):
        return _ADVICE["timeout"]
    if isinstance(error, LeanConnectionError):
        return _ADVICE.get(error.code, _ADVICE["connection-failed"])
    return _ADVICE.get(error.code, "See the message.")


def _error_json(error: LeanError) -> dict[str, Any]:
    data: dict[str, Any] = {"code": error.code, "type": type(error).__name__, "message": error.message}
    if isinstance(error, LeanAPIError):
        data.update(status_code=error.status_code, status=error.status, request_id=error.request_id)
    if isinstance(error, LeanTLSError):
        data["side"] = error.side
    return data


def ping(settings: _Settings, environ: Mapping[str, str], timeout: float) -> dict[str, Any]:
    """``GET /banks/v1/`` with a real session; TLS details and timing, or the failure."""
    from ._response import decode_json

    result: dict[str, Any] = {"ok": False, "url": None}
    try:
        session = _build_session(settings, environ, retries=0, timeout=(timeout, timeout))
    except LeanError as error:
        result.update(error=_error_json(error), advice="Fix the configuration above first.")
        return result
    with session:
        url = session.base_url + "/banks/v1/"
        result["url"] = url
        started = time.perf_counter()
        try:
            response = session.get("/banks/v1/", stream=True)
            connection = getattr(response.raw, "connection", None)
            sock = getattr(connection, "sock", None)
            version = sock.version() if sock is not None and hasattr(sock, "version") else None
            cipher = sock.cipher() if sock is not None and hasattr(sock, "cipher") else None
            result.update(status_code=response.status_code, tls_version=version,
                          cipher=cipher[0] if cipher else None)
            body = decode_json(response)
            result["round_trip_ms"] = round((time.perf_counter() - started) * 1000, 1)
            result["banks"] = len(body) if isinstance(body, list) else None
            result["ok"] = True
        except LeanError as error:
            result["round_trip_ms"] = round((time.perf_counter() - started) * 1000, 1)
            result.update(error=_error_json(error), advice=_advice(error))
    return result


def _render_check(report: CheckReport, stream: TextIO) -> None:
    def line(label: str, text: str) -> None:
        stream.write(f"{label:<13} {text}\n")

    cert = report.certificate
    line("Certificate", str(cert["source"]))
    line("  subject", cert["subject"])
    line("  issuer", cert["issuer"])
    line("  serial", cert["serial_number"])
    line("  SHA-256", cert["fingerprint_sha256"])
    validity = (f"{_fmt_time(dt.datetime.fromisoformat(cert['not_before']))} -> "
                f"{_fmt_time(dt.datetime.fromisoformat(cert['not_after']))}")
    if cert["expired"]:
        validity += f" (EXPIRED {-cert['days_left']} days ago)"
    elif cert["not_yet_valid"]:
        validity += " (NOT YET VALID)"
    else:
        validity += f" ({cert['days_left']} days left)"
    line("  valid", validity)
    key = report.key
    verdict_key = "matches the certificate" if key["matches"] else "DOES NOT MATCH the certificate"
    line("Key", f"{key['source']}: {verdict_key}")
    chain = report.chain
    if chain["complete"]:
        steps = " -> ".join([f"{i['subject']!r} (from the {i['source']})" for i in chain["intermediates"]])
        root = chain["root"]
        root_text = f"root {root['subject']!r} ({root['source']})" if root else "a root"
        line("Chain", f"complete, {chain['how']}: leaf" + (f" -> {steps}" if steps else "") + f" -> {root_text}")
    else:
        line("Chain", f"INCOMPLETE: issuer {chain['missing_issuer']!r} not found")
    ca = report.ca
    if ca["source"] is None:
        line("CA bundle", "none given: certifi's CA bundle would verify the server")
    else:
        line("CA bundle", f"{ca['source']}: {ca['certificates']} certificate(s); {ca['summary']}")
    if report.ping is not None:
        p = report.ping
        if p["ok"]:
            line("Ping", f"GET {p['url']} -> HTTP {p['status_code']} in {p['round_trip_ms']:.0f} ms, "
                         f"{p.get('tls_version') or 'TLS ?'}, {p.get('cipher') or 'cipher ?'}")
        else:
            err = p.get("error", {})
            target = p["url"] or "(no session)"
            line("Ping", f"FAILED: GET {target}: [{err.get('code')}] {_one_line(err.get('message', ''))}")
            line("  what to do", p.get("advice", ""))
    for note in report.notes:
        line("Note", note)
    for warning in report.warnings:
        line("WARNING", warning)
    for problem in report.problems:
        line("PROBLEM", problem)
    verdict = {EXIT_OK: "healthy", EXIT_WARNING: "warning", EXIT_PROBLEM: "problem found"}[report.exit_code]
    line("Result", f"{verdict} (exit {report.exit_code})")


def cmd_check(args: argparse.Namespace) -> int:
    environ = os.environ
    try:
        settings = _settings(args, environ)
        if settings.cert is None:
            raise UsageError("no client certificate: pass --cert PATH or set LEAN_CERT.")
        report, _ = diagnose(settings.cert, settings.key, settings.ca, settings.key_password, warn_days=args.warn_days)
    except (UsageError, ConfigurationError) as error:
        message = error.message if isinstance(error, LeanError) else str(error)
        if args.json:
            code = error.code if isinstance(error, LeanError) else "usage"
            _dump_json({"status": "error", "exit_code": EXIT_USAGE, "error": {"code": code, "message": message}})
        _error_line(message)
        return EXIT_USAGE
    if args.ping:
        if not settings.app_token and not environ.get("LEAN_CLIENT_ID"):
            message = (f"--ping needs the app token: set {settings.app_token_var} (or name another variable "
                       "with --app-token-env).")
            if args.json:
                _dump_json({"status": "error", "exit_code": EXIT_USAGE,
                            "error": {"code": "missing-conf", "message": message}})
            _error_line(message)
            return EXIT_USAGE
        report.ping = ping(settings, environ, args.timeout)
        _apply_ping(report)
    if args.json:
        _dump_json(report.as_json())
    else:
        _render_check(report, sys.stdout)
    return report.exit_code


def _apply_ping(report: CheckReport) -> None:
    """What the live handshake proves outranks what the files suggest."""
    ping_result = report.ping or {}
    code = (ping_result.get("error") or {}).get("code")
    if ping_result.get("ok") or code == "client-certificate-rejected":
        report.ca["verifies_server"] = "yes"  # the handshake got past server verification
    elif code == "server-not-trusted":
        report.ca["verifies_server"] = "no"
    if ping_result.get("ok") and report.chain.get("problem"):
        report.problems = [p for p in report.problems if not p.startswith("The chain is incomplete")]
        report.notes.append("The server accepted the certificate even though its chain looked incomplete.")
    if not ping_result.get("ok"):
        report.problems.append(f"The ping failed ({code}): {ping_result.get('advice', '')}")


# --------------------------------------------------------------------------- banks / customers


def _run_api(args: argparse.Namespace, call: Callable[[LeanSession], Any]) -> int:
    settings = _settings(args, os.environ)
    with _build_session(settings, os.environ, timeout=(args.timeout, args.timeout)) as session:
        result = call(session)
    _dump_json(result)
    return EXIT_OK


def cmd_banks(args: argparse.Namespace) -> int:
    return _run_api(args, lambda s: s.banks.list(args.account_types, country_codes=args.country_codes))


def cmd_customers_create(args: argparse.Namespace) -> int:
    def call(session: LeanSession) -> Any:
        try:
            return session.customers.create(args.app_user_id)
        except ConflictError:
            if not args.existing_ok:
                raise
            return session.customers.get_by_app_user_id(args.app_user_id)

    return _run_api(args, call)


def cmd_customers_get(args: argparse.Namespace) -> int:
    if args.app_user_id:
        return _run_api(args, lambda s: s.customers.get_by_app_user_id(args.customer_id))
    return _run_api(args, lambda s: s.customers.get(args.customer_id))


# --------------------------------------------------------------------------- demo


def _money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def _items(body: Any, key: str) -> list[Any]:
    from .resources._pagination import split_page

    items, _ = split_page(body, key)
    return items


def _merchant(tx: Mapping[str, Any]) -> str | None:
    details = tx.get("merchant_details")
    if isinstance(details, Mapping):
        for name in ("merchant_name", "name"):
            if isinstance(details.get(name), str) and details[name]:
                return str(details[name])
    return None


def _amount(tx: Mapping[str, Any]) -> tuple[float, str]:
    amount = tx.get("amount")
    if isinstance(amount, Mapping):
        return float(amount.get("amount") or 0), str(amount.get("currency") or "")
    return float(amount or 0), str(tx.get("currency") or "")


class _Progress:
    """``\r``-updated count on a terminal; silent otherwise."""

    def __init__(self, out: TextIO, enabled: bool, label: str) -> None:
        self.out, self.enabled, self.label = out, enabled, label
        self.count = 0
        self.shown = False

    def step(self) -> None:
        self.count += 1
        if self.enabled and self.count % 100 == 0:
            self.out.write(f"\r   {self.label}: {self.count} ...")
            self.out.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            self.out.write("\r" + " " * (len(self.label) + 20) + "\r")
            self.out.flush()


class _WebhookReceiver:
    """A tiny HTTP server on 127.0.0.1 that verifies Lean webhook signatures."""

    def __init__(self, secret: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from . import webhooks

        receiver = self
        self.events: list[webhooks.WebhookEvent] = []
        self.rejected: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = webhooks.verify_request(dict(self.headers.items()), body, secret)
                except webhooks.WebhookSignatureError as error:
                    receiver.rejected.append(error.reason)
                    self.send_response(400)
                else:
                    receiver.events.append(event)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/lean"
        import threading

        self.thread = threading.Thread(target=self.server.serve_forever, name="lean-demo-webhooks", daemon=True)

    def __enter__(self) -> _WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def run_demo(out: TextIO, *, transactions: int = 3000, progress: bool = False) -> int:
    """The ``demo`` command: a real mTLS session against :class:`~lean_mtls.testing.FakeLean`."""
    import uuid

    import requests

    from .testing import FakeLean

    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    with FakeLean(transactions=transactions) as lean, lean.session() as session:
        cert = session.certificate
        say(f"Local Lean emulator on {lean.url} (HTTPS, demands a client certificate; no network, no account)")
        if cert is not None:
            say(f"Client certificate: {cert.subject} (valid until {cert.not_after:%Y-%m-%d})")
        say()

        # 1. banks
        banks = session.banks.list()
        recorded = list(getattr(lean, "requests", []) or [])
        tls = getattr(recorded[-1], "tls_version", None) if recorded else None
        say(f"1. Banks: {len(banks)} banks" + (f" (over {tls}, mutual TLS)" if tls else ""))
        for bank in banks[:5]:
            say(f"   - {bank.get('name')} [{bank.get('identifier')}] {bank.get('country_code', '')}".rstrip())
        if len(banks) > 5:
            say(f"   ... and {len(banks) - 5} more")

        # 2. customers
        app_user_id = f"demo-user-{uuid.uuid4().hex[:8]}"
        customer = session.customers.create(app_user_id=app_user_id)
        say(f"2. Customer: created {customer.get('customer_id')} for app_user_id {app_user_id!r}")
        try:
            session.customers.create(app_user_id=app_user_id)
        except ConflictError as error:
            again = session.customers.get_by_app_user_id(app_user_id)
            say(f"   creating it again -> HTTP {error.status_code} {error.status}; "
                f"fetched the existing one instead ({again.get('customer_id')})")

        # 3. accounts and balances of the seeded customer's bank connection
        entity_id, customer_id = lean.entity_id, lean.customer_id
        say(f"3. Accounts of the seeded customer {customer_id} (entity {entity_id}):")
        accounts = list(session.data.iter_accounts(entity_id))
        for account in accounts:
            account_id = account.get("account_id", "")
            balances = _items(session.data.balances(entity_id, account_id, wait=True), "balances")
            balance_text = ""
            if balances:
                value, currency = _amount(balances[0])
                sign = "-" if str(balances[0].get("credit_debit_indicator", "")).upper() == "DEBIT" else ""
                balance_text = f", balance {sign}{_money(value, currency)}"
            name = account.get("nickname") or account.get("description") or account.get("account_sub_type") or ""
            say(f"   - {account_id} {name} ({account.get('currency', '?')}){balance_text}")

        # 4. a year of transactions
        end = dt.date.today()
        start = end - dt.timedelta(days=365)
        before = len(getattr(lean, "requests", []) or [])
        meter = _Progress(out, progress, "transactions fetched")
        money_in: dict[str, float] = {}
        money_out: dict[str, float] = {}
        merchants: dict[str, float] = {}
        for account in accounts:
            for tx in session.data.iter_transactions(entity_id, account.get("account_id", ""),
                                                     start_date=start, end_date=end):
                meter.step()
                value, currency = _amount(tx)
                if str(tx.get("credit_debit_indicator", "")).upper() == "CREDIT":
                    money_in[currency] = money_in.get(currency, 0.0) + value
                else:
                    money_out[currency] = money_out.get(currency, 0.0) + value
                    merchant = _merchant(tx)
                    if merchant is not None:
                        merchants[merchant] = merchants.get(merchant, 0.0) + value
        meter.done()
        pages = len(getattr(lean, "requests", []) or []) - before
        say(f"4. Transactions {start} .. {end}: {meter.count} in {pages} requests (pages of 100, fetched lazily)")
        for currency in sorted(set(money_in) | set(money_out)):
            say(f"   in {_money(money_in.get(currency, 0.0), currency)}, "
                f"out {_money(money_out.get(currency, 0.0), currency)}")
        top = sorted(merchants.items(), key=lambda item: -item[1])[:5]
        if top:
            say("   top merchants by spend: " + ", ".join(f"{name} ({value:,.2f})" for name, value in top))

        # 5. a payment intent
        intent = session.payments.create_intent(customer_id, 250.0, "AED", description="lean-mtls demo invoice")
        say(f"5. Payment intent: {intent.get('payment_intent_id')} for "
            f"{_money(float(intent.get('amount', 250.0)), str(intent.get('currency', 'AED')))}")

        # 6. a signed webhook, verified by a receiver on 127.0.0.1
        with _WebhookReceiver(lean.webhook_secret) as receiver:
            payload = {
                "id": str(uuid.uuid4()),
                "intent_id": intent.get("payment_intent_id"),
                "customer_id": customer_id,
                "status": "ACCEPTED_BY_BANK",
                "amount": 250.0,
                "currency": "AED",
            }
            status = lean.send_webhook(receiver.url, "payment.created", payload)
            with requests.Session() as plain:  # a forgery: same body shape, wrong signature
                plain.trust_env = False
                forged = plain.post(receiver.url, json={"type": "payment.created", "payload": payload},
                                    headers={"lean-signature": "sha512=" + "0" * 128}, timeout=5)
            if receiver.events:
                event = receiver.events[0]
                say(f"6. Webhook: {event.type} received on {receiver.url}, signature verified "
                    f"(HTTP {status}; event id {event.event_id})")
            else:
                say(f"6. Webhook: NOT verified (HTTP {status}; rejected: {', '.join(receiver.rejected) or '-'})")
                return EXIT_PROBLEM
            say(f"   a forged webhook was refused with HTTP {forged.status_code} ({', '.join(receiver.rejected)})")

        total = len(getattr(lean, "requests", []) or [])
        say()
        say(f"Done: {total} requests over mutual TLS to {lean.url}. Next: 'lean-mtls check --help' "
            "to check your real Lean credentials.")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        import trustme  # noqa: F401 - the testing extra

        from .testing import FakeLean  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "trustme"
        print(f"error: the demo needs the testing extra ({missing} is not installed): {TESTING_EXTRA_HINT}",
              file=sys.stderr)
        return EXIT_USAGE
    return run_demo(sys.stdout, transactions=args.transactions,
                    progress=sys.stdout.isatty() and not args.no_progress)


# --------------------------------------------------------------------------- parser and entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lean-mtls",
        description="Lean Technologies' open-banking API over mutual TLS: demo, credential doctor, scripting.",
        epilog="Run 'lean-mtls COMMAND --help' for a command's options. Start with: lean-mtls demo",
    )
    parser.add_argument("--version", action="version", version=f"lean-mtls {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the SDK does to stderr")
    # -v also after the command (`lean-mtls check -v`); SUPPRESS keeps a subcommand from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log what the SDK does to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="walk a real mTLS session against a local Lean emulator (no account, no network)",
        description="Start a local Lean emulator that demands a client certificate and use the SDK against it: "
        "banks, customers, accounts, balances, a year of transactions, a payment intent and a signed webhook. "
        f"Needs the testing extra: {TESTING_EXTRA_HINT}",
    )
    demo.add_argument("--transactions", type=_non_negative_int, default=3000, metavar="N",
                      help="transactions the emulator seeds (default: 3000)")
    demo.add_argument("--no-progress", action="store_true", help="no progress line, even on a terminal")
    demo.set_defaults(func=cmd_demo)

    check = sub.add_parser(
        "check",
        parents=[common],
        help="diagnose client certificate, key and CA bundle (and --ping Lean)",
        description=textwrap.fill(
            "Check the client certificate, private key and CA bundle the SDK will use: identity, validity, "
            "key match, chain completeness, what the CA bundle can verify, and with --ping a real "
            "GET /banks/v1/. Never prints the token or the key password.", 78),
        epilog=_CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_connection_options(check)
    check.add_argument("--ping", action="store_true", help="call GET /banks/v1/ and report TLS version, cipher, timing")
    check.add_argument("--warn-days", type=_non_negative_int, default=DEFAULT_WARN_DAYS, metavar="N",
                       help=f"exit 3 when the certificate expires within N days (default: {DEFAULT_WARN_DAYS})")
    check.add_argument("--json", action="store_true", help="one JSON object on stdout, for machines")
    check.set_defaults(func=cmd_check)

    banks = sub.add_parser("banks", parents=[common], help="list Lean's banks (JSON)",
                           description="GET /banks/v1/ with LeanSession.from_env(); JSON on stdout.")
    _add_connection_options(banks)
    banks.add_argument("--account-types", choices=["PERSONAL", "BUSINESS"])
    banks.add_argument("--country-codes", metavar="CODES", help="comma-separated ISO alpha-3 codes, e.g. ARE,SAU")
    banks.set_defaults(func=cmd_banks)

    customers = sub.add_parser("customers", help="create or get a customer (JSON)")
    csub = customers.add_subparsers(dest="action", metavar="ACTION")
    csub.required = True
    create = csub.add_parser("create", parents=[common], help="POST /customers/v1/",
                             description="Create a customer; JSON on stdout.")
    create.add_argument("app_user_id", metavar="APP_USER_ID", help="your own id for the user")
    create.add_argument("--existing-ok", action="store_true",
                        help="on CUSTOMER_ALREADY_EXISTS, print the existing customer instead of failing")
    _add_connection_options(create)
    create.set_defaults(func=cmd_customers_create)
    get = csub.add_parser("get", parents=[common], help="GET /customers/v1/{id}",
                          description="Get a customer (by Lean's id, or --app-user-id); JSON on stdout.")
    get.add_argument("customer_id", metavar="CUSTOMER_ID")
    get.add_argument("--app-user-id", action="store_true", help="CUSTOMER_ID is your app_user_id, not Lean's id")
    _add_connection_options(get)
    get.set_defaults(func=cmd_customers_get)
    return parser


def _configure_logging(verbose: bool) -> None:
    if not verbose:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("lean_mtls")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``lean-mtls`` and ``python -m lean_mtls``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ScrubbingStream(stdout), _ScrubbingStream(stderr)
    try:
        _configure_logging(args.verbose)
        return _run(args, args.verbose)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _run(args: argparse.Namespace, verbose: bool) -> int:
    try:
        return int(args.func(args))
    except UsageError as error:
        _error_line(str(error))
        return EXIT_USAGE
    except ConfigurationError as error:
        _error_line(error.message)
        return EXIT_USAGE
    except LeanError as error:
        _error_line(error.message)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (`lean-mtls banks | head`): no traceback, and no second error at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PROBLEM
    except Exception as error:  # noqa: BLE001 - a bug or an OS failure: one line, not a traceback
        if verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        _error_line(f"unexpected {type(error).__name__}: {error} (run with -v for the traceback)")
        return EXIT_PROBLEM


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
