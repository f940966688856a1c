"""What the command line writes: exit codes, one-line errors, JSON.  Every
line goes through :class:`lean_mtls._secrets.ScrubbingWriter`, and secrets read
from the environment are registered there (:func:`keep_secret`).

Messages that come from the SDK speak Python (``key_password=``,
``LeanSession.from_env()``); :func:`in_cli_terms` turns them into the flags a
command-line user can type.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from .._extras import install_hint
from .._secrets import remember

#: Exit codes of ``lean-mtls`` (``check`` uses all four).
EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_WARNING = 3

TESTING_EXTRA_HINT = install_hint("testing")


class UsageError(Exception):
    """A problem with how the command was called (exit 2)."""


#: Constructor keyword -> how a command-line user gives the same thing.
FLAGS = {
    "cert": "--cert",
    "key": "--key",
    "ca": "--ca",
    "key_password": "--key-password-env VAR",
    "app_token": "--app-token-env VAR",
    "environment": "--environment",
    "region": "--region",
    "base_url": "--base-url",
    "timeout": "--timeout",
}
#: Names distinctive enough to replace also where they appear without "=".
_BARE = {
    "key_password": "the key password (LEAN_KEY_PASSWORD, or the variable named by --key-password-env)",
    "app_token": "the app token (LEAN_APP_TOKEN, or the variable named by --app-token-env)",
    "base_url": "--base-url",
}

_KEYWORD = re.compile(r"\b(" + "|".join(FLAGS) + r")=(?![\w'\"])|(?<!['\w])(" + "|".join(_BARE) + r")\b(?!')")
_FROM_ENV = re.compile(r"LeanSession\.from_env\(\) reads (LEAN_[A-Z_]+)")
#: ``environment='production'`` (a keyword with its value) -> ``--environment production``.
_KEYWORD_VALUE = re.compile(r"\b(environment|region)='([^']*)'")


def in_cli_terms(message: str, flagged: Mapping[str, str] | None = None) -> str:
    """An SDK message as a command-line user needs it: Python keywords become
    flags, and a ``LEAN_*`` variable whose value came from a flag becomes that
    flag (``flagged`` maps the variable to the flag)."""
    message = _FROM_ENV.sub(r"the CLI also reads \1", message)
    message = _KEYWORD_VALUE.sub(lambda m: f"--{m.group(1)} {m.group(2)}", message)
    message = _KEYWORD.sub(lambda m: FLAGS[m.group(1)] if m.group(1) else _BARE[m.group(2)], message)
    for var, flag in (flagged or {}).items():
        message = re.sub(rf"\b{var}\b", flag, message)
    return message


def keep_secret(value: str | None) -> None:
    """Never print ``value`` (a token, password or secret read from the environment)."""
    if value:
        remember(value)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_line(message: str, stream: TextIO | None = None) -> None:
    print(f"error: {one_line(message)}", file=stream or sys.stderr)


def dump_json(obj: Any, stream: TextIO | None = None) -> None:
    # One write of the whole document, so that scrubbing sees every value whole.
    (stream or sys.stdout).write(json.dumps(obj, indent=2, default=str) + "\n")


def fmt_time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
