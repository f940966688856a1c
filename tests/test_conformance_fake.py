"""FakeLean against Lean's published contract (issue 9, item 6b), generated from the endpoint list.

For every endpoint of the vendored contract (``lean_mtls/testing/lean_contract.json``)
and every example answer Lean recorded for it (266), the request that produced
the example is rebuilt from the contract's request shape (method and path as Lean
spells them, query names, headers, body with Lean's literal values; type markers
filled with the emulator's seeded ids) and sent over mutual TLS.  Non-2xx examples
are produced the way they happen: a malformed id (400), an unknown one (404), a
duplicate (409, 429), an expired consent (403), no credentials (401), a queued data
status for Lean's FAILED answers, a queued server fault (500).  The emulator's
answer must have the example's status class and its shape, by LEAN_CONTRACT.md's
rules (:func:`lean_mtls.testing._shapes.shape_mismatches`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from lean_mtls.resources._endpoints import ENDPOINTS, contract_endpoints
from lean_mtls.testing import FakeLean
from lean_mtls.testing._contract import load_contract
from lean_mtls.testing._shapes import kind_of, shape_mismatches, vocabulary_mismatches

CONTRACT = load_contract()
MALFORMED = "not-a-uuid"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
#: A valid Saudi IBAN (checksum correct) that the emulator's banks do not hold.
UNKNOWN_SA_IBAN = "SA4420000001234567891234"
#: A valid UAE IBAN for new destinations.
NEW_IBAN = "AE070331234567890123456"


def _cases() -> list[Any]:
    cases = []
    for endpoint in CONTRACT["endpoints"]:
        for index, example in enumerate(endpoint["responses"]):
            name = f"{endpoint['method']} {endpoint['path']} [{example['region']}] {example['example']} #{index}"
            cases.append(pytest.param(endpoint, example, id=name))
    return cases


CASES = _cases()


def test_the_contract_is_whole() -> None:
    assert len(CONTRACT["endpoints"]) == 63 and len(CASES) == 266


def test_every_endpoint_of_the_list_is_routed(lean: FakeLean) -> None:
    """Each endpoint of the one list (contract and others) reaches a handler, not 404 INVALID_URL/405."""
    assert {(e.method, e.path) for e in contract_endpoints()} == {
        (e["method"], e["path"]) for e in CONTRACT["endpoints"]}
    assert lean.unrouted_endpoints() == []
    for endpoint in ENDPOINTS:
        assert lean.handler_for(endpoint.method, endpoint.path) is not None, endpoint.key


@pytest.fixture(scope="module")
def lean() -> Iterator[FakeLean]:
    with FakeLean() as server:  # the default world: a year of a salaried customer's banking
        yield server


@pytest.fixture(scope="module")
def http(lean: FakeLean) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.cert = (str(lean.cert_file), str(lean.key_file))
        session.verify = str(lean.ca_file)
        yield session


# ---------------------------------------------------------------------------- rebuilding Lean's request


def _ids(lean: FakeLean, path: str) -> dict[str, str]:
    """Seeded ids by Lean's parameter names (payout ids under /payouts/)."""
    ids = dict(lean.seeded_ids)
    ids.update(payment_destination_id=ids["destination_id"], destination_account_id=ids["destination_id"])
    if path.startswith("/payouts/v1/"):
        ids.update(payment_id=ids["payout_id"], payment_intent_id=ids["payout_intent_id"],
                   destination_id=ids["payout_destination_id"], payment_destination_id=ids["payout_destination_id"])
    return ids


def _scalar(key: str, marker: Any, ids: dict[str, str], lean: FakeLean) -> Any:
    """A value for one marker of Lean's request body, by the field's name."""
    if not isinstance(marker, str) or not marker.startswith("<"):
        return marker  # Lean's literal value (an IBAN, "AED", "FULL"...)
    today = dt.date.today()
    by_name: dict[str, Any] = {
        "full_name": lean.person_name, "client_id": lean.client_id, "client_secret": lean.client_secret,
        "grant_type": "client_credentials", "scope": "api", "language": "en", "period_type": "MONTH",
        "async": "false", "amount": 100 if marker == "<integer>" else "100.00",
    }
    if key in by_name:
        return by_name[key]
    if key in ids:
        return ids[key]
    if key.startswith("max_"):
        return "1000"
    if key == "iban":
        return NEW_IBAN
    return {"<integer>": 100, "<number>": 100.0, "<boolean>": False, "<date>": (today - dt.timedelta(days=30))
            .isoformat(), "<date-time>": dt.datetime.now(dt.timezone.utc).isoformat(),
            "<uuid>": str(uuid.uuid4())}.get(marker, f"conformance {key}")


def _fill(shape: Any, ids: dict[str, str], lean: FakeLean, key: str = "") -> Any:
    if isinstance(shape, dict):
        return {k: _fill(v, ids, lean, k) for k, v in shape.items()}
    if isinstance(shape, list):
        return [_fill(item, ids, lean, key) for item in shape]
    return _scalar(key, shape, ids, lean)


def _query(endpoint: dict[str, Any], ids: dict[str, str]) -> dict[str, str]:
    values = {"page": "0", "size": "10", "page_number": "0", "page_size": "10", "async": "false", "meta": "false",
              "account_types": "PERSONAL", "status": "PENDING",
              "start_date": (dt.date.today() - dt.timedelta(days=90)).isoformat(),
              "end_date": dt.date.today().isoformat()}
    return {name: ids.get(name) or values[name] for name in endpoint["query"]}


class Request:
    def __init__(self, lean: FakeLean, endpoint: dict[str, Any], example: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.ids = _ids(lean, endpoint["path"])
        self.params = _query(endpoint, self.ids)
        shape = endpoint.get("body")
        country = example["example"][:2]
        for variant in endpoint.get("body_variants") or ():  # account verification: one body per country
            if isinstance(variant, dict) and variant.get("country_code") == country:
                shape = variant
        self.body = _fill(shape, self.ids, lean) if shape is not None else None
        self.headers = {"lean-app-token": lean.app_token}
        for name in endpoint["headers"]:
            if name.lower() in {"idempotency-key", "lean-correlation-id"}:
                self.headers[name] = str(uuid.uuid4())
        if endpoint["host"] == "auth":
            del self.headers["lean-app-token"]

    def path(self) -> str:
        path = self.endpoint["path"]
        for name, value in self.ids.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        return path

    def send(self, lean: FakeLean, http: requests.Session) -> requests.Response:
        kind = self.endpoint.get("body_kind")
        data = self.body if kind == "form" else None
        json_body = self.body if kind == "json" else None
        return http.request(self.endpoint["method"], lean.url + self.path(), params=self.params,
                            headers=self.headers, data=data, json=json_body, timeout=30)

    def set_everywhere(self, name: str, value: str) -> None:
        """Put ``value`` for ``name`` in the path, the query and the body."""
        self.ids[name] = value
        if name in self.params:
            self.params[name] = value
        if isinstance(self.body, dict) and name in self.body:
            self.body[name] = value


def _first_word(example: str) -> str:
    return example.split(" ", 1)[0]


def _arrange(lean: FakeLean, http: requests.Session, request: Request, example: dict[str, Any]) -> None:
    """Bring about the state or fault that made Lean answer ``example``."""
    status, name = example["status"], example["example"]
    path = request.endpoint["path"]
    if path in {"/verifications/v1/corporates", "/verifications/v1/freelancers"} and status == 200:
        request.body["type"] = _first_word(name)
    if status is None or status < 300:
        if " - " in name and path == "/verifications/v1/accounts":
            outcome = name.rsplit(" - ", 1)[1]
            if outcome not in {"OK", "BLOCKED", "CLOSED", "IN_LIQUIDATION"}:
                lean.set_data_status("FAILED", granular_status_code=outcome)
        if path == "/customers/v1/":
            request.body["app_user_id"] = f"conformance-{uuid.uuid4()}"
        if path == "/oauth2/token" and request.endpoint["responses"].index(example) % 2:
            request.body["scope"] = f"customer.{lean.customer_id}"
        return
    if status == 500:
        lean.fail_next(500)
    elif status == 401:
        request.headers.pop("lean-app-token", None)
    elif status == 403 and "Consent expired" in name:
        lean.expire_consent(lean.entity_id)
    elif status == 403:
        lean.fail_next(403)
    elif status == 409:
        request.body["app_user_id"] = lean.app_user_id
    elif status == 429:
        assert request.send(lean, http).status_code == 200
    elif status == 404 and path == "/verifications/v1/accounts":
        request.body["account_details"]["value"] = UNKNOWN_SA_IBAN
    elif status == 404:
        target = {"Account": "account_id", "Result": "results_id"}.get(_first_word(name), "entity_id")
        if "{refresh_id}" in path:
            target = "refresh_id"
        request.set_everywhere(target, UNKNOWN)
    elif status == 400 and path == "/verifications/v1/freelancers":
        request.body["identifications"][0]["type"] = "NOT_A_TYPE"
    elif status == 400:
        request.set_everywhere("refresh_id" if "{refresh_id}" in path else "entity_id", MALFORMED)


def answer(lean: FakeLean, http: requests.Session, endpoint: dict[str, Any],
           example: dict[str, Any]) -> tuple[requests.Response, Any]:
    """The emulator's answer to Lean's request for ``example``, in the seeded state."""
    lean.reset()
    request = Request(lean, endpoint, example)
    _arrange(lean, http, request, example)
    response = request.send(lean, http)
    body = response.json() if response.content else None
    return response, body


def _status_class(status: int | None) -> int:
    return 2 if status is None else status // 100


@pytest.mark.parametrize(("endpoint", "example"), CASES)
def test_the_emulator_answers_like_lean(lean: FakeLean, http: requests.Session, endpoint: dict[str, Any],
                                        example: dict[str, Any]) -> None:
    response, body = answer(lean, http, endpoint, example)
    assert response.status_code // 100 == _status_class(example["status"]), (response.status_code, body)
    assert shape_mismatches(example["body"], body) == []
    assert vocabulary_mismatches(example["body"], body) == []
    assert lean.errors == []


# ---------------------------------------------------------------------------- the comparator itself


def test_the_comparator_follows_the_contract_rules() -> None:
    lean_example = {"a": "<integer>", "b": {"c": ["<string>"]}, "d": [{"x": "<uuid>"}, {"y": None}], "e": None}
    assert shape_mismatches(lean_example, {"a": 1.5, "b": {"c": ["s"]}, "d": [{"x": "u"}, {"y": 3}],
                                           "e": {"any": 1}, "extra": True}) == []
    assert shape_mismatches(lean_example, {"a": "1", "b": {"c": "s"}, "d": [{"x": "u"}], "e": 1}) == [
        "$.a: expected number, got string", "$.b.c: expected list, got string", "$.d[]: missing key 'y'"]
    assert shape_mismatches(lean_example, {"a": None, "b": None, "d": []}) == [
        "$.d: empty list where Lean's example has elements", "$: missing key 'e'"]
    assert shape_mismatches({"v": "<boolean>"}, {"v": 0}) == ["$.v: expected boolean, got number"]
    assert kind_of("OK") == "string" and kind_of("<number>") == "number" and kind_of(True) == "boolean"
    lean_says = {"status": "OK", "message": "OK", "items": [{"account_sub_type": "CURRENT"}]}
    assert vocabulary_mismatches(lean_says, {"status": "PENDING", "message": "Done",
                                             "items": [{"account_sub_type": "SAVINGS"}]}) == []
    assert vocabulary_mismatches(lean_says, {"status": "ok", "items": [{"account_sub_type": "Current"}]}) == [
        "$.status: Lean says 'OK', got 'ok'", "$.items[].account_sub_type: Lean says 'CURRENT', got 'Current'"]


# ---------------------------------------------------------------------------- Lean's checks on requests


def _ok_example(endpoint: dict[str, Any]) -> dict[str, Any]:
    for example in endpoint["responses"]:
        if example["status"] in (None, 200, 201) and not example["example"].startswith(("FULL ", "BASIC", "SA ")):
            return dict(example)
    return {"region": "UAE", "example": "OK", "status": 200, "body": None}


def _by_path(method: str, path: str) -> dict[str, Any]:
    return next(e for e in CONTRACT["endpoints"] if e["method"] == method and e["path"] == path)


def _required_body_cases() -> list[Any]:
    from lean_mtls.testing._core import DEFAULTED_BODY_NAMES

    cases = []
    for endpoint in contract_endpoints():
        if endpoint.body_kind != "json":
            continue
        for param in endpoint.body:
            if param.required and not param.copied and param.name not in DEFAULTED_BODY_NAMES:
                cases.append(pytest.param(endpoint.method, endpoint.path, param.name,
                                          id=f"{endpoint.key} without {param.name}"))
    return cases


def _drop(body: Any, parts: list[str]) -> None:
    """Remove the dotted name (``[]``: the first element of a list) from Lean's request body."""
    head, rest = parts[0], parts[1:]
    if head == "[]":
        _drop(body[0], rest)
    elif not rest:
        del body[head]
    else:
        _drop(body[head], rest)


@pytest.mark.parametrize(("method", "path", "name"), _required_body_cases())
def test_a_required_body_field_left_out_is_refused_as_lean_does(lean: FakeLean, http: requests.Session, method: str,
                                                                path: str, name: str) -> None:
    endpoint = _by_path(method, path)
    lean.reset()
    request = Request(lean, endpoint, _ok_example(endpoint))
    _drop(request.body, [p for p in name.replace("[]", ".[]").split(".") if p])
    response = request.send(lean, http)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == "MISSING_PARAMETERS" and name.split(".")[-1].strip("[]") in \
        response.json()["message"]
    assert shape_mismatches({"timestamp": "<date-time>", "status": "<string>", "message": "<string>",
                             "metadata": None}, response.json()) == []


def _id_cases() -> list[Any]:
    return [pytest.param(e.method, e.path, name, id=f"{e.key} {name}")
            for e in contract_endpoints() for name in e.path_params
            if name.endswith("_id") and name != "app_user_id"]


@pytest.mark.parametrize(("method", "path", "name"), _id_cases())
def test_a_malformed_id_is_400_and_an_unknown_one_404(lean: FakeLean, http: requests.Session, method: str, path: str,
                                                      name: str) -> None:
    endpoint = _by_path(method, path)
    for value, status, code in ((MALFORMED, 400, "INVALID_PARAMETERS"), (UNKNOWN, 404, None)):
        lean.reset()
        request = Request(lean, endpoint, _ok_example(endpoint))
        request.ids[name] = value
        response = request.send(lean, http)
        assert response.status_code == status, (value, response.text)
        assert code is None or response.json()["status"] == code


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=f"{e['method']} {e['path']}") for e in CONTRACT["endpoints"]])
def test_the_other_trailing_slash_spelling_is_not_routed(lean: FakeLean, http: requests.Session,
                                                         endpoint: dict[str, Any]) -> None:
    path = endpoint["path"]
    other = path[:-1] if path.endswith("/") else path + "/"
    if any(e["method"] == endpoint["method"] and e["path"] == other for e in CONTRACT["endpoints"]):
        pytest.fail("the contract lists both spellings")  # it does not; this keeps the test honest
    lean.reset()
    request = Request(lean, endpoint, _ok_example(endpoint))
    request.endpoint = {**endpoint, "path": other}
    request.headers["lean-app-token"] = lean.app_token  # so that the answer is about the path, not credentials
    response = request.send(lean, http)
    assert response.status_code in {404, 405}
    assert response.json()["status"] in {"INVALID_URL", "INVALID_HTTP_METHOD"}


#: The answers the emulator does not model whole: the parts of these beyond what it computes (a KSA
#: corporate's commercial-registry record) are filled in from Lean's example.  Every other answer has
#: Lean's shape from the emulator's own state.
FILLED_IN = {("POST", "/verifications/v1/corporates")}


@pytest.mark.parametrize(("endpoint", "example"), [case for case in CASES
                                                   if (case.values[0]["method"], case.values[0]["path"])
                                                   not in FILLED_IN])
def test_core_answers_are_modelled_whole(lean: FakeLean, http: requests.Session, endpoint: dict[str, Any],
                                         example: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import lean_mtls.testing.fake as fake_module

    monkeypatch.setattr(fake_module, "complete", lambda body, shape: body)  # no fill-in from Lean's example
    response, body = answer(lean, http, endpoint, example)
    assert response.status_code // 100 == _status_class(example["status"])
    assert shape_mismatches(example["body"], body) == []
