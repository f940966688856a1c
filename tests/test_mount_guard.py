"""mount() cannot take the client certificate and CA away from Lean (issue 10 item 18).

The usual requests recipe, ``s.mount(base_url + "/", HTTPAdapter(max_retries=Retry(3)))``,
would silently replace the adapter that holds the session's TLS material.  The
choice made: such mounts are refused with a message pointing to ``retries=`` and
``mount_certificate``; mounts on other hosts' own prefixes work as in requests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lean_mtls import ConfigurationError, LeanAdapter, LeanSession
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN, ClientFiles


@pytest.fixture()
def session(server: MTLSServer, client_files: ClientFiles) -> Iterator[LeanSession]:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url) as s:
        yield s


def still_mutual_tls(session: LeanSession, server: MTLSServer) -> None:
    assert session.get("/banks/v1/").status_code == 200
    assert server.requests[-1].client_subject_cn == "app-1234"


def test_the_requests_retry_recipe_is_refused_and_the_certificate_stays(session: LeanSession,
                                                                       server: MTLSServer) -> None:
    with pytest.raises(ConfigurationError) as info:
        session.mount(session.base_url + "/", HTTPAdapter(max_retries=Retry(3)))
    message = str(info.value)
    assert "retries=" in message and "mount_certificate" in message
    still_mutual_tls(session, server)


@pytest.mark.parametrize("spelling", [
    "{url}", "{url}/", "{url}/customers/", "{URL}/", " {url}/ ", "https://", "https:", "", "http://",
])
def test_every_spelling_covering_the_lean_origin_is_refused(session: LeanSession, server: MTLSServer,
                                                            spelling: str) -> None:
    prefix = spelling.format(url=server.url, URL=server.url.upper())
    with pytest.raises(ConfigurationError):
        session.mount(prefix, HTTPAdapter())
    still_mutual_tls(session, server)


@pytest.mark.parametrize("prefix", [
    "https://mtls.sandbox.leantech.me", "https://mtls.sandbox.leantech.me/", "HTTPS://MTLS.SANDBOX.LEANTECH.ME/",
    "https://mtls.sandbox.leantech.me./", "https://mtls.sandbox.leantech.me:443/", "https://mtls.sandbox",
    "https://api.leantech.me/",  # Lean's production host, from a sandbox session
])
def test_lean_hosts_in_any_spelling(client_files: ClientFiles, prefix: str) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca) as session:
        with pytest.raises(ConfigurationError, match="retries="):
            session.mount(prefix, HTTPAdapter(max_retries=3))
        assert isinstance(session.get_adapter("https://mtls.sandbox.leantech.me/banks/v1/"), LeanAdapter)


def test_other_hosts_and_lean_adapters_still_mount(session: LeanSession, server: MTLSServer,
                                                   client_files: ClientFiles) -> None:
    plain = HTTPAdapter()
    session.mount("https://api.other-bank.example/", plain)
    assert session.get_adapter("https://api.other-bank.example/x") is plain
    # mount_certificate on the Lean origin builds a LeanAdapter: it keeps TLS material by construction.
    session.mount_certificate(server.url, cert=client_files.cert, key=client_files.key, ca=client_files.ca)
    still_mutual_tls(session, server)


def test_a_plain_requests_session_is_unaffected() -> None:
    plain = requests.Session()
    plain.mount("https://", HTTPAdapter(max_retries=Retry(3)))  # requests' own behaviour is untouched
