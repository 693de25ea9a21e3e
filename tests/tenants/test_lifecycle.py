"""The tenant state machine: each rule, and order independence under any delivery order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from charter.tenants import Event, EventKind, State, replay

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(kind: EventKind, minutes: int) -> Event:
    return Event(kind, at(minutes))


INS, EN, DIS, UN = EventKind.INSTALLED, EventKind.ENABLED, EventKind.DISABLED, EventKind.UNINSTALLED


def test_connect_install_enable_uninstall() -> None:
    assert replay([ev(INS, 0)], forge=False).state is State.INSTALLED
    assert replay([ev(INS, 0), ev(EN, 0)], forge=False).state is State.ACTIVE
    life = replay([ev(INS, 0), ev(EN, 1), ev(DIS, 10), ev(UN, 11)], forge=False)
    assert life.state is State.UNINSTALLED
    assert life.clock_started_at == at(11)


def test_forge_install_is_active() -> None:
    assert replay([ev(INS, 0)], forge=True).state is State.ACTIVE


def test_a_late_disabled_or_enabled_never_overrides_uninstalled() -> None:
    base = [ev(INS, 0), ev(EN, 1), ev(UN, 20)]
    assert replay([*base, ev(DIS, 30)], forge=False).state is State.UNINSTALLED
    assert replay([*base, ev(EN, 30)], forge=False).state is State.UNINSTALLED
    assert replay([*base, ev(DIS, 19)], forge=False).clock_started_at == at(20)


def test_a_repeated_uninstall_does_not_move_the_clock() -> None:
    life = replay([ev(INS, 0), ev(UN, 10), ev(UN, 500), ev(UN, 5000)], forge=False)
    assert life.clock_started_at == at(10)


def test_reinstall_before_purge_cancels_the_clock() -> None:
    life = replay([ev(INS, 0), ev(UN, 10), ev(INS, 100), ev(EN, 100)], forge=False)
    assert life.state is State.ACTIVE
    assert life.clock_started_at is None
    # ... but an install older than the uninstall is a late duplicate, not a reinstall.
    assert replay([ev(INS, 0), ev(UN, 10), ev(INS, 5)], forge=False).state is State.UNINSTALLED


def test_same_instant_ordering() -> None:
    assert replay([ev(EN, 0), ev(INS, 0)], forge=False).state is State.ACTIVE
    assert replay([ev(UN, 5), ev(DIS, 5), ev(INS, 0)], forge=False).state is State.UNINSTALLED


def test_forge_access_lost_and_back() -> None:
    pre = replay([ev(INS, 0), ev(EventKind.PRE_UNINSTALL, 10)], forge=True)
    assert (pre.state, pre.clock_started_at) == (State.ACCESS_LOST, at(10))
    licence = replay([ev(INS, 0), ev(EventKind.LICENSE_INACTIVE, 10), ev(EventKind.INVOKED, 20)], forge=True)
    assert (licence.state, licence.clock_started_at) == (State.ACTIVE, None)
    upgraded = replay([ev(INS, 0), ev(EventKind.LICENSE_INACTIVE, 10), ev(EventKind.UPGRADED, 20)], forge=True)
    assert upgraded.state is State.ACTIVE


def test_pre_uninstall_is_undone_only_by_a_new_install() -> None:
    pre = [ev(INS, 0), ev(EventKind.PRE_UNINSTALL, 10)]
    for later in (EventKind.INVOKED, EventKind.PROBE_OK, EventKind.UPGRADED):
        life = replay([*pre, ev(later, 11)], forge=True)
        assert (life.state, life.clock_started_at) == (State.ACCESS_LOST, at(10)), later
    assert replay([*pre, ev(INS, 20)], forge=True).state is State.ACTIVE
    # After an inactive licence, then a pre-uninstall, a later invocation does not come back either.
    lic = replay(
        [ev(INS, 0), ev(EventKind.LICENSE_INACTIVE, 5), ev(EventKind.PRE_UNINSTALL, 10), ev(EventKind.INVOKED, 11)],
        forge=True,
    )
    assert (lic.state, lic.clock_started_at) == (State.ACCESS_LOST, at(5))


def test_probe_failures_end_access_only_when_consecutive() -> None:
    f, ok = EventKind.PROBE_FAILED, EventKind.PROBE_OK
    assert replay([ev(INS, 0), ev(f, 1), ev(f, 2)], forge=True).state is State.ACTIVE
    lost = replay([ev(INS, 0), ev(f, 1), ev(f, 2), ev(f, 3)], forge=True)
    assert (lost.state, lost.clock_started_at) == (State.ACCESS_LOST, at(3))
    assert replay([ev(INS, 0), ev(f, 1), ev(f, 2), ev(ok, 3), ev(f, 4)], forge=True).state is State.ACTIVE
    back = replay([ev(INS, 0), ev(f, 1), ev(f, 2), ev(f, 3), ev(ok, 4)], forge=True)
    assert (back.state, back.clock_started_at) == (State.ACTIVE, None)
    assert replay([ev(INS, 0), ev(f, 1)], forge=True, probe_threshold=1).state is State.ACCESS_LOST


def test_uninstall_after_access_lost_keeps_the_first_instant() -> None:
    life = replay([ev(INS, 0), ev(EventKind.PRE_UNINSTALL, 10), ev(UN, 20)], forge=False)
    assert life.clock_started_at == at(10)


def test_nothing_but_an_install_creates_a_tenant_and_purged_is_final() -> None:
    assert replay([ev(EN, 0), ev(UN, 1)], forge=False).state is None
    purged = replay([ev(INS, 0), ev(UN, 1), ev(EventKind.PURGED, 2), ev(INS, 3)], forge=False)
    assert purged.state is State.PURGED


_EVENTS = st.lists(
    st.builds(Event, st.sampled_from(list(EventKind)), st.integers(0, 50).map(at)), min_size=0, max_size=14
)


@given(_EVENTS, st.randoms(), st.booleans())
def test_any_delivery_order_and_duplicates_give_the_same_state(
    events: list[Event], random: object, forge: bool
) -> None:
    shuffled = events + events[: len(events) // 2]
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert replay(shuffled, forge=forge) == replay(events, forge=forge)


@given(_EVENTS, st.booleans())
def test_the_clock_runs_exactly_when_access_has_ended(events: list[Event], forge: bool) -> None:
    life = replay(events, forge=forge)
    if life.state in (State.UNINSTALLED, State.ACCESS_LOST):
        assert life.clock_started_at is not None
        assert life.since is not None and life.clock_started_at <= life.since
    elif life.state in (State.INSTALLED, State.ACTIVE, State.DISABLED):
        assert life.clock_started_at is None
