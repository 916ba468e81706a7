"""The adapter conformance kit, loaded as a pytest plugin (entry point ``lgnet_adapters``).

A source's test subclasses :class:`AdapterConformance` and gives it an adapter; the inherited
tests check what every adapter owes the sync engine::

    from adapters.testing import AdapterConformance, simulator_faults

    class TestMilanoCases(AdapterConformance):
        @pytest.fixture
        def adapter(self, rest_server):
            options = RestOptions(url=rest_server.url + "/records", timeout=0.25,
                                  retry={"attempts": 2, "initial_wait": 0.01,
                                         "max_retry_after": 1})
            # A circuit of its own: the process-wide one would carry failures across tests.
            return RestAdapter(options, source="milano-cases", circuit=CircuitBreakers())

        @pytest.fixture
        def make_faulty(self, rest_server, adapter):
            return simulator_faults(rest_server, adapter, slow=0.5)

The adapter's ``max_retry_after`` must be below 5 s (the kit's 429 asks for 5 s), and its read
timeout below ``slow``, so that faults surface as errors instead of long waits.

What is checked:

- ``fetch(None)`` yields :class:`RawRecord` objects with a mapping ``data`` and a cursor;
- resuming from every ``resume_every``-th cursor yields exactly the remaining records;
- faults are classified: a server error, a timeout or a truncated body ->
  ``RetriableSourceError``; a 429 -> retriable with ``retry_after``; a garbage body or a
  malformed record -> ``FatalSourceError`` or a record ``problem``; a ragged CSV row or bad
  bytes -> a record ``problem`` naming the line; never a bare library exception;
- no secret (every ``SecretStr`` of the options, plus ``secrets``) appears in ``repr(adapter)``,
  ``repr(options)``, a log record or an error message.

A fault that ``make_faulty`` does not support (returns ``None``) is skipped, not failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, SecretStr

from adapters.base import Adapter, RawRecord
from adapters.errors import FatalSourceError, RetriableSourceError, SourceError

__all__ = ["FAULTS", "AdapterConformance", "secret_values", "simulator_faults"]

FAULTS = (
    "server_error",
    "rate_limit",
    "timeout",
    "truncated",
    "garbage",
    "malformed",
    "ragged_row",
    "bad_encoding",
)
RETRY_AFTER = 5

MakeFaulty = Callable[[str], "Adapter[Any] | None"]


def secret_values(value: Any) -> list[str]:
    """Every ``SecretStr`` value inside an options model (nested models, lists, dicts)."""
    found: list[str] = []
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if secret:
            found.append(secret)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found.extend(secret_values(getattr(value, name)))
    elif isinstance(value, Mapping):
        for item in value.values():
            found.extend(secret_values(item))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(secret_values(item))
    return found


def simulator_faults(server: Any, adapter: Adapter[Any], *, slow: float = 1.0) -> MakeFaulty:
    """``make_faulty`` for an adapter reading a :class:`~adapters.simulators.SimulatorServer`.

    ``slow`` must exceed the adapter's read timeout. Faults last until the next call.
    """
    from adapters.simulators.http import Fault

    kinds = {
        "server_error": Fault("status", status=500, times=None),
        "rate_limit": Fault("rate_limit", retry_after=str(RETRY_AFTER), times=None),
        "timeout": Fault("slow", delay=slow, times=None),
        "truncated": Fault("truncate", times=None),
        "garbage": Fault("garbage", times=None),
        "malformed": Fault("malformed", times=None),
    }

    def make(kind: str) -> Adapter[Any] | None:
        server.clear_faults()
        fault = kinds.get(kind)
        if fault is None:
            return None
        server.inject(Fault(**vars(fault)))
        return adapter

    return make


def _key(record: RawRecord) -> tuple[Any, ...]:
    # Not the position: a page number counts from the page a resumed run starts at.
    problem = None if record.problem is None else record.problem.reason
    return (record.record_id, repr(sorted(record.data.items(), key=str)), problem)


class AdapterConformance:
    """Inherit, provide the ``adapter`` fixture (and ``make_faulty``), get the suite."""

    #: Check resuming from every k-th cursor (1: every cursor).
    resume_every: ClassVar[int] = 1
    #: Secret values that must never show, besides the options' ``SecretStr`` fields.
    secrets: ClassVar[tuple[str, ...]] = ()
    #: Fewest records the adapter must yield from its fixture.
    min_records: ClassVar[int] = 2

    @pytest.fixture
    def adapter(self) -> Adapter[Any]:
        raise NotImplementedError("define an 'adapter' fixture in the subclass")

    @pytest.fixture
    def make_faulty(self) -> MakeFaulty:
        return lambda kind: None

    @pytest.fixture
    def records(self, adapter: Adapter[Any]) -> list[RawRecord]:
        return list(adapter.fetch(None))

    @pytest.fixture(autouse=True)
    def _close_adapter(self, adapter: Adapter[Any]) -> Iterator[None]:
        yield
        adapter.close()

    # -- reading -----------------------------------------------------------------------
    def test_fetch_yields_raw_records(self, records: list[RawRecord]) -> None:
        assert len(records) >= self.min_records
        for record in records:
            assert isinstance(record, RawRecord)
            assert isinstance(record.data, Mapping)
            assert isinstance(record.cursor, str) and record.cursor
            if record.problem is None:
                assert all(isinstance(k, str) for k in record.data)

    def test_fetch_is_repeatable(self, adapter: Adapter[Any], records: list[RawRecord]) -> None:
        assert [_key(r) for r in adapter.fetch(None)] == [_key(r) for r in records]

    def test_resume_from_cursors_gives_the_rest(
        self, adapter: Adapter[Any], records: list[RawRecord]
    ) -> None:
        expected = [_key(r) for r in records]
        for i in range(0, len(records) - 1, max(1, self.resume_every)):
            rest = [_key(r) for r in adapter.fetch(records[i].cursor)]
            assert rest == expected[i + 1 :], f"resuming after record {i + 1}"

    def test_resume_from_last_cursor_gives_nothing_new(
        self, adapter: Adapter[Any], records: list[RawRecord]
    ) -> None:
        again = [_key(r) for r in adapter.fetch(records[-1].cursor)]
        # A full-listing source starts over after its last record; others yield nothing.
        assert again in ([], [_key(r) for r in records])

    # -- faults ------------------------------------------------------------------------
    def _outcome(
        self, make_faulty: MakeFaulty, kind: str
    ) -> tuple[list[RawRecord], Exception | None]:
        faulty = make_faulty(kind)
        if faulty is None:
            pytest.skip(f"fault {kind!r} not supported by this adapter's fixture")
        out: list[RawRecord] = []
        try:
            for record in faulty.fetch(None):
                out.append(record)
        except Exception as exc:  # checked by the caller: it must be a SourceError
            assert isinstance(exc, SourceError), f"{kind}: bare {type(exc).__name__} escaped"
            return out, exc
        return out, None

    def test_server_error_is_retriable(self, make_faulty: MakeFaulty) -> None:
        _, exc = self._outcome(make_faulty, "server_error")
        assert isinstance(exc, RetriableSourceError)

    def test_rate_limit_is_retriable_with_retry_after(self, make_faulty: MakeFaulty) -> None:
        _, exc = self._outcome(make_faulty, "rate_limit")
        assert isinstance(exc, RetriableSourceError)
        assert exc.retry_after == pytest.approx(RETRY_AFTER, abs=1)

    def test_timeout_is_retriable(self, make_faulty: MakeFaulty) -> None:
        _, exc = self._outcome(make_faulty, "timeout")
        assert isinstance(exc, RetriableSourceError)

    def test_truncated_body_is_retriable(self, make_faulty: MakeFaulty) -> None:
        _, exc = self._outcome(make_faulty, "truncated")
        assert isinstance(exc, RetriableSourceError)

    def test_garbage_body_is_fatal_or_a_problem(self, make_faulty: MakeFaulty) -> None:
        out, exc = self._outcome(make_faulty, "garbage")
        assert isinstance(exc, FatalSourceError) or any(r.problem for r in out)

    def test_malformed_record_is_a_problem(self, make_faulty: MakeFaulty) -> None:
        out, exc = self._outcome(make_faulty, "malformed")
        assert isinstance(exc, FatalSourceError) or any(r.problem for r in out)

    @pytest.mark.parametrize("kind", ["ragged_row", "bad_encoding"])
    def test_bad_row_is_a_problem_and_the_rest_goes_on(
        self, make_faulty: MakeFaulty, kind: str
    ) -> None:
        out, exc = self._outcome(make_faulty, kind)
        assert exc is None
        problems = [r for r in out if r.problem is not None]
        assert problems, f"{kind}: no record problem"
        assert all(r.problem is not None and r.problem.position for r in problems)
        assert any(r.problem is None for r in out), f"{kind}: the good records were lost"

    # -- secrets -----------------------------------------------------------------------
    def test_no_secret_in_repr_logs_or_errors(
        self, adapter: Adapter[Any], make_faulty: MakeFaulty, caplog: pytest.LogCaptureFixture
    ) -> None:
        secrets = [*secret_values(adapter.options), *self.secrets]
        texts = [repr(adapter), repr(adapter.options), str(adapter.options)]
        texts.append(adapter.options.model_dump_json())
        caplog.set_level(logging.DEBUG)
        list(adapter.fetch(None))
        for kind in FAULTS:
            faulty = make_faulty(kind)
            if faulty is None:
                continue
            try:
                for record in faulty.fetch(None):
                    if record.problem is not None:
                        texts.append(str(record.problem))
            except SourceError as exc:
                texts.append(str(exc))
                cause = exc.__cause__
                if cause is not None:
                    texts.append(str(cause))
        make_faulty("none")
        texts.extend(r.getMessage() for r in caplog.records)
        texts.extend(caplog.text.splitlines())
        for secret in secrets:
            leaks = [t for t in texts if secret in t]
            assert not leaks, "a secret value appears in a repr, log line or error message"
