"""The public surface is a promise: changing it must be a deliberate act."""

from __future__ import annotations

import enum
import subprocess
import sys

import pytest

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
    "WalkForkedError",
    "SessionCopyError",
    "ResponseDecodingError",
    "ResponseJSONDecodeError",
    "MalformedResponseError",
    "LeanReadTimeout",
    "LeanPoolTimeout",
    "LeanConnectTimeout",
    "InvalidURLError",
    "InvalidSchemaError",
    "InvalidHeaderError",
    "InvalidJSONBodyError",
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
    # type aliases of public signatures (issue 12 item 8)
    "AuthModeName",
    "CertOption",
    "CertSource",
    "Concurrency",
    "DataOrPending",
    "DateLike",
    "DateTimeLike",
    "EnvironmentName",
    "HeadersLike",
    "Password",
    "RegionName",
    "RetryOption",
    "TimeoutType",
    "WebhookBody",
    "WebhookSecret",
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


def test_type_aliases_of_public_signatures_are_exported_lazily() -> None:
    """Every alias used in a public signature imports from lean_mtls; the heavy
    ones (resources, webhooks) only load when asked for."""
    code = (
        "import sys, lean_mtls\n"
        "heavy = lambda: sorted(m for m in sys.modules"
        " if m.startswith(('lean_mtls.resources', 'lean_mtls.webhooks')))\n"
        "before = heavy()\n"
        "from lean_mtls import DateLike, DateTimeLike, DataOrPending, HeadersLike, WebhookBody, WebhookSecret\n"
        "from lean_mtls import CertSource, Password, TimeoutType, RetryOption, EnvironmentName, RegionName\n"
        "from lean_mtls import AuthModeName, Concurrency, CertOption\n"
        "print(before, 'lean_mtls.webhooks' in heavy(), 'lean_mtls.resources._params' in heavy())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] True True"
    import typing

    import lean_mtls.resources._params as params
    import lean_mtls.webhooks as webhooks

    assert lean_mtls.DateLike is params.DateLike
    assert lean_mtls.HeadersLike is webhooks.HeadersLike
    assert typing.get_args(lean_mtls.EnvironmentName) == ("sandbox", "production")
    assert typing.get_args(lean_mtls.RegionName) == ("uae", "ksa")
    with pytest.raises(AttributeError):
        lean_mtls.NoSuchName  # noqa: B018


def test_help_documents_every_constructor_parameter() -> None:
    """help(LeanSession) and IDE hovers show the class docstring: every
    parameter with its type and default (and unit where it has one)."""
    import inspect

    doc = inspect.getdoc(lean_mtls.LeanSession) or ""
    for name, parameter in inspect.signature(lean_mtls.LeanSession.__init__).parameters.items():
        if name == "self":
            continue
        line = next((ln for ln in doc.splitlines() if ln.startswith(f"{name} (")), None)
        assert line is not None, f"{name} is not documented"
        assert "default" in line, line
        default = parameter.default
        if isinstance(default, (bool, int, float, str)) and not isinstance(default, enum.Enum):
            assert repr(default) in line or str(default) in line, line
    for name in ("timeout", "pool_timeout"):
        assert "seconds" in next(ln for ln in doc.splitlines() if ln.startswith(f"{name} ("))
    assert "bytes" in next(ln for ln in doc.splitlines() if ln.startswith("max_response_bytes ("))
