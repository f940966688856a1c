"""Mapping Lean's answers to typed errors (through ``responses``; TLS is in test_tls)."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests
import responses

from lean_mtls import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidResponseError,
    LeanAPIError,
    LeanError,
    LeanSession,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

from .conftest import MOCK_BASE

BASE = MOCK_BASE



def lean_error_body(status: str, message: str) -> dict[str, object]:
    return {"timestamp": "2026-11-23T10:00:00.000Z", "status": status, "message": message, "metadata": None}


@pytest.mark.parametrize(
    ("http", "status", "cls"),
    [
        (400, "INVALID_PARAMETERS", BadRequestError),
        (401, "CERTIFICATE_TOKEN_MISMATCH", AuthenticationError),
        (403, "INSUFFICIENT_ACCESS_LEVEL", PermissionDeniedError),
        (404, "INVALID_URL", NotFoundError),
        (405, "INVALID_HTTP_METHOD", LeanAPIError),
        (409, "CUSTOMER_ALREADY_EXISTS", ConflictError),
        (429, "RATE_LIMIT_EXCEEDED", RateLimitError),
        (500, "INTERNAL_SERVER_ERROR", ServerError),
        (503, "SERVICE_UNAVAILABLE", ServerError),
    ],
)
@responses.activate
def test_json_error_bodies(session: LeanSession, http: int, status: str, cls: type[LeanAPIError]) -> None:
    responses.get(f"{BASE}/banks/v1/", json=lean_error_body(status, "Something is off"), status=http,
                  headers={"x-request-id": "req-42"})
    with pytest.raises(cls) as info:
        session.banks.list()
    error = info.value
    assert type(error) is cls
    assert error.status_code == http
    assert error.status == status
    assert error.body["message"] == "Something is off"
    assert error.request_id == "req-42"
    assert error.code == "remote-threw"
    assert f"HTTP {http}" in str(error) and status in str(error) and "Something is off" in str(error)
    assert "GET /banks/v1/" in str(error)
    assert isinstance(error, requests.HTTPError) and isinstance(error, LeanError)
    assert error.response is not None and error.response.status_code == http


@responses.activate
def test_retry_after_seconds_and_http_date(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", json=lean_error_body("RATE_LIMIT_EXCEEDED", "slow down"), status=429,
                  headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as info:
        session.banks.list()
    assert info.value.retry_after == 7.0

    responses.replace(responses.GET, f"{BASE}/banks/v1/", status=429, body="",
                      headers={"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)})
    with pytest.raises(RateLimitError) as info:
        session.banks.list()
    assert info.value.retry_after is not None and 25 <= info.value.retry_after <= 31


NGINX_SSL_PAGE = (
    "<html>\r\n<head><title>400 The SSL certificate error</title></head>\r\n<body>\r\n"
    "<center><h1>400 Bad Request</h1></center>\r\n<center>The SSL certificate error</center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@responses.activate
def test_html_error_page_from_a_proxy(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", body=NGINX_SSL_PAGE, status=400, content_type="text/html")
    with pytest.raises(BadRequestError) as info:
        session.banks.list()
    text = str(info.value)
    assert "HTTP 400" in text and "400 The SSL certificate error" in text
    assert "<html>" not in text
    assert "client certificate" in text
    assert info.value.status is None
    assert info.value.body == NGINX_SSL_PAGE


@responses.activate
def test_long_text_error_body_is_cut_to_a_snippet(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", body="upstream exploded " * 200, status=502, content_type="text/plain")
    with pytest.raises(ServerError) as info:
        session.banks.list()
    assert "HTTP 502" in str(info.value)
    assert len(str(info.value)) < 500


@responses.activate
def test_empty_401_body(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", body="", status=401)
    with pytest.raises(AuthenticationError, match=r"HTTP 401 .*empty body"):
        session.banks.list()


@responses.activate
def test_truncated_json_on_success(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", body='[{"identifier": "LEANMB1", "name": "Lean Mo', status=200,
                  content_type="application/json")
    with pytest.raises(InvalidResponseError) as info:
        session.banks.list()
    assert info.value.code == "invalid-response"
    assert info.value.status_code == 200
    assert isinstance(info.value, requests.exceptions.InvalidJSONError)
    assert "not valid JSON" in str(info.value)


@responses.activate
def test_truncated_json_error_body_keeps_status(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", body='{"status": "INTERNAL_SERV', status=500,
                  content_type="application/json")
    with pytest.raises(ServerError) as info:
        session.banks.list()
    assert info.value.status_code == 500
    assert "non-JSON body" in str(info.value)


@responses.activate
def test_empty_success_body_is_none(session: LeanSession) -> None:
    responses.delete(f"{BASE}/thing", status=204)
    assert session.request_json("DELETE", "/thing") is None


@responses.activate
def test_html_success_body_is_invalid_response(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", body="<html><title>Login</title></html>", status=200,
                  content_type="text/html")
    with pytest.raises(InvalidResponseError, match="Login"):
        session.banks.list()


@responses.activate
def test_json_error_body_in_another_shape(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", status=502,
                  json={"errors": [{"code": "UPSTREAM", "detail": "upstream connect error"}]})
    with pytest.raises(ServerError) as info:
        session.banks.list()
    assert "upstream connect error" in str(info.value) and "not a Lean error" in str(info.value)
    assert info.value.status is None and info.value.body["errors"][0]["code"] == "UPSTREAM"
