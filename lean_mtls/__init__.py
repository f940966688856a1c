"""lean-mtls: Lean Technologies' open-banking API over mutual TLS, on requests."""

from __future__ import annotations

import logging

from ._adapter import DEFAULT_POOL_SIZE, LeanAdapter
from ._auth import AppTokenAuth, ClientCredentialsAuth
from ._credentials import CertificateInfo
from ._environments import AuthMode, Environment, Region
from ._session import DEFAULT_TIMEOUT, LeanSession
from ._version import __version__
from .errors import (
    AuthenticationError,
    BadRequestError,
    CertificateError,
    ConfigurationError,
    ConflictError,
    ConsentExpiredError,
    DataFailedError,
    DataStatusError,
    InvalidRequestError,
    InvalidResponseError,
    LeanAPIError,
    LeanConnectionError,
    LeanError,
    LeanProxyError,
    LeanTimeout,
    LeanTLSError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReconnectRequiredError,
    ServerError,
)

logging.getLogger("lean_mtls").addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_TIMEOUT",
    "AppTokenAuth",
    "AuthMode",
    "AuthenticationError",
    "BadRequestError",
    "CertificateError",
    "CertificateInfo",
    "ClientCredentialsAuth",
    "ConfigurationError",
    "ConflictError",
    "ConsentExpiredError",
    "DataFailedError",
    "DataStatusError",
    "Environment",
    "InvalidRequestError",
    "InvalidResponseError",
    "LeanAPIError",
    "LeanAdapter",
    "LeanConnectionError",
    "LeanError",
    "LeanProxyError",
    "LeanSession",
    "LeanTLSError",
    "LeanTimeout",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReconnectRequiredError",
    "Region",
    "ServerError",
    "__version__",
]
