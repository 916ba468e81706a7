"""REST JSON APIs: paginated collections, incremental by an updated-at watermark.

Options (YAML, in a source definition)::

    adapter: rest
    options:
      url: https://welfare.comune.example/api/v2/cases
      records_path: data.results        # where the list is in each page ("" = the body)
      id_field: id
      updated_field: meta.updated_at     # enables incremental reads
      updated_since_param: updated_since # the API's filter (must be inclusive: >=)
      params: {sort: updated_at}         # the API must return records oldest first
      tombstone_field: deleted
      paging: {type: cursor, next_path: next_cursor, cursor_param: cursor}
      auth: {type: client_secret, token_url: ..., client_id: ..., client_secret: "${SECRET}"}

**Cursor and equal timestamps.** Incremental reads use a *keyset* cursor: the updated-at value
``w`` of the newest record emitted, plus the ids of the records emitted *at exactly* ``w``. A
resumed run asks for ``updated_since=w`` (inclusive) from the first page, skips the records at
``w`` it already emitted and yields everything else. This is the "watermark + position": with
records sorted by updated-at, ``w`` *is* the position, and it stays right when records are
added or changed between runs — a stored page number or offset would then point at other
records and open gaps. Several records sharing one timestamp (a batch update, second-precision
clocks) are never lost: a record written later at the same ``w`` is still returned by the
inclusive filter and is not in the id list. The id list is capped (``max_tied_ids``); past the cap
a resumed run may repeat records of that one timestamp — repeats, never gaps, and the gateway's
upserts are idempotent.

Without ``updated_field`` the source is listed in full on every run; the cursor is then the page
locator and the index in the page (resuming mid-run), and the last record of the listing carries
a "done" cursor so that the next run starts over.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field

from adapters.auth.schemes import AuthOptions, AuthSession, NoAuth
from adapters.base import Adapter, RawRecord
from adapters.circuit import CircuitBreakers, breakers
from adapters.errors import FatalSourceError, RecordProblem
from adapters.http import HttpOptions, json_body
from adapters.rest_paging import (
    Locator,
    NoPaging,
    Paging,
    first_locator,
    get_path,
    next_locator,
    page_request,
)
from adapters.retry import RetryOptions, RetryPolicy

__all__ = ["RestAdapter", "RestOptions"]


class RestOptions(HttpOptions):
    """Options of the ``rest`` adapter."""

    url: str = Field(description="Absolute URL of the collection.")
    records_path: str = Field(default="items", description="Dotted path of the record list.")
    id_field: str | None = "id"
    updated_field: str | None = Field(default=None, description="Dotted path of updated-at.")
    updated_since_param: str | None = Field(
        default=None, description="Query parameter of the inclusive updated-since filter."
    )
    tombstone_field: str | None = Field(default=None, description="e.g. 'deleted'.")
    tombstone_value: Any = Field(default=True, description="Value that marks a deletion.")
    params: dict[str, str] = Field(default_factory=dict, description="Fixed query parameters.")
    paging: Paging = Field(default_factory=NoPaging)
    auth: AuthOptions = Field(default_factory=NoAuth)
    retry: RetryOptions = Field(default_factory=RetryOptions)
    circuit_failures: int = Field(default=5, ge=1, description="Failures that open the circuit.")
    circuit_cooldown: float = Field(
        default=60.0, ge=0, description="Seconds the circuit stays open."
    )
    max_tied_ids: int = Field(default=500, ge=1, le=10_000)
    max_pages: int | None = Field(default=None, ge=1, description="Stop after this many pages.")


@dataclass
class _Cursor:
    """Incremental: ``w`` + ``tied`` (+ ``overflow``). Full listing: ``page`` + ``index``."""

    w: Any = None
    tied: list[str] = field(default_factory=list)
    overflow: bool = False
    page: Locator = None
    index: int = 0
    done: bool = False

    @classmethod
    def parse(cls, text: str | None) -> _Cursor:
        if not text:
            return cls()
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("v") != 1:
            raise ValueError("not a REST cursor")
        tied = doc.get("t", [])
        page = doc.get("p")
        if not isinstance(tied, list) or not isinstance(page, int | str | None):
            raise ValueError("not a REST cursor")
        return cls(
            w=doc.get("w"),
            tied=[str(t) for t in tied],
            overflow=bool(doc.get("x")),
            page=page,
            index=int(doc.get("i", 0)),
            done=bool(doc.get("done")),
        )

    def incremental(self) -> str:
        doc: dict[str, Any] = {"v": 1, "w": self.w, "t": self.tied}
        if self.overflow:
            doc["x"] = 1
        return json.dumps(doc, separators=(",", ":"))

    @staticmethod
    def position(page: Locator, index: int) -> str:
        return json.dumps({"v": 1, "p": page, "i": index}, separators=(",", ":"))


_DONE = '{"v":1,"done":true}'


def _time_key(value: Any) -> tuple[int, Any]:
    """A sortable key for an updated-at value: epoch numbers, ISO 8601 text, else the text."""
    if isinstance(value, bool):
        return (2, str(value))
    if isinstance(value, int | float):
        return (0, float(value))
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return (1, text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (0, parsed.timestamp())


@dataclass
class _Page:
    number: int
    locator: Locator
    items: list[Any]
    has_next: bool


class RestAdapter(Adapter[RestOptions]):
    """Read a paginated REST JSON collection."""

    kind = "rest"
    Options = RestOptions

    def __init__(
        self,
        options: RestOptions,
        *,
        source: str = "",
        transport: httpx.BaseTransport | None = None,
        circuit: CircuitBreakers | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(options, source=source)
        self._transport = transport
        self._session: AuthSession | None = None
        self.retry = RetryPolicy(options.retry, sleep=sleep)
        self.breaker = (circuit or breakers).get(
            self.source,
            failure_threshold=options.circuit_failures,
            reset_timeout=options.circuit_cooldown,
        )

    @property
    def session(self) -> AuthSession:
        if self._session is None:
            self._session = AuthSession(
                self.options.auth, self.options, source=self.source, transport=self._transport
            )
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- reading -----------------------------------------------------------------------
    def fetch(self, cursor: str | None) -> Iterator[RawRecord]:
        """Yield the records after ``cursor`` (see the module docstring)."""
        try:
            state = _Cursor.parse(cursor)
        except (ValueError, TypeError) as exc:
            raise FatalSourceError(
                "cursor is not a REST adapter cursor", source=self.source
            ) from exc
        if self.options.updated_field:
            return self._incremental(state)
        return self._listing(state)

    def _incremental(self, state: _Cursor) -> Iterator[RawRecord]:
        o = self.options
        params = dict(o.params)
        if state.w is not None and o.updated_since_param:
            params[o.updated_since_param] = str(state.w)
        start_key = _time_key(state.w) if state.w is not None else None
        already = set(state.tied)
        w_key = start_key
        for page in self._pages(params, first_locator(o.paging)):
            for i, item in enumerate(page.items):
                position = f"page {page.number} item {i + 1}"
                if not isinstance(item, dict):
                    yield self._problem(
                        "record is not a JSON object", position, state.incremental()
                    )
                    continue
                stamp = get_path(item, o.updated_field or "")
                if stamp is None or isinstance(stamp, dict | list):
                    yield self._problem(
                        "updated-at missing or not a value",
                        position,
                        state.incremental(),
                        field=o.updated_field,
                    )
                    continue
                key = _time_key(stamp)
                tie = self._tie_id(item)
                if start_key is not None and (
                    key < start_key or (key == start_key and tie in already)
                ):
                    continue  # emitted by an earlier run (or not newer than the watermark)
                if w_key is None or key > w_key:
                    state.w, w_key, state.tied, state.overflow = stamp, key, [tie], False
                elif key == w_key:
                    if len(state.tied) < o.max_tied_ids:
                        state.tied.append(tie)
                    else:
                        state.overflow = True
                yield self._record(item, state.incremental(), position)

    def _listing(self, state: _Cursor) -> Iterator[RawRecord]:
        o = self.options
        resume = not state.done and (state.page is not None or state.index > 0)
        locator = state.page if resume else first_locator(o.paging)
        skip = state.index if resume else 0
        pages = self._pages(dict(o.params), locator)
        page = next(pages, None)
        while page is not None:
            # Look one page ahead so that the last record of the listing can say "done".
            following = next(pages, None) if page.has_next else None
            last_page = following is None or (not following.items and not following.has_next)
            for i, item in enumerate(page.items):
                if i < skip:
                    continue
                if last_page and i == len(page.items) - 1:
                    cursor = _DONE
                else:
                    cursor = _Cursor.position(page.locator, i + 1)
                position = f"page {page.number} item {i + 1}"
                if not isinstance(item, dict):
                    yield self._problem("record is not a JSON object", position, cursor)
                else:
                    yield self._record(item, cursor, position)
            skip = 0
            page = following

    def _pages(self, params: dict[str, str], locator: Locator) -> Iterator[_Page]:
        o = self.options
        number = 0
        while True:
            number += 1
            url, query = page_request(o.paging, o.url, params, locator)
            response = self._get(url, query)
            body = json_body(response, self.source)
            items = get_path(body, o.records_path)
            if not isinstance(items, list):
                raise FatalSourceError(
                    f"page {number} has no record list at {o.records_path or 'the top level'!r}",
                    source=self.source,
                )
            has_next, following = next_locator(o.paging, locator, response, body, len(items))
            if o.max_pages is not None and number >= o.max_pages:
                has_next = False
            if has_next and following == locator:
                raise FatalSourceError(
                    f"pagination does not advance after page {number}", source=self.source
                )
            yield _Page(number, locator, items, has_next)
            if not has_next:
                return
            locator = following

    def _get(self, url: str, params: dict[str, str]) -> httpx.Response:
        def once() -> httpx.Response:
            with self.breaker.guard():
                # params=None, not {}: httpx would drop the query of a next link.
                return self.session.request("GET", url, params=params or None)

        return self.retry.call(once)

    # -- records -----------------------------------------------------------------------
    def _record(self, item: dict[str, Any], cursor: str, position: str) -> RawRecord:
        o = self.options
        record_id = get_path(item, o.id_field) if o.id_field else None
        deleted = False
        if o.tombstone_field:
            deleted = get_path(item, o.tombstone_field) == o.tombstone_value
        return RawRecord(
            item,
            cursor,
            record_id=None if record_id is None else str(record_id),
            position=position,
            deleted=deleted,
        )

    def _tie_id(self, item: dict[str, Any]) -> str:
        record_id = get_path(item, self.options.id_field) if self.options.id_field else None
        if record_id is not None and not isinstance(record_id, dict | list):
            return str(record_id)
        # No id: the content itself tells two records apart.
        canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
        return "#" + hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()

    def _problem(
        self, reason: str, position: str, cursor: str, *, field: str | None = None
    ) -> RawRecord:
        problem = RecordProblem(reason, source=self.source, position=position, field=field)
        return RawRecord({}, cursor, position=position, problem=problem)
