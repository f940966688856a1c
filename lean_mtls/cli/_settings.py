"""The connection options every command shares, read the way the SDK reads them.

Flags win over ``LEAN_*`` variables: the command line lays its flags over the
environment's ``LEAN_*`` variables and hands the result to
:meth:`LeanSession.settings_from_env` / :meth:`LeanSession.from_env`, so a
value the SDK refuses is refused here with the SDK's own message (naming the
flag instead of the variable when the value came from a flag).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import ConfigurationError, LeanSession
from ._output import UsageError, in_cli_terms, keep_secret

DEFAULT_TIMEOUT = 10.0

#: Flag destination -> the variable it stands for.
_FILE_AND_HOST_FLAGS = {
    "cert": "LEAN_CERT",
    "key": "LEAN_KEY",
    "ca": "LEAN_CA",
    "environment": "LEAN_ENVIRONMENT",
    "region": "LEAN_REGION",
    "base_url": "LEAN_BASE_URL",
}
_SECRET_VARS = ("LEAN_APP_TOKEN", "LEAN_KEY_PASSWORD", "LEAN_CLIENT_ID", "LEAN_CLIENT_SECRET")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:  # the session refuses these too (no "wait for ever")
        raise argparse.ArgumentTypeError(f"expected a positive, finite number of seconds, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more days, got {text!r}")
    return value


def add_connection_options(parser: argparse.ArgumentParser) -> None:
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
    # No argparse choices: the SDK checks the value (any case, as LEAN_ENVIRONMENT and environment= take it)
    # and refuses it with its own message naming the flag.
    group.add_argument("--environment", metavar="{sandbox,production}",
                       help="Lean environment, any case (default: $LEAN_ENVIRONMENT or sandbox)")
    group.add_argument("--region", metavar="{uae,ksa}", help="Lean region, any case (default: $LEAN_REGION or uae)")
    group.add_argument("--base-url", metavar="URL",
                       help="API base URL, overriding environment/region (default: $LEAN_BASE_URL)")
    group.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"connect and read timeout (default: {DEFAULT_TIMEOUT:g})")


@dataclass
class CLISettings:
    """The ``LEAN_*`` variables as the SDK will read them, flags laid over the environment."""

    environ: dict[str, str]
    #: Variable -> the flag its value came from (for messages).
    flagged: dict[str, str]
    #: What :meth:`LeanSession.settings_from_env` made of them (checked).
    kwargs: dict[str, Any]

    def explain_text(self, message: str) -> str:
        """An SDK message in the command line's terms."""
        return in_cli_terms(message, self.flagged)

    def explain(self, error: Exception) -> str:
        """An SDK error's message in the command line's terms."""
        message = error.message if isinstance(error, ConfigurationError) else str(error)
        return in_cli_terms(message, self.flagged)

    def session(self, **overrides: Any) -> LeanSession:
        """``LeanSession.from_env`` on these variables; raises a ``ConfigurationError``
        in command-line terms when the SDK refuses them."""
        try:
            return LeanSession.from_env(self.environ, **overrides)
        except ConfigurationError as error:
            raise _retold(error, self.explain(error)) from None


def _retold(error: ConfigurationError, message: str) -> ConfigurationError:
    error.message = message
    error.args = (message,)
    return error


def _secret_var(flag_var: str | None, default_var: str, flag: str, environ: Mapping[str, str]) -> str | None:
    """The value of the variable a ``--*-env`` flag names (which must then be set), else of ``default_var``."""
    if flag_var:
        value = environ.get(flag_var)
        if not value:
            raise UsageError(f"the environment variable {flag_var} (named by {flag}) is not set or empty.")
        return value
    return environ.get(default_var) or None


def read_cli_settings(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> CLISettings:
    """Flags over ``LEAN_*`` variables, checked by the SDK's own settings reader.

    Raises :class:`UsageError` for a ``--*-env`` flag naming an unset variable
    and :class:`ConfigurationError` (in command-line terms) for a value the SDK
    refuses, such as ``LEAN_ENVIRONMENT=prod``.
    """
    source = os.environ if environ is None else environ
    merged = {name: value for name, value in source.items() if name.startswith("LEAN_")}
    for var in _SECRET_VARS:
        keep_secret(merged.get(var))
    flagged: dict[str, str] = {}
    for dest, var in _FILE_AND_HOST_FLAGS.items():
        value = getattr(args, dest, None)
        if value:
            merged[var] = value
            flagged[var] = "--" + dest.replace("_", "-")
    for dest, var, flag in (("key_password_env", "LEAN_KEY_PASSWORD", "--key-password-env"),
                            ("app_token_env", "LEAN_APP_TOKEN", "--app-token-env")):
        named = getattr(args, dest, None)
        value = _secret_var(named, var, flag, source)
        keep_secret(value)
        if named:
            flagged[var] = named  # "set MY_VAR", the variable the user named
        if value is not None:
            merged[var] = value
        else:
            merged.pop(var, None)
    settings = CLISettings(merged, flagged, {})
    try:
        # Every check from_env() makes before reading files, the credentials
        # included: a doctor that said "healthy" without the token would tell a
        # cron job the application can start.
        settings.kwargs = LeanSession.check_env(merged)
    except ConfigurationError as error:
        raise _retold(error, settings.explain(error)) from None
    return settings
