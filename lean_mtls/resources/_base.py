"""What every resource shares: the session it calls through and safe paths."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .._concurrent import Concurrency
from ..errors import InvalidRequestError
from ._pagination import PageFetcher, PageStyle, iter_items

if TYPE_CHECKING:
    from .._session import LeanSession


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


def drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class Resource:
    """Base of the resource groups: holds the session, knows paths, never TLS."""

    def __init__(self, session: LeanSession) -> None:
        self._session = session

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._session.request_json(method, path, **kwargs)

    def _iter_items(self, fetch: PageFetcher, style: PageStyle, *, item_key: str | None, page_size: int | None,
                    concurrency: Concurrency) -> Iterator[Any]:
        """The one page walker, with the session's pool size capping ``concurrency``."""
        return iter_items(fetch, style, item_key=item_key, page_size=page_size, concurrency=concurrency,
                          pool_size=getattr(self._session, "pool_size", None))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._session.base_url}>"
