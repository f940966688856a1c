"""The ``lean_mtls`` logger and the filter that keeps secrets out of it.

Application code formats things into log messages that the SDK never sees,
such as an exception raised by requests with a URL, a header dict printed at
DEBUG, or a traceback with notes.  The filter scrubs every record that passes
through the ``lean_mtls`` logger: values the SDK knows are secrets, private-key
PEM blocks, and credential header or form values.  It rewrites the message,
the formatted exception (including ``__notes__``) and stack text.

The same filter sits on urllib3's loggers: at DEBUG they log every request
line, and a record that leaves the process through *their* handlers must be
as clean as one of ours.  What counts as secret is decided in
:mod:`lean_mtls._secrets`, not here.
"""

from __future__ import annotations

import logging
import traceback

from ._secrets import scrub

LOGGER_NAME = "lean_mtls"
#: Third-party loggers that see our requests (a logger's filters only apply to records
#: logged on that very logger, so each module logger gets the filter).
SCRUBBED_LOGGERS = (
    LOGGER_NAME,
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)


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
    """Give the ``lean_mtls`` logger its NullHandler, and it and urllib3's loggers
    the redacting filter (once)."""
    for name in SCRUBBED_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    return logger
