"""A per-source circuit breaker: a dead system fails fast instead of stalling the others.

States (after Nygard, *Release It!*):

- **closed**: calls go through; consecutive transient failures are counted;
- **open**: after ``failure_threshold`` consecutive failures every call fails at once with
  :class:`CircuitOpenError` (a ``RetriableSourceError`` whose ``retry_after`` is the remaining
  cool-down) until ``reset_timeout`` seconds have passed;
- **half-open**: after the cool-down one trial call goes through; success closes the circuit,
  failure opens it again for another cool-down.

Only ``RetriableSourceError`` counts as a failure: a 401 or a malformed record says nothing
about whether the system is up.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from adapters.errors import RetriableSourceError

__all__ = [
    "CircuitBreaker",
    "CircuitBreakers",
    "CircuitOpenError",
    "CircuitState",
    "breakers",
]

T = TypeVar("T")


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitOpenError(RetriableSourceError):
    """The source failed repeatedly and is left alone until its cool-down ends."""


class CircuitBreaker:
    """Circuit breaker of one source; thread-safe."""

    def __init__(
        self,
        source: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.source = source
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    def __repr__(self) -> str:
        return f"CircuitBreaker(source={self.source!r}, state={self.state.value})"

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> CircuitState:
        if (
            self._state is CircuitState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout
        ):
            self._state = CircuitState.HALF_OPEN
            self._trial_running = False
        return self._state

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go to the source now."""
        with self._lock:
            state = self._current_state()
            if state is CircuitState.CLOSED:
                return
            if state is CircuitState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return
            remaining = max(0.0, self.reset_timeout - (self._clock() - self._opened_at))
        raise CircuitOpenError(
            f"circuit open after {self.failure_threshold} consecutive failures",
            source=self.source,
            retry_after=remaining if state is CircuitState.OPEN else self.reset_timeout,
        )

    def record_success(self) -> None:
        with self._lock:
            self._state = CircuitState.CLOSED
            self._failures = 0
            self._trial_running = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state is CircuitState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = CircuitState.OPEN
                self._opened_at = self._clock()
                self._trial_running = False

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run the block as one call to the source, counting its outcome."""
        self.before_call()
        try:
            yield
        except CircuitOpenError:
            raise
        except RetriableSourceError:
            self.record_failure()
            raise
        except BaseException:
            # Not a sign of a dead system; release a half-open trial without judging it.
            with self._lock:
                self._trial_running = False
            raise
        self.record_success()

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        with self.guard():
            return fn(*args, **kwargs)


class CircuitBreakers:
    """One breaker per source, created on first use with shared settings."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = (failure_threshold, reset_timeout, clock)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(
        self,
        source: str,
        *,
        failure_threshold: int | None = None,
        reset_timeout: float | None = None,
    ) -> CircuitBreaker:
        """The breaker of ``source``; the keyword settings apply when it is first created."""
        with self._lock:
            breaker = self._breakers.get(source)
            if breaker is None:
                threshold, timeout, clock = self._settings
                breaker = CircuitBreaker(
                    source,
                    failure_threshold=failure_threshold or threshold,
                    reset_timeout=timeout if reset_timeout is None else reset_timeout,
                    clock=clock,
                )
                self._breakers[source] = breaker
            return breaker

    def states(self) -> dict[str, CircuitState]:
        """Every known source and its state (for status pages)."""
        with self._lock:
            breakers = list(self._breakers.values())
        return {b.source: b.state for b in breakers}


#: The process-wide breakers, one per source, shared by every adapter instance of a source.
breakers = CircuitBreakers()
