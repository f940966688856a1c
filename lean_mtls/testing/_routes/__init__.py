"""FakeLean's routing, read from the one endpoint list (:mod:`lean_mtls.resources._endpoints`).

Each resource group is a module with a ``HANDLERS`` table from endpoint keys
(``"data.accounts"``) to handler functions ``(backend, call) -> Reply``.  The
:class:`Router` compiles every endpoint's path template, exactly as Lean spells
it (a trailing slash is part of the path: ``POST /customers/v1/`` is routed,
``POST /customers/v1`` is not), plus its ``alt_paths``; literal segments win
over ``{parameters}`` (``/payments/v1/intents`` before ``/payments/v1/{payment_id}``).
An endpoint of the list without a handler is reported by
:attr:`Router.unrouted` (a test keeps it empty).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ...resources._endpoints import ENDPOINTS, Endpoint
from .._core import Handler
from . import auth, banks, consents, customers, data, insights, payments, payouts, verifications

__all__ = ["HANDLERS", "Route", "Router"]

HANDLERS: dict[str, Handler] = {}
for _module in (auth, banks, customers, data, insights, verifications, payments, consents, payouts):
    HANDLERS.update(_module.HANDLERS)

_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One compiled path of one endpoint."""

    endpoint: Endpoint
    template: str
    pattern: re.Pattern[str]
    handler: Handler

    @property
    def public(self) -> bool:
        """The OAuth token endpoint (auth host) takes client credentials, not an API token."""
        return self.endpoint.host == "auth"


def _compile(template: str) -> re.Pattern[str]:
    parts = _PARAMETER.split(template)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(regex)


def _specificity(template: str) -> tuple[int, ...]:
    """Sort key: at the first segment where two paths differ, a literal beats a parameter."""
    return tuple(1 if segment.startswith("{") else 0 for segment in template.strip("/").split("/"))


class Router:
    """Method + path -> the route, its path arguments, and the methods the path allows (for 405)."""

    def __init__(self, endpoints: tuple[Endpoint, ...] | list[Endpoint] = ENDPOINTS,
                 handlers: dict[str, Handler] | None = None) -> None:
        table = HANDLERS if handlers is None else handlers
        self.unrouted = [e.key for e in endpoints if e.key not in table]
        routes = [Route(e, path, _compile(path), table[e.key])
                  for e in endpoints if e.key in table for path in (e.path, *e.alt_paths)]
        self.routes = sorted(routes, key=lambda r: _specificity(r.template))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        allowed: list[str] = []
        wanted = "GET" if method == "HEAD" else method
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.endpoint.method == wanted:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}, allowed
            allowed.append(route.endpoint.method)
        return None, {}, allowed
