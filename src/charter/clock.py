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

__all__ = ["MAX_BACKDATE", "Clock", "FrozenClock", "SystemClock", "ensure_utc", "past_instant"]


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


#: How far back a stated receipt or awareness time may lie: older ones are typing mistakes.
MAX_BACKDATE = timedelta(days=366)


def past_instant(value: datetime | None, now: datetime, *, what: str) -> datetime:
    """A time someone states for an event that already happened (a report's receipt, awareness of a breach),
    in UTC: ``now`` when ``None``; it must be aware, not in the future (5 minutes of skew allowed) and not more
    than :data:`MAX_BACKDATE` ago.

    Raises:
        ValueError: naming ``what`` and the problem.
    """
    at = now if value is None else value
    if at.tzinfo is None:
        raise ValueError(f"{what} needs a time zone (e.g. 2026-11-30T09:00:00Z)")
    at = at.astimezone(UTC)
    if at > now + timedelta(minutes=5):
        raise ValueError(f"{what} cannot be in the future")
    if at < now - MAX_BACKDATE:
        raise ValueError(f"{what} is more than a year ago: check the date")
    return at


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
