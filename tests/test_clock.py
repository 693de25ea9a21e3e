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


def test_past_instant_is_aware_not_future_and_not_ancient() -> None:
    from datetime import UTC, datetime, timedelta

    import pytest

    from charter.clock import past_instant

    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert past_instant(None, now, what="t") == now
    assert past_instant(datetime.fromisoformat("2026-11-29T17:30:00+05:30"), now, what="t") == now
    assert past_instant(now + timedelta(minutes=4), now, what="t") == now + timedelta(minutes=4)  # clock skew
    for value, message in (
        (datetime(2026, 11, 29, 12, 0), "the receipt needs a time zone"),  # noqa: DTZ001 - the mistake under test
        (now + timedelta(hours=1), "the receipt cannot be in the future"),
        (now - timedelta(days=400), "the receipt is more than a year ago"),
    ):
        with pytest.raises(ValueError, match=message):
            past_instant(value, now, what="the receipt")
