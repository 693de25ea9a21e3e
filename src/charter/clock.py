"""The injected clock.

Every deadline in Charter (retention, SLA, security.txt expiry, DSR due dates) is computed from a
:class:`Clock` passed in by the caller, never from the host's local time. All instants are aware
``datetime`` objects in UTC, so results do not depend on the host ``TZ`` variable.

Usage::

    clock = SystemClock()
    clock.now()              # datetime(..., tzinfo=UTC)

    frozen = FrozenClock(datetime(2024, 3, 4, 9, tzinfo=UTC))
    frozen.advance(timedelta(days=1))
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FrozenClock", "SystemClock", "ensure_utc"]


@runtime_checkable
class Clock(Protocol):
    """Source of the current instant and of sleeping."""

    def now(self) -> datetime:
        """Return the current instant as an aware UTC ``datetime``."""
        ...

    def monotonic(self) -> float:
        """Return a monotonic reading in seconds, for measuring durations (not for dates)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` seconds (a frozen clock advances instead)."""
        ...


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` converted to UTC.

    Raises:
        ValueError: ``value`` is naive. A naive datetime has no defined instant, and guessing the host
            zone is exactly the fault Charter avoids (see case B17 in the shared bug cases).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: an instant needs a UTC offset")
    return value.astimezone(UTC)


class SystemClock:
    """The real clock: ``datetime.now(UTC)``, ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FrozenClock:
    """A clock that only moves when told to, for tests and dry runs.

    Args:
        at: the initial instant; must be aware (it is converted to UTC).
    """

    def __init__(self, at: datetime) -> None:
        self._now = ensure_utc(at)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta`` (which may not be negative)."""
        if delta < timedelta(0):
            raise ValueError("a clock does not go backwards")
        self._now += delta
        self._mono += delta.total_seconds()

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (aware); the monotonic reading moves by the same amount if forward."""
        at = ensure_utc(at)
        if at > self._now:
            self._mono += (at - self._now).total_seconds()
        self._now = at
