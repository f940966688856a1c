"""Test helpers: a real mutual-TLS HTTP server on 127.0.0.1.

Nothing here is imported by ``import lean_mtls``; the certificate helpers need
the optional ``trustme`` package (``pip install 'lean-mtls[testing]'``).
"""

from ._server import MTLSServer, RecordedRequest, Reply

__all__ = ["MTLSServer", "RecordedRequest", "Reply"]
