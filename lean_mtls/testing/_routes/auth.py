"""``POST /oauth2/token``: OAuth2 client credentials, API and customer-scoped tokens (the auth host)."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from typing import Any

from .._backend import Backend
from .._core import TOKEN_LIFETIME, Call, Handler, Token, same
from .._server import Reply

__all__ = ["HANDLERS"]


def token(b: Backend, call: Call) -> Reply:
    form = call.form()
    client_id, secret = form.get("client_id"), form.get("client_secret")
    basic = call.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            client_id, _, secret = base64.b64decode(basic[6:].strip()).decode("utf-8").partition(":")
    if form.get("grant_type") != "client_credentials":
        return Reply(400, {"error": "unsupported_grant_type",
                           "error_description": "Only grant_type=client_credentials is supported."})
    if not (same(client_id, b.client_id) and same(secret, b.client_secret)):
        return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed."})
    scope = form.get("scope") or "api"
    if scope != "api" and not (scope.startswith("customer.") and scope[9:] in b.state.customers):
        return Reply(400, {"error": "invalid_scope",
                           "error_description": "scope must be 'api' or 'customer.<customer_id>'."})
    now = int(time.time())
    claims = {"sub": b.client_id, "aud": b.owner.url_or_empty, "nbf": now,
              "scope": ["api"] if scope == "api" else [scope], "iss": b.owner.url_or_empty,
              "exp": now + TOKEN_LIFETIME, "iat": now, "jti": b.new_id(),
              "applications": [{"id": b.client_id}]}

    def part(data: Any) -> str:
        raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    token = ".".join((part({"kid": "fakelean", "alg": "RS256"}), part(claims),
                      part(b.ids.getrandbits(2048).to_bytes(256, "big"))))
    b.tokens[token] = Token(time.time() + TOKEN_LIFETIME, scope)
    return Reply(200, {"access_token": token, "scope": scope, "token_type": "Bearer",
                       "expires_in": TOKEN_LIFETIME}, {"Cache-Control": "no-store"})


HANDLERS: dict[str, Handler] = {"customers.access_token": token}
