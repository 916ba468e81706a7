"""Pagination styles of REST JSON APIs, as typed option nodes (``paging: {type: ...}``).

- ``page_number``: ``?page=1&page_size=100``, then 2, 3...
- ``offset``: ``?offset=0&limit=100``, then 100, 200...
- ``cursor``: an opaque token from the body (``next_path``) sent back as ``cursor_param``
- ``next_link``: the URL of the next page, from a ``Link: <...>; rel="next"`` header (RFC 8288)
  or from the body (``next_path``, e.g. ``links.next``)
- ``none``: one page

A *locator* names a page so that a cursor can return to it: the page number, the offset, the
token or the URL (``None`` for the first page of the token and link styles).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CursorPaging",
    "Locator",
    "NextLinkPaging",
    "NoPaging",
    "OffsetPaging",
    "PageNumberPaging",
    "Paging",
    "first_locator",
    "get_path",
    "next_locator",
    "page_request",
]

Locator = int | str | None


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageNumberPaging(_Node):
    type: Literal["page_number"] = "page_number"
    page_param: str = "page"
    size_param: str | None = "page_size"
    size: int = Field(default=100, ge=1)
    first_page: int = Field(default=1, ge=0)
    stop_on_short_page: bool = Field(
        default=False,
        description="A page shorter than 'size' is the last; false: go on until an empty page "
        "(safe when the server caps the page size).",
    )


class OffsetPaging(_Node):
    type: Literal["offset"] = "offset"
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(default=100, ge=1)
    stop_on_short_page: bool = False


class CursorPaging(_Node):
    type: Literal["cursor"] = "cursor"
    cursor_param: str = "cursor"
    next_path: str = Field(default="next_cursor", description="Dotted path of the next token.")
    size_param: str | None = None
    size: int = Field(default=100, ge=1)


class NextLinkPaging(_Node):
    type: Literal["next_link"] = "next_link"
    next_path: str | None = Field(
        default="next",
        description="Dotted path of the next URL in the body; the Link header "
        "rel=next is used when present.",
    )
    size_param: str | None = None
    size: int = Field(default=100, ge=1)


class NoPaging(_Node):
    type: Literal["none"] = "none"


PagingStyle = PageNumberPaging | OffsetPaging | CursorPaging | NextLinkPaging | NoPaging
Paging = Annotated[PagingStyle, Field(discriminator="type")]


def get_path(obj: Any, path: str) -> Any:
    """``obj["a"]["b"]`` for ``"a.b"``; ``""`` is ``obj`` itself; ``None`` when missing."""
    if not path:
        return obj
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def first_locator(paging: PagingStyle) -> Locator:
    if isinstance(paging, PageNumberPaging):
        return paging.first_page
    if isinstance(paging, OffsetPaging):
        return 0
    return None


def page_request(
    paging: PagingStyle, url: str, params: dict[str, str], locator: Locator
) -> tuple[str, dict[str, str]]:
    """URL and query parameters of the page at ``locator``."""
    params = dict(params)
    if isinstance(paging, PageNumberPaging):
        params[paging.page_param] = str(locator)
        if paging.size_param:
            params[paging.size_param] = str(paging.size)
    elif isinstance(paging, OffsetPaging):
        params[paging.offset_param] = str(locator)
        params[paging.limit_param] = str(paging.limit)
    elif isinstance(paging, CursorPaging):
        if locator is not None:
            params[paging.cursor_param] = str(locator)
        if paging.size_param:
            params[paging.size_param] = str(paging.size)
    elif isinstance(paging, NextLinkPaging):
        if isinstance(locator, str):
            return locator, {}  # the link carries every parameter
        if paging.size_param:
            params[paging.size_param] = str(paging.size)
    return url, params


def next_locator(
    paging: PagingStyle, locator: Locator, response: httpx.Response, body: Any, n_items: int
) -> tuple[bool, Locator]:
    """``(has_next, locator of the next page)``."""
    if isinstance(paging, PageNumberPaging):
        assert isinstance(locator, int)
        short = n_items < paging.size if paging.stop_on_short_page else n_items == 0
        return (not short, locator + 1)
    if isinstance(paging, OffsetPaging):
        assert isinstance(locator, int)
        short = n_items < paging.limit if paging.stop_on_short_page else n_items == 0
        return (not short, locator + n_items)
    if isinstance(paging, CursorPaging):
        token = get_path(body, paging.next_path)
        if token in (None, "") or n_items == 0:
            return (False, None)
        return (True, str(token))
    if isinstance(paging, NextLinkPaging):
        link = response.links.get("next", {}).get("url")
        if not link and paging.next_path:
            link = get_path(body, paging.next_path)
        if not link or not isinstance(link, str):
            return (False, None)
        return (True, str(response.request.url.join(link)))
    return (False, None)
