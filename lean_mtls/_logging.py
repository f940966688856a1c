"""The ``lean_mtls`` logger and the filter that keeps secrets out of it.

Application code formats things into log messages that the SDK never sees,
such as an exception raised by requests with a URL, a header dict printed at
DEBUG, or a traceback with notes.  The filter scrubs every record that passes
through the ``lean_mtls`` logger: values the SDK knows are secrets, private-key
PEM blocks, and credential header or form values.  It rewrites the message,
the formatted exception (including ``__notes__``) and stack text.
"""

from __future__ import annotations

import logging
import traceback

from ._secrets import scrub

LOGGER_NAME = "lean_mtls"


class RedactingFilter(logging.Filter):
    """Scrub secrets from a record's message, exception text and stack text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not break logging
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = scrub(text)
            record.exc_info = None  # handlers would format the raw exception again otherwise
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def install() -> logging.Logger:
    """Give the ``lean_mtls`` logger its NullHandler and redacting filter (once)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    return logger
