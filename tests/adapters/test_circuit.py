"""The per-source circuit breaker: closed, open for a cool-down, half-open trial."""

from __future__ import annotations

import contextlib
import threading

import pytest

from adapters.circuit import CircuitBreaker, CircuitBreakers, CircuitOpenError, CircuitState
from adapters.errors import FatalSourceError, RecordProblem, RetriableSourceError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fail() -> None:
    raise RetriableSourceError("down")


def ok() -> str:
    return "ok"


def test_opens_after_consecutive_failures_and_fails_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("s", failure_threshold=3, reset_timeout=60, clock=clock)
    for _ in range(3):
        with pytest.raises(RetriableSourceError):
            breaker.call(fail)
    assert breaker.state is CircuitState.OPEN
    clock.now += 20
    calls: list[int] = []
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(lambda: calls.append(1))
    assert calls == [] and info.value.retry_after == pytest.approx(40)
    assert "circuit open after 3 consecutive failures" in str(info.value)


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker("s", failure_threshold=2)
    for _ in range(5):
        with pytest.raises(RetriableSourceError):
            breaker.call(fail)
        breaker.call(ok)
    assert breaker.state is CircuitState.CLOSED


def test_half_open_allows_one_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker("s", failure_threshold=1, reset_timeout=10, clock=clock)
    with pytest.raises(RetriableSourceError):
        breaker.call(fail)
    clock.now += 10
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # a second caller meanwhile
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN  # failed trial: another cool-down
    clock.now += 10
    assert breaker.call(ok) == "ok"
    assert breaker.state is CircuitState.CLOSED


@pytest.mark.parametrize("error", [FatalSourceError("401"), RecordProblem("x"), KeyError("bug")])
def test_only_transient_failures_count(error: Exception) -> None:
    breaker = CircuitBreaker("s", failure_threshold=1)

    def boom() -> None:
        raise error

    for _ in range(3):
        with pytest.raises(type(error)):
            breaker.call(boom)
    assert breaker.state is CircuitState.CLOSED


def test_one_breaker_per_source_and_threads() -> None:
    board = CircuitBreakers(failure_threshold=50)
    assert board.get("a") is board.get("a") and board.get("a") is not board.get("b")
    assert board.get("c", failure_threshold=2).failure_threshold == 2

    def hammer() -> None:
        for _ in range(10):
            with contextlib.suppress(RetriableSourceError):
                board.get("a").call(fail)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert board.states() == {
        "a": CircuitState.CLOSED,
        "b": CircuitState.CLOSED,
        "c": CircuitState.CLOSED,
    }
    with pytest.raises(RetriableSourceError):
        board.get("a").call(fail)  # the 41st..50th failures open it
    for _ in range(9):
        with pytest.raises(RetriableSourceError):
            board.get("a").call(fail)
    assert board.get("a").state is CircuitState.OPEN
    assert "state=open" in repr(board.get("a"))


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("s", failure_threshold=0)
