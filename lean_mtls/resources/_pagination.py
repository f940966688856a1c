"""One lazy page walker for every ``iter_*`` method.

Lean pages its lists in two styles and under two keys (see LEAN_API.md,
"Pagination conventions"):

* ``page``/``size`` for Data API v2 and payment intents, ``page_number``/
  ``page_size`` for customers, the entities date range, consents and payouts;
* the list under ``data`` (most) or ``content`` (data refreshes), and for
  Data API v2 nested one level down, under the data type:
  ``{"status": "OK", "data": {"type": "transactions", "transactions": [...], "page": {...}}}``.

The walker asks for the largest page Lean allows (fewer round trips for a
full export), fetches up to ``concurrency`` pages ahead in parallel while
handing the items out in Lean's order (:mod:`lean_mtls._concurrent`), holds at most
``concurrency`` pages (memory does not grow with the number of pages
consumed) and makes no request until the first item is asked for.  It
stops on the first of: an empty page, a body without page information,
``page.number + 1 >= page.total_pages``, or (when Lean leaves
``total_pages`` out) a page shorter than the size requested.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Callable, TypeVar

from .._concurrent import DEFAULT_CONCURRENCY, ConcurrencyBudget, SessionSlots, as_budget, ordered_pages
from ..errors import InvalidRequestError, InvalidResponseError

# The page styles are data of the endpoint list (one place for each endpoint's
# paging); re-exported here for the walkers and for compatibility.
from ._endpoints import (
    CUSTOMERS,
    DATA_V2,
    ENTITIES,
    MAX_DATA_PAGE_SIZE,
    MAX_ENTITIES_PAGE_SIZE,
    MAX_LIST_PAGE_SIZE,
    PAYMENT_INTENTS,
    REFRESHES,
    PageStyle,
)

MAX_CUSTOMERS_PAGE_SIZE = MAX_LIST_PAGE_SIZE
MAX_PAYMENT_INTENTS_PAGE_SIZE = MAX_LIST_PAGE_SIZE
MAX_REFRESHES_PAGE_SIZE = MAX_DATA_PAGE_SIZE

__all__ = [
    "CUSTOMERS",
    "DATA_V2",
    "ENTITIES",
    "MAX_CUSTOMERS_PAGE_SIZE",
    "MAX_DATA_PAGE_SIZE",
    "MAX_ENTITIES_PAGE_SIZE",
    "MAX_PAYMENT_INTENTS_PAGE_SIZE",
    "MAX_REFRESHES_PAGE_SIZE",
    "PAYMENT_INTENTS",
    "REFRESHES",
    "ListWalk",
    "PageStyle",
    "check_page_size",
    "is_last_page",
    "iter_items",
    "split_page",
    "walk_pages",
]

#: Fetches one page given its paging query parameters; returns the parsed body.
PageFetcher = Callable[[dict[str, int]], Any]

_LIST_KEYS = ("data", "content")


def _find_list(container: Mapping[str, Any], item_key: str | None) -> list[Any]:
    """The items in a page body: under ``item_key``, the data ``type``, ``data``
    or ``content``, else the only list in the object; ``[]`` when there is none."""
    for key in (item_key, container.get("type"), *_LIST_KEYS):
        value = container.get(key) if isinstance(key, str) else None
        if isinstance(value, list):
            return value
    lists = [value for value in container.values() if isinstance(value, list)]
    return lists[0] if len(lists) == 1 else []


def split_page(body: Any, item_key: str | None = None) -> tuple[list[Any], dict[str, Any] | None]:
    """``(items, page)`` from a list body of any of Lean's shapes.

    Handles a bare JSON array (no page info), flat ``{"data"|"content": [...],
    "page": {...}}`` and Data API v2's ``{"data": {"<type>": [...], "page": {...}}}``.
    """
    if isinstance(body, list):
        return body, None
    if not isinstance(body, Mapping):
        return [], None
    nested = body.get("data")
    container: Mapping[str, Any] = nested if isinstance(nested, Mapping) else body
    page = container.get("page", body.get("page"))
    return _find_list(container, item_key), dict(page) if isinstance(page, Mapping) else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def is_last_page(page: Mapping[str, Any] | None, requested: int, count: int, size: int) -> bool:
    """Whether the page just read (``count`` items, asked as page ``requested``
    of ``size``) is the last one.

    Raises :class:`InvalidResponseError` when the server answered another page
    than the one asked for: it ignored the paging parameter, and walking on
    would fetch the same page forever.
    """
    if page is None or count == 0:
        return True
    number = _as_int(page.get("number"))
    if number is not None and number < requested:
        raise InvalidResponseError(
            f"Asked for page {requested} but the server answered page {number}: it ignored the paging "
            "parameter, so the pages cannot be walked.",
            status_code=200,
        )
    total = _as_int(page.get("total_pages"))
    if total is not None:
        return (requested if number is None else number) + 1 >= total
    return count < size


def check_page_size(page_size: int | None, style: PageStyle) -> int:
    """``page_size`` or the style's maximum; refuses sizes that could loop forever."""
    if page_size is None:
        return style.max_size
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise InvalidRequestError(f"page_size must be a positive integer, got {page_size!r}.")
    return page_size


def iter_items(
    fetch: PageFetcher,
    style: PageStyle,
    *,
    item_key: str | None = None,
    page_size: int | None = None,
    first_page: int = 0,
    concurrency: int | ConcurrencyBudget = DEFAULT_CONCURRENCY,
    pool_size: int | None = None,
    slots: SessionSlots | None = None,
) -> Iterator[Any]:
    """Yield the items of every page, in Lean's order, with up to
    ``concurrency`` pages in flight (see :mod:`lean_mtls._concurrent`; ``pool_size``,
    the session's, caps it; ``slots``, the session's, caps all its walks together).
    See the module docstring for when it stops."""
    walk = ListWalk(fetch, style, item_key, check_page_size(page_size, style), first_page)
    return _items(iter((walk,)), as_budget(concurrency), pool_size, slots)


def _items(walks: Iterator[ListWalk], budget: ConcurrencyBudget, pool_size: int | None,
           slots: SessionSlots | None) -> Iterator[Any]:
    for _walk, items in walk_pages(walks, budget, pool_size, slots):
        yield from items


def walk_pages(walks: Iterator[W], budget: ConcurrencyBudget, pool_size: int | None = None,
               slots: SessionSlots | None = None) -> Iterator[tuple[W, list[Any]]]:
    """``(walk, items of one page)`` for every page of every walk, in order,
    the pages fetched ahead up to the budget's concurrency (at most
    ``pool_size``, or the size of the session's ``slots``, which every walk
    on the session shares).  Lazy: no request before the first item is asked for."""
    cap = slots.size if slots is not None else pool_size
    window = budget.ceiling if cap is None else min(budget.ceiling, cap)
    for walk, number, planned in ordered_pages(walks, budget, window, slots):
        yield walk, walk.read(number, planned)


W = TypeVar("W", bound="ListWalk")


class ListWalk:
    """One list endpoint walked page by page: what to ask for and when it ends.

    :meth:`fetch` and :meth:`plan` run on worker threads; :meth:`read` on the
    caller's thread, once per page, in order.
    """

    def __init__(self, fetch: PageFetcher, style: PageStyle, item_key: str | None, size: int,
                 first: int = 0) -> None:
        self._fetch = fetch
        self.style = style
        self.item_key = item_key
        self.size = size
        self.first = first
        self._previous_first: Any = None

    def fetch(self, number: int) -> Any:
        return self._fetch(self.style.params(number, self.size))

    def plan(self, number: int, body: Any) -> tuple[tuple[list[Any], dict[str, Any] | None], int | None]:
        """The page's ``(items, page)`` and the first page number past the list when it tells."""
        items, page = split_page(body, self.item_key)
        if is_last_page(page, number, len(items), self.size):
            return (items, page), number + 1
        total = _as_int(page.get("total_pages")) if page is not None else None
        return (items, page), total

    def read(self, number: int, planned: tuple[list[Any], dict[str, Any] | None]) -> list[Any]:
        """The page's items, after checking that the server really paged."""
        items, page = planned
        numbered = page is not None and _as_int(page.get("number")) is not None
        if not numbered and items and self._previous_first is not None and items[0] == self._previous_first:
            # Without page numbers, a server that ignores the paging parameter
            # shows itself by sending the same page again.
            raise InvalidResponseError(
                f"Page {number} starts with the same item as page {number - 1}: the server ignored the "
                "paging parameter, so the pages cannot be walked.",
                status_code=200,
            )
        self._previous_first = items[0] if items else None
        return items
