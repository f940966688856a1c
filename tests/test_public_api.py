"""The public surface is a promise: changing it must be a deliberate act."""

from __future__ import annotations

import subprocess
import sys

import lean_mtls
import lean_mtls.errors

EXPECTED = {
    "DEFAULT_CONCURRENCY",
    "CLOCK_SKEW_TOLERANCE",
    "SYSTEM_TRUST_STORE",
    "CAInspection",
    "CertificateWarning",
    "ChainCertificate",
    "CredentialFinding",
    "CredentialInspection",
    "inspect_credentials",
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
    "ExportRecord",
    "InvalidRequestError",
    "TooManyRedirectsError",
    "SessionCopyError",
    "ResponseDecodingError",
    "MalformedResponseError",
    "LeanReadTimeout",
    "LeanPoolTimeout",
    "LeanConnectTimeout",
    "InvalidURLError",
    "InvalidSchemaError",
    "InvalidHeaderError",
    "IncompleteResponseError",
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
    "PendingResult",
    "ReconnectRequiredError",
    "Region",
    "ResultPendingError",
    "RetryPolicy",
    "ServerError",
    "__version__",
    "to_dataframe",
    "write_jsonl",
}


def test_exported_names() -> None:
    assert set(lean_mtls.__all__) == EXPECTED
    for name in lean_mtls.__all__:
        assert hasattr(lean_mtls, name), name


def test_every_error_is_exported_and_has_a_code() -> None:
    for name in lean_mtls.errors.__all__:
        cls = getattr(lean_mtls.errors, name)
        assert getattr(lean_mtls, name) is cls
        assert issubclass(cls, lean_mtls.LeanError)
        assert isinstance(cls.code, str) and cls.code


def test_import_does_not_load_cryptography_or_resources() -> None:
    code = (
        "import sys, lean_mtls; "
        "print(sorted(m for m in sys.modules if m.startswith(('cryptography', 'lean_mtls.resources', 'trustme'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
