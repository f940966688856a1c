"""Every lean error pickles and round-trips, without secrets (issue 10 item 17).

The classes are generated from lean_mtls.errors itself, so a class added later
is covered without editing this file.  multiprocessing and Celery move
exceptions between processes with pickle: an error that cannot be rebuilt
makes ``Pool.map`` hang and Celery hand back a bare ``LeanError``.
"""

from __future__ import annotations

import base64
import inspect
import multiprocessing
import pickle
from typing import Any

import pytest
import requests

import lean_mtls
from lean_mtls import LeanError, LeanSession, NotFoundError, errors, webhooks
from lean_mtls.testing import MTLSServer, Reply

from .conftest import APP_TOKEN, ClientFiles

#: A value for every field any error takes (by keyword name).
SAMPLE: dict[str, Any] = {
    "status_code": 404,
    "status": "ENTITY_NOT_FOUND",
    "body": {"status": "ENTITY_NOT_FOUND", "message": "no such entity", "metadata": None},
    "headers": {"x-request-id": "req-42", "content-type": "application/json"},
    "request_id": "req-42",
    "retry_after": 3.0,
    "results_id": "res-1",
    "granular_status_code": "BANK_MAINTENANCE",
    "status_additional_info": "back at noon",
    "source": "my_app_cert.crt",
    "side": "client",
    "phase": "connect",
    "request_sent": False,
    "unclosed_streams": 2,
    "reason": "mismatch",
}


def error_classes(module: object = errors) -> list[type[LeanError]]:
    found = [c for c in vars(module).values()
             if isinstance(c, type) and issubclass(c, LeanError) and c.__module__ == module.__name__]  # type: ignore[attr-defined]
    return sorted(found, key=lambda c: c.__name__)


def every_error_class() -> list[type[LeanError]]:
    """Those of lean_mtls.errors, and any other module's (webhooks)."""
    return error_classes() + error_classes(webhooks)


def accepted_fields(cls: type[LeanError]) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("lean_mtls") or "__init__" not in vars(klass):
            continue
        for parameter in inspect.signature(klass.__init__).parameters.values():  # type: ignore[misc]
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.name in SAMPLE:
                names.add(parameter.name)
    return names


def build(cls: type[LeanError]) -> LeanError:
    fields = {name: SAMPLE[name] for name in accepted_fields(cls)}
    error = cls(f"{cls.__name__} happened; see the docs", **fields)
    error.record_attempts(3)
    return error


def public_state(error: BaseException) -> dict[str, Any]:
    return {k: v for k, v in vars(error).items() if k not in {"request", "response"}}


def test_every_error_class_is_exported() -> None:
    assert {c.__name__ for c in error_classes()} == set(errors.__all__)
    assert set(errors.__all__) <= set(lean_mtls.__all__)


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: c.__name__)
def test_round_trip(cls: type[LeanError]) -> None:
    error = build(cls)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(error, protocol=protocol))  # noqa: S301 - our own bytes
        assert type(copy) is cls
        assert str(copy) == str(error) and copy.args == error.args
        assert copy.code == error.code and copy.attempts == 3
        assert public_state(copy) == public_state(error)
        for name in accepted_fields(cls):
            assert getattr(copy, name) == SAMPLE[name], name
        if isinstance(error, requests.RequestException):
            assert copy.request is None and copy.response is None  # never carried (credentials)


def _make(name: str) -> LeanError:
    return build(getattr(errors, name))


def _raise_not_found(_: int) -> None:
    raise build(NotFoundError)


def test_through_a_multiprocessing_pool() -> None:
    names = sorted(errors.__all__)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        made = pool.map(_make, names)
        with pytest.raises(NotFoundError) as info:
            pool.map(_raise_not_found, [1])
    assert [type(e).__name__ for e in made] == names
    assert all(public_state(e) == public_state(_make(n)) for e, n in zip(made, names))
    assert info.value.status == "ENTITY_NOT_FOUND" and info.value.request_id == "req-42"


def test_an_error_from_a_real_answer_pickles_without_the_token(server: MTLSServer, client_files: ClientFiles) -> None:
    # A gateway that echoes the request, credentials included, in its error body.
    server.set_handler(lambda r: Reply(404, {"status": "ENTITY_NOT_FOUND", "message": "no entity",
                                             "echo": f"lean-app-token: {r.headers.get('lean-app-token')}"},
                                       {"x-request-id": "req-7"}))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, retries=0) as session, pytest.raises(NotFoundError) as info:
        session.request_json("GET", "/customers/v1/123")
    error = info.value
    assert error.response is not None  # the live error keeps its response ...
    data = pickle.dumps(error)
    for spelling in (APP_TOKEN, base64.b64encode(APP_TOKEN.encode()).decode()):
        assert spelling.encode() not in data  # ... the pickle carries no credential
    copy = pickle.loads(data)  # noqa: S301 - our own bytes
    assert type(copy) is NotFoundError and isinstance(copy, requests.HTTPError)
    assert (copy.status_code, copy.status, copy.request_id) == (404, "ENTITY_NOT_FOUND", "req-7")
    assert copy.body["message"] == "no entity" and str(copy) == str(error)
