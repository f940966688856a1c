"""The transport boundary: where lean_mtls hands requests to urllib3.

:class:`LeanAdapter` is a ``requests.adapters.HTTPAdapter`` that gives urllib3
the session's prebuilt ``ssl.SSLContext`` and ignores requests' per-request
``verify``/``cert`` plumbing.  That plumbing would otherwise set ``ca_certs``
and ``cert_reqs`` on the connection pool, which urllib3 applies by *mutating*
the shared context, so one call with ``verify=False`` or a stray
``REQUESTS_CA_BUNDLE`` could weaken every later connection.

:func:`map_transport_error` turns requests/urllib3/ssl failures into
lean_mtls errors that say which side of the handshake failed and what to check.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .errors import (
    ConfigurationError,
    LeanConnectionError,
    LeanError,
    LeanProxyError,
    LeanTimeout,
    LeanTLSError,
)

#: Connections kept per origin; a threaded web server with more workers than
#: this still works, surplus connections are just not kept alive.
DEFAULT_POOL_SIZE = 10

# OpenSSL alert reasons the client receives when the *server* refuses our certificate.
_CLIENT_REJECTED = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
    "TLSV1_ALERT_DECRYPT_ERROR",
}


@dataclass(frozen=True)
class TLSDescription:
    """Non-secret labels used in error messages."""

    ca_source: str
    client_subject: str | None
    #: False for adapters that serve hosts other than Lean's.
    is_lean: bool = True


class LeanAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose TLS policy is one prebuilt ``ssl.SSLContext``."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        description: TLSDescription,
        *,
        pool_maxsize: int = DEFAULT_POOL_SIZE,
        pool_block: bool = False,
    ) -> None:
        self.ssl_context = ssl_context
        self.description = description
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, pool_block=pool_block)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs["ssl_context"] = self.ssl_context
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # For CONNECT tunnels the context protects the connection to Lean
        # through the proxy, exactly as for direct connections.
        proxy_kwargs["ssl_context"] = self.ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        host_params, _ = super().build_connection_pool_key_attributes(request, True, None)
        return host_params, {}

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if verify is not True:
            raise ConfigurationError(
                "verify= cannot be changed per request on a LeanSession: the server is always "
                "verified against the session's ca=. Build the session with the right ca= instead."
            )
        if cert is not None:
            raise ConfigurationError(
                "cert= cannot be passed per request on a LeanSession: the client certificate is "
                "configured once, when the session is built."
            )

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            return super().send(request, *args, **kwargs)
        except LeanError:
            raise
        except requests.RequestException as exc:
            raise map_transport_error(exc, request.url or "", self.description) from None


# --------------------------------------------------------------------------- error mapping


def _causes(exc: BaseException) -> list[BaseException]:
    """Every exception reachable from ``exc`` through args, ``reason``, cause and context."""
    found: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack and len(found) < 32:
        current = stack.pop()
        if any(current is f for f in found):
            continue
        found.append(current)
        for nxt in (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return found


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    return next((c for c in _causes(exc) if isinstance(c, ssl.SSLError)), None)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def map_transport_error(
    exc: requests.RequestException, url: str, description: TLSDescription | None = None
) -> LeanError:
    """Translate a requests/urllib3 failure into the matching lean_mtls error."""
    host = _host(url)
    extra: dict[str, Any] = {"request": exc.request, "response": exc.response}
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return LeanTimeout(
            f"Timed out connecting to {host} (TCP connect and TLS handshake). "
            "Check network access to Lean and any firewall or proxy; the request was not sent.",
            phase="connect",
            **extra,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return LeanTimeout(
            f"{host} did not answer within the read timeout. Lean can take up to 50 s on "
            "synchronous data calls: raise timeout= for those, or use async results.",
            phase="read",
            **extra,
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        return LeanProxyError(f"The proxy on the way to {host} failed: {_reason(exc)}.", **extra)
    ssl_error = _ssl_error(exc)
    if ssl_error is not None:
        return _tls_error(ssl_error, host, description, extra)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return LeanConnectionError(
            f"Could not connect to {host}: {_reason(exc)}. Check the host name, DNS and network access.",
            **extra,
        )
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return LeanConnectionError(f"The connection to {host} broke while reading the response.", **extra)
    return LeanConnectionError(f"Request to {host} failed: {type(exc).__name__}: {_reason(exc)}", **extra)


def _reason(exc: BaseException) -> str:
    causes = _causes(exc)
    deepest = causes[-1] if causes else exc
    for candidate in reversed(causes):
        if isinstance(candidate, OSError) and candidate.strerror:
            return str(candidate.strerror)
    text = str(deepest)
    return text if len(text) < 300 else text[:297] + "..."


def _tls_error(
    error: ssl.SSLError, host: str, description: TLSDescription | None, extra: Mapping[str, Any]
) -> LeanTLSError:
    reason = (error.reason or "").upper()
    ca = description.ca_source if description else "the configured CA"
    if isinstance(error, ssl.SSLCertVerificationError) or reason == "CERTIFICATE_VERIFY_FAILED":
        detail = getattr(error, "verify_message", None) or reason or str(error)
        advice = (
            "Use Lean's certificate chain for this environment (lean_public_cert_chain.pem from the "
            "developer portal) as ca=, and check the host."
            if description is None or description.is_lean
            else "This host is not the Lean origin the session was built for; check where the request "
            "(or a redirect) was going."
        )
        return LeanTLSError(
            f"Could not verify the server certificate of {host}: {detail}. The server is checked "
            f"against {ca}. {advice}",
            side="server",
            code="server-not-trusted",
            **extra,
        )
    if reason in _CLIENT_REJECTED:
        subject = description.client_subject if description else None
        return LeanTLSError(
            f"{host} rejected the client certificate{f' {subject!r}' if subject else ''} ({reason}). "
            "Check that cert=/key= are the files generated for this app *and* environment (sandbox "
            "and production certificates differ), that the certificate is not expired or revoked, "
            "and that its intermediate certificates are available.",
            side="client",
            code="client-certificate-rejected",
            **extra,
        )
    if reason in {"WRONG_VERSION_NUMBER", "UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION"}:
        return LeanTLSError(
            f"TLS could not be negotiated with {host} ({reason}): the port may not speak TLS, "
            "or the server does not accept TLS 1.2 or newer.",
            side="unknown",
            **extra,
        )
    return LeanTLSError(
        f"The TLS handshake with {host} failed ({reason or error}). Either the server refused the "
        "client certificate or the connection was cut; check cert=/key= for this environment and "
        "the network path.",
        side="unknown",
        **extra,
    )
