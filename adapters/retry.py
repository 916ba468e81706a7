"""Retry policy for source calls: exponential backoff with jitter, on transient errors only.

Only :class:`~adapters.errors.RetriableSourceError` is retried (timeouts, connection errors,
429, 5xx). ``FatalSourceError``, ``RecordProblem`` and any other exception pass through at
once: a 4xx or a validation error will not change by asking again.

``Retry-After`` (carried as ``RetriableSourceError.retry_after``) is honoured: the wait is the
larger of the server's delay and the backoff. A delay longer than ``max_retry_after`` is not
slept in-process — the error is re-raised so the scheduler can come back later without holding
a worker (a city asking for an hour's pause must not stall the others).

Built on tenacity::

    policy = RetryPolicy(RetryOptions(attempts=4))
    page = policy.call(fetch_page, url)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity
from pydantic import Field

from adapters.base import AdapterOptions
from adapters.errors import RetriableSourceError

__all__ = ["RetryOptions", "RetryPolicy"]

T = TypeVar("T")


class RetryOptions(AdapterOptions):
    """How often and how patiently a transient failure is retried."""

    attempts: int = Field(default=5, ge=1, le=20, description="Total tries, the first included.")
    initial_wait: float = Field(default=0.5, ge=0, description="First backoff, seconds.")
    max_wait: float = Field(default=30.0, ge=0, description="Cap of one backoff, seconds.")
    jitter: float = Field(default=1.0, ge=0, description="Random extra wait, up to seconds.")
    max_retry_after: float = Field(
        default=60.0, ge=0, description="Longest Retry-After slept in-process, seconds."
    )


class RetryPolicy:
    """A tenacity ``Retrying`` configured from :class:`RetryOptions`."""

    def __init__(
        self,
        options: RetryOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options or RetryOptions()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def __repr__(self) -> str:
        return f"RetryPolicy({self.options!r})"

    def backoff(self, attempt: int) -> float:
        """Wait before try ``attempt + 1`` (``attempt`` counts from 1), without Retry-After."""
        o = self.options
        exp = min(o.max_wait, o.initial_wait * 2.0 ** (attempt - 1))
        return exp + self._rng.uniform(0, o.jitter)

    def _should_retry(self, state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        exc = outcome.exception()
        if not isinstance(exc, RetriableSourceError):
            return False
        return exc.retry_after is None or exc.retry_after <= self.options.max_retry_after

    def _wait(self, state: tenacity.RetryCallState) -> float:
        wait = self.backoff(state.attempt_number)
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RetriableSourceError) and exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        return wait

    def retrying(self) -> tenacity.Retrying:
        """A fresh ``tenacity.Retrying``; the last error is re-raised as itself when tries end."""
        return tenacity.Retrying(
            retry=self._should_retry,
            wait=self._wait,
            stop=tenacity.stop_after_attempt(self.options.attempts),
            sleep=self._sleep,
            reraise=True,
        )

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Call ``fn(*args, **kwargs)``, retrying it on ``RetriableSourceError``."""
        return self.retrying()(fn, *args, **kwargs)
