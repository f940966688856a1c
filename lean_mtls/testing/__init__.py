"""Test helpers: a real mutual-TLS HTTP server on 127.0.0.1, and a Lean emulator on it.

Nothing here is imported by ``import lean_mtls``; the certificate helpers need
the optional ``trustme`` package (the ``[testing]`` extra, or ``pip install trustme``), which
is imported only when a :class:`FakeLean` starts.

* :class:`MTLSServer`, :class:`Reply`, :class:`RecordedRequest`: a threaded
  HTTPS server that can demand client certificates, for your own handlers.
* :class:`FakeLean`: a local Lean API on that server, with seeded data: all 63
  endpoints of Lean's published contract (UAE and KSA: banks, customers,
  entities, data, insights, verifications, payments, consents, payouts,
  refunds, OAuth), checked against the vendored contract
  (``lean_contract.json``), sending Lean's webhooks when its state changes.
* The pytest plugin :mod:`lean_mtls.testing.pytest_plugin` gives the
  ``lean_server`` (reset per test), ``lean_server_persistent``,
  ``lean_session`` and ``lean_server_factory`` fixtures, and a
  ``vcr_config`` for pytest-recording that keeps credentials out of cassettes.
* :func:`vcr_config`: the same settings for vcrpy used directly.
"""

from ._server import MTLSServer, RecordedRequest, Reply
from ._vcr import vcr_config
from .fake import DATA_STATUSES, FakeLean

__all__ = ["DATA_STATUSES", "FakeLean", "MTLSServer", "RecordedRequest", "Reply", "vcr_config"]
