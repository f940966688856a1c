"""lean-mtls: Lean Technologies' open-banking API over mutual TLS, on requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._adapter import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT, LeanAdapter
from ._auth import AppTokenAuth, ClientCredentialsAuth
from ._concurrent import DEFAULT_CONCURRENCY, ConcurrencyBudget
from ._credentials import SYSTEM_TRUST_STORE, CertificateInfo
from ._dataframe import to_dataframe
from ._environments import AuthMode, Environment, Region
from ._export import ExportRecord, write_jsonl
from ._inspection import (
    CLOCK_SKEW_TOLERANCE,
    CAInspection,
    ChainCertificate,
    CredentialFinding,
    CredentialInspection,
    inspect_credentials,
)
from ._logging import install as _install_logging
from ._retry import DEFAULT_RETRY, RetryPolicy
from ._session import DEFAULT_TIMEOUT, LeanSession
from ._version import __version__
from .errors import (
    AuthenticationError,
    BadRequestError,
    CertificateError,
    CertificateWarning,
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
    ResultPendingError,
    ServerError,
    SessionCopyError,
    TooManyRedirectsError,
)

_install_logging()

__all__ = [
    "CLOCK_SKEW_TOLERANCE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_POOL_TIMEOUT",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "SYSTEM_TRUST_STORE",
    "AppTokenAuth",
    "AuthMode",
    "AuthenticationError",
    "BadRequestError",
    "CAInspection",
    "CertificateError",
    "CertificateInfo",
    "CertificateWarning",
    "ChainCertificate",
    "ClientCredentialsAuth",
    "ConcurrencyBudget",
    "ConfigurationError",
    "ConflictError",
    "ConsentExpiredError",
    "CredentialFinding",
    "CredentialInspection",
    "DataFailedError",
    "DataStatusError",
    "Environment",
    "ExportRecord",
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
    "PendingResult",
    "PermissionDeniedError",
    "RateLimitError",
    "ReconnectRequiredError",
    "Region",
    "ResponseDecodingError",
    "ResultPendingError",
    "RetryPolicy",
    "ServerError",
    "SessionCopyError",
    "TooManyRedirectsError",
    "__version__",
    "inspect_credentials",
    "to_dataframe",
    "write_jsonl",
]

if TYPE_CHECKING:
    from .resources._results import PendingResult


def __getattr__(name: str) -> Any:
    # PendingResult lives with the resources, which load on first use so that
    # ``import lean_mtls`` stays cheap for cron scripts.
    if name == "PendingResult":
        from .resources._results import PendingResult

        return PendingResult
    raise AttributeError(f"module 'lean_mtls' has no attribute {name!r}")
