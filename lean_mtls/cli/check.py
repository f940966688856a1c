"""``lean-mtls check``: a doctor for real credentials.

Reads its settings exactly as :meth:`LeanSession.from_env` does (flags over
``LEAN_*`` variables), so a configuration the SDK refuses exits 2 with the
SDK's message; then says what is wrong with the certificate, key and CA bundle
(exit 1, or 3 for an expiry warning) and, with ``--ping``, calls
``GET /banks/v1/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import textwrap
import time
from typing import Any, TextIO

from .. import (
    AuthenticationError,
    ConfigurationError,
    LeanAPIError,
    LeanConnectionError,
    LeanError,
    LeanTimeout,
    LeanTLSError,
    NotFoundError,
    PermissionDeniedError,
)
from ._diagnosis import DEFAULT_WARN_DAYS, diagnose
from ._output import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    EXIT_WARNING,
    UsageError,
    dump_json,
    error_line,
    fmt_time,
    one_line,
)
from ._report import CheckReport
from ._settings import CLISettings, add_connection_options, non_negative_int, read_cli_settings

EPILOG = """\
exit codes (stable, for cron jobs and monitoring):
  0  healthy: files readable, key matches, chain complete, certificate valid
     for more than --warn-days days, and (with --ping) Lean answered
  1  problem found: expired or not yet valid certificate, key does not match,
     incomplete chain, certificate not for client authentication, a CA
     bundle holding no CA certificate, files the SDK would refuse, or the
     --ping failed (TLS, network, HTTP error)
  2  usage or configuration error: bad flags, a setting the SDK refuses
     (LEAN_ENVIRONMENT, LEAN_REGION, LEAN_AUTH, an http:// base URL), missing
     or unreadable file, no certificate or key found, missing key password,
     a credential LeanSession.from_env() needs but is not set (LEAN_APP_TOKEN;
     LEAN_CLIENT_SECRET with LEAN_AUTH=oauth), unset variable
  3  warning only: the certificate expires within --warn-days days

Files come from --cert/--key/--ca or LEAN_CERT/LEAN_KEY/LEAN_CA (a path or the
PEM text itself).  The app token and key password are read from environment
variables only (--app-token-env, --key-password-env; defaults LEAN_APP_TOKEN
and LEAN_KEY_PASSWORD) and are never printed.

examples:
  lean-mtls check --cert app_cert.crt --key app_private_key.pem --ca lean_public_cert_chain.pem
  LEAN_APP_TOKEN=... lean-mtls check --ping --environment production --json
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    check = sub.add_parser(
        "check",
        parents=[common],
        help="diagnose client certificate, key and CA bundle (and --ping Lean)",
        description=textwrap.fill(
            "Check the client certificate, private key and CA bundle the SDK will use: identity, validity, "
            "key match, chain completeness, what the CA bundle can verify, and with --ping a real "
            "GET /banks/v1/. Never prints the token or the key password.", 78),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_connection_options(check)
    check.add_argument("--ping", action="store_true", help="call GET /banks/v1/ and report TLS version, cipher, timing")
    check.add_argument("--warn-days", type=non_negative_int, default=DEFAULT_WARN_DAYS, metavar="N",
                       help=f"exit 3 when the certificate expires within N days (default: {DEFAULT_WARN_DAYS})")
    check.add_argument("--json", action="store_true", help="one JSON object on stdout, for machines")
    check.set_defaults(func=cmd_check)


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


#: How the SDK introduces a cause it found when the session was built.
_KNOWN_CAUSE = "Known cause, found when the session was built: "


def _advice(error: LeanError) -> str:
    if _KNOWN_CAUSE in error.message:  # the SDK knew why: say that, not the generic list
        return "Known cause: " + error.message.split(_KNOWN_CAUSE, 1)[1]
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


def _error_json(error: LeanError, settings: CLISettings) -> dict[str, Any]:
    data: dict[str, Any] = {"code": error.code, "type": type(error).__name__, "message": settings.explain(error)}
    if isinstance(error, LeanAPIError):
        data.update(status_code=error.status_code, status=error.status, request_id=error.request_id)
    if isinstance(error, LeanTLSError):
        data["side"] = error.side
    return data


def ping(settings: CLISettings, timeout: float) -> dict[str, Any]:
    """``GET /banks/v1/`` with a real session; TLS details and timing, or the failure."""
    result: dict[str, Any] = {"ok": False, "url": None}
    try:
        session = settings.session(retries=0, timeout=(timeout, timeout))
    except LeanError as error:
        result.update(error=_error_json(error, settings), advice="Fix the configuration above first.")
        return result
    with session:
        url = session.base_url + "/banks/v1/"
        result["url"] = url
        started = time.perf_counter()

        def tls_details(response: Any, *args: Any, **kwargs: Any) -> None:
            # stream=True keeps the connection attached until the body is read; but a server that
            # closes after its answer (HTTP/1.0, "Connection: close") leaves the connection without its
            # socket, and the TLS socket is then only held by the response's reader.
            sock = getattr(getattr(response.raw, "connection", None), "sock", None) or _reader_socket(response)
            cipher = sock.cipher() if sock is not None and hasattr(sock, "cipher") else None
            result.update(status_code=response.status_code,
                          tls_version=sock.version() if sock is not None and hasattr(sock, "version") else None,
                          cipher=cipher[0] if cipher else None)

        try:
            body = session.request_json("GET", "/banks/v1/", stream=True, hooks={"response": tls_details})
            result["round_trip_ms"] = round((time.perf_counter() - started) * 1000, 1)
            result["banks"] = len(body) if isinstance(body, list) else None
            result["ok"] = True
        except LeanError as error:
            result["round_trip_ms"] = round((time.perf_counter() - started) * 1000, 1)
            result.update(error=_error_json(error, settings), advice=settings.explain_text(_advice(error)))
    return result


def _reader_socket(response: Any) -> Any:
    """The TLS socket under ``response``'s body reader (http.client's file over a SocketIO)."""
    reader = getattr(getattr(response.raw, "_fp", None), "fp", None)
    return getattr(getattr(reader, "raw", None), "_sock", None)


def _render_check(report: CheckReport, stream: TextIO) -> None:
    def line(label: str, text: str) -> None:
        stream.write(f"{label:<13} {text}\n")

    cert = report.certificate
    line("Certificate", str(cert["source"]))
    line("  subject", cert["subject"])
    line("  issuer", cert["issuer"])
    line("  serial", cert["serial_number"])
    line("  SHA-256", cert["fingerprint_sha256"])
    validity = (f"{fmt_time(dt.datetime.fromisoformat(cert['not_before']))} -> "
                f"{fmt_time(dt.datetime.fromisoformat(cert['not_after']))}")
    if cert["expired"]:
        validity += f" ({cert['expiry'].upper().split(' ', 1)[0]} {cert['expiry'].split(' ', 1)[1]})"
    elif cert["not_yet_valid"]:
        validity += " (NOT YET VALID)"
    else:
        validity += f" ({cert['expiry']})"
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
    elif chain.get("problem"):
        line("Chain", f"INCOMPLETE: issuer {chain['missing_issuer']!r} not found")
    else:  # ends at an intermediate; whether the server holds its root is for --ping to say
        steps = "".join(f" -> {i['subject']!r} (from the {i['source']})" for i in chain["intermediates"])
        line("Chain", f"leaf{steps}; ends at an intermediate, its issuer {chain['missing_issuer']!r} is not "
                      "in the files (see the note)")
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
            line("Ping", f"FAILED: GET {target}: [{err.get('code')}] {one_line(err.get('message', ''))}")
            line("  what to do", p.get("advice", ""))
    for note in report.notes:
        line("Note", note)
    for warning in report.warnings:
        line("WARNING", warning)
    for problem in report.problems:
        line("PROBLEM", problem)
    verdict = {EXIT_OK: "healthy", EXIT_WARNING: "warning", EXIT_PROBLEM: "problem found"}[report.exit_code]
    line("Result", f"{verdict} (exit {report.exit_code})")


def inspect_files(settings: CLISettings, warn_days: int) -> CheckReport:
    """What the certificate, key and CA files say, without any network.

    The one place ``check`` reads credentials.  Raises ``UsageError`` without
    a certificate and ``ConfigurationError`` when a file cannot be read or
    holds nothing usable (there is nothing to diagnose then).
    """
    kwargs = settings.kwargs
    if kwargs.get("cert") is None:
        raise UsageError("no client certificate: pass --cert PATH or set LEAN_CERT.")
    return diagnose(kwargs["cert"], kwargs.get("key"), kwargs.get("ca"), kwargs.get("key_password"),
                    warn_days=warn_days)


def _refuse(args: argparse.Namespace, message: str, code: str) -> int:
    if args.json:
        dump_json({"status": "error", "exit_code": EXIT_USAGE, "error": {"code": code, "message": message}})
    error_line(message)
    return EXIT_USAGE


def cmd_check(args: argparse.Namespace) -> int:
    """``lean-mtls check``: settings as ``LeanSession.from_env`` reads them, then the files, then ``--ping``."""
    try:
        settings = read_cli_settings(args)
    except UsageError as error:
        return _refuse(args, str(error), "usage")
    except ConfigurationError as error:  # already in command-line terms
        return _refuse(args, error.message, error.code)
    try:
        report = inspect_files(settings, args.warn_days)
    except UsageError as error:
        return _refuse(args, str(error), "usage")
    except ConfigurationError as error:
        return _refuse(args, settings.explain(error), error.code)
    if args.ping:
        report.ping = ping(settings, args.timeout)
        _apply_ping(report)
    if args.json:
        dump_json(report.as_json())
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
