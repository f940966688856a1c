"""Decoding JSON answers as declared (charset, Content-Encoding) and refusing what cannot be
read with an error that says why, over real TLS on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator

import pytest

from lean_mtls import BadRequestError, InvalidResponseError, LeanSession
from lean_mtls.testing import MTLSServer, Reply

from .conftest import APP_TOKEN, ClientFiles


@pytest.fixture()
def session(server: MTLSServer, client_files: ClientFiles) -> Iterator[LeanSession]:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, retries=0) as s:
        yield s


def answer(server: MTLSServer, body: bytes, status: int = 200, **headers: str) -> None:
    fields = {name.replace("_", "-"): value for name, value in headers.items()}
    server.set_handler(lambda r: Reply(status, body, headers=fields))


NAME = {"name": "Café Dubaï", "bank": "مصرف الراجحي"}


@pytest.mark.parametrize(("charset", "payload"), [
    ("iso-8859-1", {"name": "Café Dubaï"}),
    ("ISO-8859-1", {"name": "Café Dubaï"}),
    ('"latin1"', {"name": "Café Dubaï"}),
    ("windows-1256", {"bank": "مصرف الراجحي"}),
    ("utf-16", NAME),
    ("utf-8", NAME),
])
def test_json_is_decoded_with_the_declared_charset(session: LeanSession, server: MTLSServer, charset: str,
                                                   payload: dict[str, str]) -> None:
    codec = charset.strip('"')
    answer(server, json.dumps(payload, ensure_ascii=False).encode(codec),
           Content_Type=f"application/json; charset={charset}")
    assert session.request_json("GET", "/customers/v1/") == payload


@pytest.mark.parametrize("body", [
    json.dumps(NAME, ensure_ascii=False).encode("utf-16-le"),  # no BOM: detected as RFC 8259 allows
    json.dumps(NAME, ensure_ascii=False).encode("utf-32"),
    b"\xef\xbb\xbf" + json.dumps(NAME, ensure_ascii=False).encode(),  # UTF-8 with a BOM
], ids=["utf-16-le", "utf-32", "utf-8-bom"])
def test_json_without_a_charset_is_detected(session: LeanSession, server: MTLSServer, body: bytes) -> None:
    answer(server, body, Content_Type="application/json")
    assert session.request_json("GET", "/customers/v1/") == NAME


def test_a_bom_with_a_declared_utf8_charset_is_accepted(session: LeanSession, server: MTLSServer) -> None:
    answer(server, b"\xef\xbb\xbf" + json.dumps(NAME).encode(), Content_Type="application/json; charset=UTF-8")
    assert session.request_json("GET", "/customers/v1/") == NAME


def test_an_unknown_charset_is_named(session: LeanSession, server: MTLSServer) -> None:
    answer(server, b'{"a": 1}', Content_Type="application/json; charset=x-klingon")
    with pytest.raises(InvalidResponseError, match="charset 'x-klingon'"):
        session.request_json("GET", "/customers/v1/")


def test_bytes_that_are_not_the_declared_charset_are_named(session: LeanSession, server: MTLSServer) -> None:
    answer(server, '{"name": "Café"}'.encode("latin-1"), Content_Type="application/json; charset=utf-8")
    with pytest.raises(InvalidResponseError, match="not valid utf-8"):
        session.request_json("GET", "/customers/v1/")


@pytest.mark.parametrize(("coding", "named"), [
    ("br", "install brotli"),
    ("zstd", "install zstandard"),
    ("compress", "'compress'"),
    ("x-lean-secret", "'x-lean-secret'"),
    ("gzip, br", "'br'"),
])
def test_an_undecodable_content_encoding_is_named_not_called_invalid_json(
        session: LeanSession, server: MTLSServer, coding: str, named: str) -> None:
    if (coding == "br" and _installed("brotli")) or (coding == "zstd" and _installed("zstandard")):
        pytest.fail(f"this test needs an environment without the {coding} decoder")
    answer(server, b"\x1b\x07\x00\xf8\xa5@\x02\x9d\x0f", Content_Type="application/json", Content_Encoding=coding)
    with pytest.raises(InvalidResponseError) as info:
        session.request_json("GET", "/customers/v1/")
    message = str(info.value)
    assert "Content-Encoding" in message and named in message
    assert "not valid JSON" not in message


@pytest.mark.parametrize("coding", ["gzip", "deflate", "identity"])
def test_codings_we_can_decode_are_decoded(session: LeanSession, server: MTLSServer, coding: str) -> None:
    raw = json.dumps(NAME).encode()
    body = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": bytes}[coding](raw)
    answer(server, body, Content_Type="application/json", Content_Encoding=coding)
    assert session.request_json("GET", "/customers/v1/") == NAME


@pytest.mark.parametrize("shape", ["lists", "objects"])
def test_a_deeply_nested_body_is_an_invalid_response_not_a_recursion_error(
        session: LeanSession, server: MTLSServer, shape: str) -> None:
    depth = 100_000  # 200 KB
    body = b"[" * depth + b"]" * depth if shape == "lists" else b'{"a":' * depth + b"1" + b"}" * depth
    answer(server, body, Content_Type="application/json")
    with pytest.raises(InvalidResponseError, match="nested more deeply"):
        session.request_json("GET", "/customers/v1/")


def test_a_deeply_nested_error_body_still_gives_the_api_error(session: LeanSession, server: MTLSServer) -> None:
    answer(server, b"[" * 100_000 + b"]" * 100_000, status=400, Content_Type="application/json")
    with pytest.raises(BadRequestError) as info:
        session.request_json("GET", "/customers/v1/")
    assert info.value.status_code == 400


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
