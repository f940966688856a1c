"""Shared fixtures: a trustme PKI and real mutual-TLS servers on 127.0.0.1.

The server CA and the client CA are different on purpose, as at Lean: the
app's ``ca=`` must hold the server's chain, and the server must trust the
client's issuer, and a mix-up of the two has to fail.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import responses
import trustme

from lean_mtls import LeanSession
from lean_mtls.testing import MTLSServer

APP_TOKEN = "tok_sk_live_5f2e9c1d-SECRET-app-token-0001"
KEY_PASSWORD = "correct horse battery staple"


@dataclass
class ClientFiles:
    cert: Path
    key: Path
    ca: Path


#: For tests that give the portal's leaf without a CA bundle holding its issuer on purpose (host tables,
#: secrets, refusals) or a certificate from another CA: the SDK rightly warns that the chain it will send
#: is incomplete, which is not what they check.  pyproject turns any other CertificateWarning into an error.
incomplete_chain_is_not_the_point = pytest.mark.filterwarnings(
    "ignore:The chain sent is incomplete:lean_mtls.errors.CertificateWarning")

#: The origin used by tests that mock HTTP with ``responses`` (no socket is opened).
MOCK_BASE = "https://lean.test"


@pytest.fixture()
def session(client_files: ClientFiles) -> Iterator[LeanSession]:
    """A session for ``responses``-mocked tests of wrappers and error mapping
    (retries off, so error answers are not repeated).  Modules that talk to a
    real server define their own ``session``."""
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=MOCK_BASE, retries=0) as s:
        yield s


@pytest.fixture()
def mock() -> Iterator[responses.RequestsMock]:
    """A ``responses`` mock that fails the test if a registered answer is never used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as m:
        yield m


@pytest.fixture(scope="session")
def server_ca() -> trustme.CA:
    return trustme.CA(organization_name="Fake Lean Server CA")


@pytest.fixture(scope="session")
def client_root() -> trustme.CA:
    return trustme.CA(organization_name="Fake Lean Client Root")


@pytest.fixture(scope="session")
def client_intermediate(client_root: trustme.CA) -> trustme.CA:
    return client_root.create_child_ca()


@pytest.fixture(scope="session")
def client_leaf(client_intermediate: trustme.CA) -> trustme.LeafCert:
    return client_intermediate.issue_cert("app-1234@lean.test", common_name="app-1234")


def server_context(server_ca: trustme.CA, trusted_client_ca: trustme.CA | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    if trusted_client_ca is not None:
        trusted_client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@pytest.fixture(scope="session")
def mtls_server(server_ca: trustme.CA, client_root: trustme.CA) -> Iterator[MTLSServer]:
    """Demands a client certificate chaining to the client *root* only, so the
    client must send its intermediate."""
    with MTLSServer(server_context(server_ca, client_root)) as server:
        yield server


@pytest.fixture()
def server(mtls_server: MTLSServer) -> Iterator[MTLSServer]:
    """The shared server, reset to its default handler after each test."""
    from lean_mtls.testing._server import echo

    yield mtls_server
    mtls_server.set_handler(echo)


@pytest.fixture()
def client_files(tmp_path: Path, server_ca: trustme.CA, client_leaf: trustme.LeafCert,
                 client_intermediate: trustme.CA, client_root: trustme.CA) -> ClientFiles:
    """The three files as Lean's portal gives them: leaf only in the cert file,
    the key alone, and a CA bundle.  The client chain (intermediate and root)
    sits in the CA bundle, where Lean's lean_public_cert_chain.pem has it."""
    cert = tmp_path / "my_app_cert.crt"
    key = tmp_path / "my_app_private_key.pem"
    ca = tmp_path / "lean_public_cert_chain.pem"
    cert.write_bytes(client_leaf.cert_chain_pems[0].bytes())
    key.write_bytes(client_leaf.private_key_pem.bytes())
    ca.write_bytes(server_ca.cert_pem.bytes() + client_intermediate.cert_pem.bytes()
                   + client_root.cert_pem.bytes())
    return ClientFiles(cert, key, ca)
