"""lean-mtls: Lean Technologies' open-banking API over mutual TLS, on requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._adapter import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT, LeanAdapter
from ._auth import AppTokenAuth, ClientCredentialsAuth
from ._concurrent import DEFAULT_CONCURRENCY, Concurrency, ConcurrencyBudget
from ._credentials import SYSTEM_TRUST_STORE, CertificateInfo, CertSource, Password
from ._dataframe import to_dataframe
from ._environments import AuthMode, AuthModeName, Environment, EnvironmentName, Region, RegionName
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
from ._retry import DEFAULT_RETRY, RetryOption, RetryPolicy
from ._session import DEFAULT_TIMEOUT, LeanSession, TimeoutType
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
    InvalidJSONBodyError,
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
    ResponseJSONDecodeError,
    ResultPendingError,
    ServerError,
    SessionCopyError,
    TooManyRedirectsError,
    WalkForkedError,
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
    "AuthModeName",
    "AuthenticationError",
    "BadRequestError",
    "CAInspection",
    "CertOption",
    "CertSource",
    "CertificateError",
    "CertificateInfo",
    "CertificateWarning",
    "ChainCertificate",
    "ClientCredentialsAuth",
    "Concurrency",
    "ConcurrencyBudget",
    "ConfigurationError",
    "ConflictError",
    "ConsentExpiredError",
    "CredentialFinding",
    "CredentialInspection",
    "DataFailedError",
    "DataOrPending",
    "DataStatusError",
    "DateLike",
    "DateTimeLike",
    "Environment",
    "EnvironmentName",
    "ExportRecord",
    "HeadersLike",
    "IncompleteResponseError",
    "InvalidHeaderError",
    "InvalidJSONBodyError",
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
    "Password",
    "PendingResult",
    "PermissionDeniedError",
    "RateLimitError",
    "ReconnectRequiredError",
    "Region",
    "RegionName",
    "ResponseDecodingError",
    "ResponseJSONDecodeError",
    "ResultPendingError",
    "RetryOption",
    "RetryPolicy",
    "ServerError",
    "SessionCopyError",
    "TimeoutType",
    "TooManyRedirectsError",
    "WalkForkedError",
    "WebhookBody",
    "WebhookSecret",
    "__version__",
    "inspect_credentials",
    "to_dataframe",
    "write_jsonl",
]

#: Public names whose modules load on first use, so that ``import lean_mtls``
#: stays as cheap as before (the resources and webhooks are not imported).
_LAZY = {
    "CertOption": "lean_mtls._credentials",
    "PendingResult": "lean_mtls.resources._results",
    "DataOrPending": "lean_mtls.resources._results",
    "DateLike": "lean_mtls.resources._params",
    "DateTimeLike": "lean_mtls.resources._params",
    "HeadersLike": "lean_mtls.webhooks",
    "WebhookBody": "lean_mtls.webhooks",
    "WebhookSecret": "lean_mtls.webhooks",
}

if TYPE_CHECKING:
    from ._credentials import CertOption
    from .resources._params import DateLike, DateTimeLike
    from .resources._results import DataOrPending, PendingResult
    from .webhooks import HeadersLike, WebhookBody, WebhookSecret


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lean_mtls' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value
