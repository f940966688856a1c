"""The ``lean-mtls`` command line (also ``python -m lean_mtls``).

Subcommands, one module each, built on lean_mtls' public API:

``demo`` (:mod:`.demo`)
    Starts the local Lean emulator (:class:`lean_mtls.testing.FakeLean`, needs
    the ``[testing]`` extra) and walks a real mutual-TLS session
    against it.  No Lean account and no network needed.
``check`` (:mod:`.check`)
    A doctor for real credentials: reads its settings as
    :meth:`LeanSession.from_env` does (flags over ``LEAN_*`` variables), says
    what is wrong with the certificate, key and CA bundle and, with
    ``--ping``, calls ``GET /banks/v1/``.  Exit codes are stable, for cron jobs.
``banks``, ``customers create|get`` (:mod:`.api`)
    Thin calls for scripts, JSON on stdout, built with :meth:`LeanSession.from_env`.

Secrets (the app token, the key password) are only ever read from environment
variables and are never printed; SDK messages are given in command-line terms
(``--key-password-env``, not ``key_password=``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from .. import ConfigurationError, LeanError, __version__
from .._secrets import ScrubbingWriter  # the one secrets module scrubs everything printed
from . import api, check, demo
from ._output import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    EXIT_WARNING,
    UsageError,
    error_line,
    in_cli_terms,
)

__all__ = ["EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "EXIT_WARNING", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lean-mtls",
        description="Lean Technologies' open-banking API over mutual TLS: demo, credential doctor, scripting.",
        epilog="Run 'lean-mtls COMMAND --help' for a command's options. Start with: lean-mtls demo",
    )
    parser.add_argument("--version", action="version", version=f"lean-mtls {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the SDK does to stderr")
    # -v also after the command (`lean-mtls check -v`); SUPPRESS keeps a subcommand from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log what the SDK does to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    demo.add_parser(sub, common)
    check.add_parser(sub, common)
    api.add_parsers(sub, common)
    return parser


def _configure_logging(verbose: bool) -> None:
    if not verbose:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("lean_mtls")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``lean-mtls`` and ``python -m lean_mtls``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbingWriter(stdout), ScrubbingWriter(stderr)
    try:
        _configure_logging(args.verbose)
        with warnings.catch_warnings():
            # A CertificateWarning (or any other) is one "warning: ..." line in the command line's
            # terms, not Python's "file.py:758: CertificateWarning: ..." plus a source line.
            warnings.showwarning = _show_warning
            return _run(args, args.verbose)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    text = " ".join(str(message).split())
    print(f"warning: {in_cli_terms(text)}", file=file or sys.stderr)


def _run(args: argparse.Namespace, verbose: bool) -> int:
    try:
        return int(args.func(args))
    except UsageError as error:
        error_line(str(error))
        return EXIT_USAGE
    except ConfigurationError as error:
        error_line(in_cli_terms(error.message))
        return EXIT_USAGE
    except LeanError as error:
        error_line(in_cli_terms(error.message))
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (`lean-mtls banks | head`): no traceback, and no second error at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PROBLEM
    except Exception as error:  # noqa: BLE001 - a bug or an OS failure: one line, not a traceback
        if verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        error_line(f"unexpected {type(error).__name__}: {error} (run with -v for the traceback)")
        return EXIT_PROBLEM
