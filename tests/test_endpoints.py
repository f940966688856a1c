"""The endpoint list against Lean's published contract (the vendored
``lean_mtls/testing/lean_contract.json``)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from lean_mtls.resources._endpoints import ENDPOINTS, by_key, contract_endpoints
from lean_mtls.testing._contract import load_contract

CONTRACT = load_contract()
CONTRACT_ENDPOINTS = {(e["method"], e["path"]): e for e in CONTRACT["endpoints"]}


def body_names(shape: Any, prefix: str = "") -> set[str]:
    """Dotted names of a body shape: ``a.b`` for nesting, ``a[].b`` for list elements."""
    names: set[str] = set()
    if isinstance(shape, dict):
        for key, value in shape.items():
            name = f"{prefix}.{key}" if prefix else key
            names.add(name)
            names |= body_names(value, name)
    elif isinstance(shape, list):
        for item in shape:
            names |= body_names(item, f"{prefix}[]" if prefix else "[]")
    return names


def test_the_list_has_each_of_the_63_contract_endpoints_exactly_once() -> None:
    declared = [(e.method, e.path) for e in contract_endpoints()]
    assert len(declared) == len(set(declared)) == 63
    assert set(declared) == set(CONTRACT_ENDPOINTS)


def test_hosts_and_regions_are_the_contract_s() -> None:
    for endpoint in contract_endpoints():
        lean = CONTRACT_ENDPOINTS[(endpoint.method, endpoint.path)]
        assert endpoint.host == lean["host"], endpoint.key
        assert set(endpoint.regions) == set(lean["regions"]), endpoint.key


def test_every_query_name_of_lean_s_request_is_declared() -> None:
    for endpoint in contract_endpoints():
        lean = CONTRACT_ENDPOINTS[(endpoint.method, endpoint.path)]
        declared = {p.name for p in endpoint.query}
        assert set(lean["query"]) <= declared, endpoint.key


def test_every_body_name_of_lean_s_requests_is_declared() -> None:
    for endpoint in contract_endpoints():
        lean = CONTRACT_ENDPOINTS[(endpoint.method, endpoint.path)]
        shapes = [lean.get("body"), *(lean.get("body_variants") or [])]
        wanted = set().union(*(body_names(shape) for shape in shapes if shape is not None))
        declared = {p.name for p in endpoint.body}
        # An object or a list of objects is declared through its members' names.
        missing = {name for name in wanted - declared
                   if not any(d.startswith((name + ".", name + "[]")) for d in declared)}
        assert not missing, (endpoint.key, missing)


def test_names_lean_marks_optional_are_not_always_sent() -> None:
    for endpoint in contract_endpoints():
        notes = CONTRACT_ENDPOINTS[(endpoint.method, endpoint.path)].get("body_notes") or {}
        optional = {name for name, note in notes.items() if "optional" in str(note).lower()}
        for param in endpoint.body:
            if param.name.rsplit(".", 1)[-1].replace("[]", "") in optional:
                assert not param.required, (endpoint.key, param.name)


def test_names_outside_the_contract_say_where_they_come_from() -> None:
    for endpoint in contract_endpoints():
        lean = CONTRACT_ENDPOINTS[(endpoint.method, endpoint.path)]
        lean_names = set(lean["query"]) | set().union(
            *(body_names(s) for s in [lean.get("body"), *(lean.get("body_variants") or [])] if s is not None))
        for param in (*endpoint.query, *endpoint.body):
            if param.name not in lean_names:
                assert param.source != "P", (endpoint.key, param.name)


def test_idempotency_follows_lean_s_headers() -> None:
    for endpoint in contract_endpoints():
        lean = CONTRACT_ENDPOINTS[(endpoint.method, endpoint.path)]
        if "Idempotency-Key" in lean["headers"]:
            assert endpoint.idempotency == "required", endpoint.key


def test_keys_are_unique_and_name_their_group() -> None:
    keys = [e.key for e in ENDPOINTS]
    assert len(keys) == len(set(keys))
    assert by_key("data.accounts").path == "/data/v2/accounts"
    with pytest.raises(KeyError):
        by_key("data.nothing")


def test_path_parameters_are_read_from_the_template() -> None:
    assert by_key("payments.get_payment_source").path_params == ("customer_id", "payment_source_id")
    assert by_key("customers.create").path == "/customers/v1/"  # Lean's trailing slash kept


def test_the_list_imports_neither_requests_nor_cryptography() -> None:
    code = (
        "import sys, importlib.util, pathlib\n"
        "import lean_mtls.resources\n"  # the package import itself is not what is measured
        "before = set(sys.modules)\n"
        "spec = importlib.util.find_spec('lean_mtls.resources._endpoints')\n"
        "src = pathlib.Path(spec.origin).read_text()\n"
        "assert 'import requests' not in src and 'cryptography' not in src.split('\"\"\"')[2]\n"
        "import lean_mtls.resources._endpoints\n"
        "new = set(sys.modules) - before\n"
        "assert not any(m.startswith(('requests', 'cryptography', 'urllib3')) for m in new), new\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
