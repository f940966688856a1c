"""See lean-mtls make real mutual-TLS calls, with no Lean account and no network.

Run:  python -m pip install '.[testing]' && python samples/quickstart.py

It creates a throw-away PKI (a "Lean" server CA and an app certificate issued
through an intermediate, as Lean's portal does), writes the three files Lean's
developer portal gives you, starts a local HTTPS server on 127.0.0.1 that
*demands* a client certificate and a lean-app-token, and then uses
``LeanSession`` exactly as you would against https://mtls.sandbox.leantech.me.
"""

from __future__ import annotations

import re
import ssl
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

try:
    import trustme
except ImportError:  # pragma: no cover - guidance for a missing extra
    sys.exit("This sample needs the testing extra: python -m pip install 'lean-mtls[testing]'")

from lean_mtls import ConflictError, LeanSession, LeanTLSError
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

APP_TOKEN = "sample-app-token-not-a-real-one"  # a fake token for a local server
BANKS = [
    {"identifier": "LEANMB1", "name": "Lean Mockbank One", "country_code": "ARE", "active": True},
    {"identifier": "ENBD_UAE", "name": "Emirates NBD", "country_code": "ARE", "active": True},
]


def fake_lean() -> tuple[dict[str, dict[str, str]], Callable[[RecordedRequest], Reply]]:
    customers: dict[str, dict[str, str]] = {}

    def handle(request: RecordedRequest) -> Reply:
        if request.headers.get("lean-app-token") != APP_TOKEN:
            return Reply(401, {"status": "INVALID_TOKEN", "message": "Missing or invalid lean-app-token"})
        path = request.path.split("?")[0].rstrip("/")
        if request.method == "GET" and path == "/banks/v1":
            return Reply(200, BANKS)
        if request.method == "POST" and path == "/customers/v1":
            app_user_id = request.json()["app_user_id"]
            if any(c["app_user_id"] == app_user_id for c in customers.values()):
                return Reply(409, {"status": "CUSTOMER_ALREADY_EXISTS", "metadata": None,
                                   "message": f"Customer with app_user_id {app_user_id} already exists"})
            customer = {"customer_id": str(uuid.uuid4()), "app_user_id": app_user_id}
            customers[customer["customer_id"]] = customer
            return Reply(200, customer)
        match = re.fullmatch(r"/customers/v1/app-user-id/(.+)", path)
        if match:
            found = [c for c in customers.values() if c["app_user_id"] == match.group(1)]
            return Reply(200, found[0]) if found else Reply(404, {"status": "UNKNOWN_CUSTOMER", "message": "?"})
        return Reply(404, {"status": "INVALID_URL", "message": f"No route for {request.method} {path}"})

    return customers, handle


def main() -> int:
    server_ca = trustme.CA(organization_name="Local Lean Server CA")
    client_root = trustme.CA(organization_name="Local Lean Client Root")
    client_leaf = client_root.create_child_ca().issue_cert("my-app@example.com", common_name="my-app")

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_root.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no service

    _, handler = fake_lean()
    with tempfile.TemporaryDirectory() as folder, MTLSServer(server_context, handler) as server:
        cert = Path(folder, "my_app_cert.crt")
        key = Path(folder, "my_app_private_key.pem")
        ca = Path(folder, "lean_public_cert_chain.pem")
        cert.write_bytes(client_leaf.cert_chain_pems[0].bytes())  # the leaf alone, as downloaded
        key.write_bytes(client_leaf.private_key_pem.bytes())
        chain = b"".join(b.bytes() for b in client_leaf.cert_chain_pems[1:]) + client_root.cert_pem.bytes()
        ca.write_bytes(server_ca.cert_pem.bytes() + chain)  # Lean ships one chain file for both

        print(f"Local mTLS server: {server.url} (demands a client certificate)")
        with LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url=server.url) as lean:
            print(f"Session: {lean!r}")
            banks = lean.banks.list()
            print(f"GET /banks/v1/ -> {len(banks)} banks: {', '.join(b['name'] for b in banks)}")

            customer = lean.customers.create("user-42")
            print(f"POST /customers/v1/ -> customer_id {customer['customer_id']}")
            try:
                lean.customers.create("user-42")
            except ConflictError as exc:
                print(f"POST again -> {type(exc).__name__} {exc.status}: handled, fetching instead")
                customer = lean.customers.get_by_app_user_id("user-42")
            print(f"GET /customers/v1/app-user-id/user-42 -> {customer}")

            seen = server.requests[-1]
            print(f"The server saw client certificate CN={seen.client_subject_cn!r} over {seen.tls_version}, "
                  f"with the chain completed from {ca.name}")

        wrong_ca = Path(folder, "someone_elses_chain.pem")
        wrong_ca.write_bytes(trustme.CA().cert_pem.bytes())
        with LeanSession(APP_TOKEN, cert=cert, key=key, ca=wrong_ca, base_url=server.url) as lean:
            try:
                lean.banks.list()
            except LeanTLSError as exc:
                print(f"With the wrong CA file -> {type(exc).__name__} (side={exc.side}): {exc}")
    print("Done: every call above went over mutual TLS on 127.0.0.1.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
