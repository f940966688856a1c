"""lean-mtls: Lean Technologies' open-banking API over mutual TLS, on requests."""

from __future__ import annotations

from ._adapter import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT, LeanAdapter
from ._auth import AppTokenAuth, ClientCredentialsAuth
from ._concurrent import DEFAULT_CONCURRENCY, ConcurrencyBudget
from ._credentials import CertificateInfo
from ._dataframe import to_dataframe
from ._environments import AuthMode, Environment, Region
from ._logging import install as _install_logging
from ._retry import DEFAULT_RETRY, RetryPolicy
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
    IncompleteResponseError,
    InvalidHeaderError,
    InvalidRequestError,
    InvalidResponseError,
    InvalidSchemaError,
    InvalidURLError,
    LeanAPIError,
    LeanConnectionError,
    LeanConnectTimeout,
    LeanError,
    LeanPoolTimeout,
    LeanProxyError,
    LeanReadTimeout,
    LeanTimeout,
    LeanTLSError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReconnectRequiredError,
    ResponseDecodingError,
    ServerError,
    SessionCopyError,
    TooManyRedirectsError,
)

_install_logging()

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_POOL_TIMEOUT",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "AppTokenAuth",
    "AuthMode",
    "AuthenticationError",
    "BadRequestError",
    "CertificateError",
    "CertificateInfo",
    "ClientCredentialsAuth",
    "ConcurrencyBudget",
    "ConfigurationError",
    "ConflictError",
    "ConsentExpiredError",
    "DataFailedError",
    "DataStatusError",
    "Environment",
    "IncompleteResponseError",
    "InvalidHeaderError",
    "InvalidRequestError",
    "InvalidResponseError",
    "InvalidSchemaError",
    "InvalidURLError",
    "LeanAPIError",
    "LeanAdapter",
    "LeanConnectTimeout",
    "LeanConnectionError",
    "LeanError",
    "LeanPoolTimeout",
    "LeanProxyError",
    "LeanReadTimeout",
    "LeanSession",
    "LeanTLSError",
    "LeanTimeout",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReconnectRequiredError",
    "Region",
    "ResponseDecodingError",
    "RetryPolicy",
    "ServerError",
    "SessionCopyError",
    "TooManyRedirectsError",
    "__version__",
    "to_dataframe",
]
