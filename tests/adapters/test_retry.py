"""The retry policy: backoff with jitter, on transient errors only, honouring Retry-After."""

from __future__ import annotations

import random

import pytest

from adapters.errors import FatalSourceError, RecordProblem, RetriableSourceError
from adapters.retry import RetryOptions, RetryPolicy


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(sleeps: list[float], **options: float) -> RetryPolicy:
    opts = RetryOptions(**{"initial_wait": 1.0, "jitter": 0.0, **options})  # type: ignore[arg-type]
    return RetryPolicy(opts, sleep=sleeps.append)


def test_transient_errors_are_retried_with_exponential_backoff() -> None:
    sleeps: list[float] = []
    fn = Flaky(RetriableSourceError("a"), RetriableSourceError("b"), RetriableSourceError("c"))
    assert policy(sleeps, attempts=4).call(fn) == "ok"
    assert (fn.calls, sleeps) == (4, [1.0, 2.0, 4.0])


def test_backoff_is_capped_and_jittered() -> None:
    p = RetryPolicy(RetryOptions(initial_wait=1, max_wait=5, jitter=0.5), rng=random.Random(7))
    waits = [p.backoff(n) for n in range(1, 7)]
    bases = [1, 2, 4, 5, 5, 5]
    assert all(b <= w <= b + 0.5 for w, b in zip(waits, bases, strict=True))
    assert len(set(waits)) == len(waits)  # jitter spreads retries of many sources


def test_attempts_are_bounded_and_the_last_error_is_raised_as_itself() -> None:
    sleeps: list[float] = []
    errors = [RetriableSourceError(f"e{i}") for i in range(5)]
    fn = Flaky(*errors)
    with pytest.raises(RetriableSourceError) as info:
        policy(sleeps, attempts=3).call(fn)
    assert info.value is errors[2] and fn.calls == 3


@pytest.mark.parametrize(
    "error",
    [FatalSourceError("401"), RecordProblem("bad", position="line 3"), ValueError("bug")],
)
def test_other_errors_are_never_retried(error: Exception) -> None:
    sleeps: list[float] = []
    fn = Flaky(error)
    with pytest.raises(type(error)):
        policy(sleeps).call(fn)
    assert fn.calls == 1 and sleeps == []


def test_retry_after_is_honoured_when_short_and_returned_when_long() -> None:
    sleeps: list[float] = []
    fn = Flaky(RetriableSourceError("429", retry_after=7.0))
    assert policy(sleeps, max_retry_after=10).call(fn) == "ok"
    assert sleeps == [7.0]

    sleeps.clear()
    fn = Flaky(RetriableSourceError("429", retry_after=3600.0))
    with pytest.raises(RetriableSourceError) as info:
        policy(sleeps, max_retry_after=10).call(fn)
    assert info.value.retry_after == 3600.0 and sleeps == [] and fn.calls == 1


def test_repr_and_options_validation() -> None:
    assert "attempts=5" in repr(RetryPolicy())
    with pytest.raises(ValueError):
        RetryOptions(attempts=0)
