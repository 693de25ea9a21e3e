from datetime import UTC, datetime, timedelta, timezone

import pytest

from charter.clock import Clock, FrozenClock, SystemClock, ensure_utc


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC


def test_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2024, 3, 4, 10, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == datetime(2024, 3, 4, 9, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    clock.sleep(90)
    assert clock.now() == datetime(2024, 3, 4, 9, 1, 30, tzinfo=UTC)
    assert clock.monotonic() == 90
    clock.set(datetime(2024, 3, 5, tzinfo=UTC))
    assert clock.monotonic() == 90 + 15 * 3600 - 90
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        FrozenClock(datetime(2024, 1, 1))  # noqa: DTZ001 - the fault under test
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2024, 1, 1))  # noqa: DTZ001 - the fault under test


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FrozenClock(datetime(2024, 1, 1, tzinfo=UTC)), Clock)
