"""What every resource shares: the client interface it calls through, the
per-call options, safe path building and the call itself.

Resources depend on :class:`LeanClient`, a three-method interface, not on
``LeanSession``: the session implements it, and so can a test double or an
instrumented wrapper.  Every resource method sends its request through
:meth:`Resource._call`, which reads the endpoint's method, path, data-status
and idempotency rule from the one endpoint list
(:mod:`lean_mtls.resources._endpoints`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Union
from urllib.parse import quote

from .._concurrent import Concurrency, session_slots
from .._retry import IDEMPOTENCY_HEADER, idempotency_key_of
from ..errors import InvalidRequestError
from ._endpoints import Endpoint, PageStyle, by_key
from ._pagination import PageFetcher, iter_items

if TYPE_CHECKING:
    import requests

    from .._retry import RetryOption

__all__ = ["CallOptions", "LeanClient", "Resource", "build_path", "new_idempotency_key", "segment"]

#: A per-call timeout: seconds, ``(connect, read)`` seconds, or ``None`` for the session's default.
TimeoutOption = Union[float, "tuple[float, float]", None]


class CallOptions(TypedDict, total=False):
    """Options every resource method accepts as keyword arguments.

    ``idempotency_key``: sent as ``Idempotency-Key`` (Lean de-duplicates on
    it, and it makes a POST safe to retry); money-moving calls generate one
    (uuid4) when not given.  ``timeout``: this call's timeout in seconds or
    ``(connect, read)``, instead of the session's.  ``retries``: an int or a
    :class:`~lean_mtls.RetryPolicy` for this call (``0``: no retry).
    ``headers``: extra headers, e.g. Lean's ``lean-correlation-id``.
    """

    idempotency_key: str
    timeout: TimeoutOption
    retries: RetryOption
    headers: Mapping[str, str]


_OPTION_NAMES = frozenset(CallOptions.__annotations__)


class LeanClient(Protocol):
    """What resources need from a session: send a request, send one and parse
    its JSON, send a data call (whose ``status`` is checked)."""

    base_url: str

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response: ...

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any: ...

    def request_data(self, method: str, path: str, **kwargs: Any) -> Any: ...


def segment(value: object, name: str) -> str:
    """Percent-encode ``value`` as exactly one path segment.

    Identifiers come from users and from webhooks; ``/`` is encoded and dot
    segments are refused so that an id can never point the request at
    another endpoint.
    """
    # str(None) is "None" and str(b"x") is "b'x'": both would quietly address
    # the wrong resource, so only text and integers are identifiers.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidRequestError(f"{name} must be a string identifier, got {type(value).__name__}.")
    text = str(value)
    if not text or text in {".", ".."} or not text.isprintable():
        raise InvalidRequestError(f"{name} must be a non-empty identifier, got {value!r}.")
    return quote(text, safe="")


def build_path(template: str, values: Mapping[str, object] | None = None) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]`` as one safe segment."""
    parts = []
    for part in template.split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            parts.append(segment((values or {}).get(name), name))
        else:
            parts.append(part)
    return "/".join(parts)


_REASON = re.compile(r"[A-Z][A-Z0-9_]*")


def reason_code(reason: object) -> str:
    """A deletion's ``reason``: one of Lean's upper-case codes (``USER_REQUESTED`` is the one Lean
    documents; others are passed through, since Lean's full list is not published), never free text,
    an empty string or another type, which Lean answers 400."""
    if not isinstance(reason, str) or not _REASON.fullmatch(reason):
        raise InvalidRequestError(
            f"reason must be one of Lean's reason codes such as 'USER_REQUESTED', got {reason!r}.")
    return reason


def drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def new_idempotency_key() -> str:
    """A fresh key for one logical money-moving call."""
    return str(uuid.uuid4())


def request_options(endpoint: Endpoint, options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``LeanSession.request`` keyword arguments for ``options`` on ``endpoint``."""
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise InvalidRequestError(
            f"Unknown option(s) for {endpoint.key}: {', '.join(sorted(unknown))}; "
            f"the per-call options are {', '.join(sorted(_OPTION_NAMES))}."
        )
    kwargs: dict[str, Any] = {}
    headers = options.get("headers")
    if headers is not None and not isinstance(headers, Mapping):
        raise InvalidRequestError(f"headers must be a mapping of names to values, got {type(headers).__name__}.")
    headers = dict(headers or {})
    given = options.get("idempotency_key")
    if given is not None and (not isinstance(given, str) or not given.strip()):
        raise InvalidRequestError(f"idempotency_key must be a non-empty string, got {given!r}.")
    # A key passed as a header (any spelling: code moved over from plain
    # requests, Lean's own collections) is the caller's key: it is kept, never
    # replaced by a fresh one, which would turn a retried payout into two.
    key = idempotency_key_of(headers, given)
    if key is None and endpoint.idempotency != "none":
        key = new_idempotency_key()
    if key is not None:
        headers = {name: value for name, value in headers.items()
                   if not (isinstance(name, str) and name.lower() == IDEMPOTENCY_HEADER.lower())}
        kwargs["idempotency_key"] = key
    if headers:
        kwargs["headers"] = headers
    for name in ("timeout", "retries"):
        if options.get(name) is not None:
            kwargs[name] = options[name]
    return kwargs


def check_walk_options(endpoint: Endpoint, options: Mapping[str, Any]) -> None:
    """Refuse, before the first page, options a page walk cannot honour.

    Unknown names and bad values raise as on any call.  An idempotency key
    (``idempotency_key=`` or an ``Idempotency-Key`` header) is refused: the
    walk's requests are GETs, which Lean does not de-duplicate, and one key
    repeated on every page would claim that different requests are the same one.
    """
    request_options(endpoint, options)
    if idempotency_key_of(options.get("headers"), options.get("idempotency_key")) is not None:
        raise InvalidRequestError(
            f"An iter_* walk of {endpoint.key} takes no idempotency key: its requests are GETs (safe to "
            "retry without one), and one key on every page would mark different requests as the same."
        )


class Resource:
    """Base of the resource groups: holds the client, knows paths, never TLS."""

    def __init__(self, client: LeanClient) -> None:
        self._client = client

    def _call(
        self,
        key: str,
        path_params: Mapping[str, object] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        options: Mapping[str, Any] | None = None,
        path: str | None = None,
    ) -> Any:
        """Send the request of endpoint ``key`` and return Lean's parsed JSON.

        ``path`` overrides the endpoint's path (a configured alternative);
        data calls go through :meth:`LeanClient.request_data`.
        """
        endpoint = by_key(key)
        url = path if path is not None else build_path(endpoint.path, path_params)
        kwargs = request_options(endpoint, options or {})
        if params:
            kwargs["params"] = dict(params)
        if json is not None:
            kwargs["json"] = json
        send = self._client.request_data if endpoint.data_call else self._client.request_json
        return send(endpoint.method, url, **kwargs)

    def _iter_items(self, fetch: PageFetcher, style: PageStyle, *, item_key: str | None, page_size: int | None,
                    concurrency: Concurrency, key: str, options: Mapping[str, Any]) -> Iterator[Any]:
        """The one page walker, with the session's pool size capping ``concurrency``.

        ``options`` (those of the ``iter_*`` call, for endpoint ``key``) are
        checked here, at the call, not at the first ``next()``."""
        check_walk_options(by_key(key), options)
        return iter_items(fetch, style, item_key=item_key, page_size=page_size, concurrency=concurrency,
                          slots=session_slots(self._client))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client.base_url}>"
