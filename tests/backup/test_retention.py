"""Calendar backup retention (bug case B14): golden vectors, hand-checked facts, errors and properties."""

from __future__ import annotations

import importlib.util
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.backup._retention import Decision, plan_retention
from charter.policy import Duration
from charter.policy._schema import KeepPolicy

VECTORS = Path(__file__).resolve().parent / "vectors" / "retention"
VECTOR_FILES = sorted(VECTORS.glob("*.json"))
HOST_ZONES = ["UTC", "America/Los_Angeles"]


def _load_make_golden() -> ModuleType:
    spec = importlib.util.spec_from_file_location("retention_make_golden", VECTORS / "make_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE_GOLDEN = _load_make_golden()


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _snapshots(vector: dict[str, Any]) -> list[tuple[str, datetime]]:
    return [(snapshot_id, _utc(text)) for snapshot_id, text in vector["snapshots"]]


def _policy(vector: dict[str, Any]) -> KeepPolicy:
    return KeepPolicy.model_validate(vector["policy"])


def _kept(decisions: list[Decision]) -> dict[str, list[str]]:
    return {d.snapshot_id: list(d.reasons) for d in decisions if d.keep}


def _removed(decisions: list[Decision]) -> list[str]:
    return [d.snapshot_id for d in decisions if not d.keep]


def _plan(snapshots: list[tuple[str, datetime]], zone: str, **policy: Any) -> list[Decision]:
    return plan_retention(snapshots, KeepPolicy.model_validate(policy), zone)


@pytest.fixture(params=HOST_ZONES)
def host_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with the process's local time zone set to the parameter."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_host_tz_fixture_really_changes_local_time(host_tz: str) -> None:
    # Guards against a vacuous parametrization: the process's local time follows TZ.
    offset = time.strftime("%z", time.localtime(1_700_000_000))  # 2023-11-14T22:13:20Z
    assert offset == {"UTC": "+0000", "America/Los_Angeles": "-0800"}[host_tz]
    # so an implementation that used host-local dates would see different days under each.
    instant = _utc("2023-04-02T03:00:00Z")
    host_date = datetime.fromtimestamp(instant.timestamp()).date()  # noqa: DTZ006 - deliberately host-local
    assert host_date == {"UTC": date(2023, 4, 2), "America/Los_Angeles": date(2023, 4, 1)}[host_tz]


# -- golden vectors --------------------------------------------------------------------------------


def test_all_required_vectors_are_present() -> None:
    names = {path.stem for path in VECTOR_FILES}
    assert {
        "b14-test-a-berlin",
        "b14-control-utc",
        "b14-test-b-dst-spring",
        "berlin-3y-daily-0030",
        "berlin-3y-daily-2330",
        "berlin-dst-autumn-hourly",
        "new-york-year-end",
        "iso-week-year-boundary",
        "within-exact-seconds-over-dst",
        "within-with-calendar-rules",
        "periods-without-snapshots-skipped",
        "clock-set-back-across-midnight",
        "clock-set-back-one-per-period",
    } <= names


def test_vector_files_are_consistent_with_make_golden() -> None:
    assert MAKE_GOLDEN.main(["--check"]) == 0


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_vector(path: Path, host_tz: str) -> None:
    vector = _load(path)
    snapshots = _snapshots(vector)
    ids = [snapshot_id for snapshot_id, _ in snapshots]
    assert sorted([*vector["keep"], *vector["remove"]]) == sorted(ids), "every snapshot is kept or removed"

    decisions = plan_retention(reversed(snapshots), _policy(vector), vector["zone"])

    assert [d.snapshot_id for d in decisions] == ids  # the files list snapshots newest first
    assert _kept(decisions) == vector["keep"]
    assert list(_kept(decisions)) == list(vector["keep"])  # same order: newest first
    assert _removed(decisions) == vector["remove"]
    given_at = dict(snapshots)
    assert all(d.taken_at is given_at[d.snapshot_id] for d in decisions)


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize(
    "express_in",
    [ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles"), timezone(timedelta(hours=5, minutes=45))],
    ids=str,
)
def test_vector_does_not_depend_on_the_offset_of_taken_at(path: Path, express_in: tzinfo) -> None:
    # The same instants written with another offset (or zone, where Python compares and subtracts
    # wall-clock times) give the same decisions.
    vector = _load(path)
    moved = [(snapshot_id, at.astimezone(express_in)) for snapshot_id, at in _snapshots(vector)]
    decisions = plan_retention(moved, _policy(vector), ZoneInfo(vector["zone"]))
    assert _kept(decisions) == vector["keep"]
    assert _removed(decisions) == vector["remove"]
    assert [d.taken_at for d in decisions] == [at for _, at in moved]


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_oracle_agrees_with_vector(path: Path) -> None:
    vector = _load(path)
    assert MAKE_GOLDEN.oracle(_snapshots(vector), vector["policy"], vector["zone"]) == vector["keep"]


# -- B14 by hand, as the case file states it ---------------------------------------------------------

B14 = [
    ("S0a", _utc("2022-12-30T22:30:00Z")),
    ("S0b", _utc("2022-12-31T23:30:00Z")),
    ("S1", _utc("2023-02-27T22:30:00Z")),
    ("S2", _utc("2023-02-28T22:30:00Z")),
    ("S3", _utc("2023-03-29T22:30:00Z")),
    ("S4", _utc("2023-03-30T22:30:00Z")),
    ("S5", _utc("2023-03-31T22:30:00Z")),
    ("S6", _utc("2023-04-01T22:30:00Z")),
]


def test_b14_test_a(host_tz: str) -> None:
    decisions = _plan(B14, "Europe/Berlin", daily=2, monthly=3, yearly=2)
    assert _kept(decisions) == {
        "S6": ["daily 2023-04-02", "monthly 2023-04", "yearly 2023"],
        "S5": ["daily 2023-04-01"],
        "S4": ["monthly 2023-03"],  # local 2023-03-31 00:30 CEST
        "S2": ["monthly 2023-02"],
        "S0a": ["yearly 2022"],
    }
    assert _removed(decisions) == ["S3", "S1", "S0b"]  # S0b is local 2023-01-01 00:30


def test_b14_control_utc(host_tz: str) -> None:
    decisions = _plan(B14, "UTC", daily=2, monthly=3, yearly=2)
    assert set(_kept(decisions)) == {"S6", "S5", "S2", "S0b"}
    assert set(_removed(decisions)) == {"S0a", "S1", "S3", "S4"}


def test_b14_test_b_dst_day(host_tz: str) -> None:
    snapshots = [
        (text, _utc(text))
        for text in ("2023-03-25T22:30:00Z", "2023-03-25T23:30:00Z", "2023-03-26T21:30:00Z", "2023-03-26T22:30:00Z")
    ]
    decisions = _plan(snapshots, "Europe/Berlin", daily=3)
    assert _kept(decisions) == {
        "2023-03-26T22:30:00Z": ["daily 2023-03-27"],
        "2023-03-26T21:30:00Z": ["daily 2023-03-26"],
        "2023-03-25T22:30:00Z": ["daily 2023-03-25"],
    }
    assert _removed(decisions) == ["2023-03-25T23:30:00Z"]


# -- long golden files, checked by hand at month and year ends ------------------------------------------


@pytest.mark.parametrize(
    ("name", "prefix", "hhmm"), [("berlin-3y-daily-0030", "b", "00:30"), ("berlin-3y-daily-2330", "e", "23:30")]
)
def test_three_years_hand_checked(name: str, prefix: str, hhmm: str) -> None:
    vector = _load(VECTORS / f"{name}.json")
    berlin = ZoneInfo("Europe/Berlin")
    snapshots = _snapshots(vector)
    assert len(snapshots) == (date(2024, 3, 10) - date(2021, 3, 15)).days + 1
    for snapshot_id, at in snapshots:  # each id is the Berlin date of its snapshot
        local = at.astimezone(berlin)
        assert (snapshot_id, local.strftime("%H:%M")) == (prefix + local.date().isoformat(), hhmm)
    # 00:30 Berlin is on the previous UTC day (CET 23:30Z, CEST 22:30Z); 23:30 Berlin on the same one.
    at = dict(snapshots)
    if hhmm == "00:30":
        assert at["b2024-02-29"] == _utc("2024-02-28T23:30:00Z")
        assert at["b2023-07-31"] == _utc("2023-07-30T22:30:00Z")
    else:
        assert at["e2023-12-31"] == _utc("2023-12-31T22:30:00Z")
        assert at["e2023-06-30"] == _utc("2023-06-30T21:30:00Z")

    kept = _kept(plan_retention(snapshots, _policy(vector), "Europe/Berlin"))
    p = prefix
    assert len(kept) == 22  # 7 daily + 3 more weekly + 11 more monthly + 1 more yearly
    assert kept[p + "2024-03-10"] == ["daily 2024-03-10", "weekly 2024-W10", "monthly 2024-03", "yearly 2024"]
    assert kept[p + "2024-03-04"] == ["daily 2024-03-04"]  # Monday of W10: its week's newest is 03-10
    assert p + "2024-03-02" not in kept and p + "2024-03-01" not in kept
    assert kept[p + "2024-03-03"] == ["weekly 2024-W09"]  # Sundays end ISO weeks
    assert kept[p + "2024-02-18"] == ["weekly 2024-W07"]
    assert p + "2024-02-11" not in kept  # the fifth week
    assert kept[p + "2024-02-29"] == ["monthly 2024-02"]  # leap day ends February
    assert p + "2024-02-28" not in kept
    assert kept[p + "2024-01-31"] == ["monthly 2024-01"]
    assert kept[p + "2023-12-31"] == ["monthly 2023-12", "yearly 2023"]
    assert kept[p + "2023-04-30"] == ["monthly 2023-04"]  # the twelfth month
    assert p + "2023-03-31" not in kept  # the thirteenth
    assert kept[p + "2022-12-31"] == ["yearly 2022"]
    assert p + "2021-12-31" not in kept  # the fourth year
    assert p + "2021-03-15" not in kept  # the oldest: no "keep oldest" bonus
    assert {day[1:] for day in kept} == {
        *(f"2024-03-{d:02d}" for d in range(4, 11)),
        *("2024-03-03", "2024-02-25", "2024-02-18"),
        *("2024-02-29", "2024-01-31", "2023-12-31", "2023-11-30", "2023-10-31", "2023-09-30"),
        *("2023-08-31", "2023-07-31", "2023-06-30", "2023-05-31", "2023-04-30"),
        "2022-12-31",
    }


def test_autumn_dst_day_has_25_snapshots_and_keeps_its_last(host_tz: str) -> None:
    vector = _load(VECTORS / "berlin-dst-autumn-hourly.json")
    snapshots = _snapshots(vector)
    berlin = ZoneInfo("Europe/Berlin")
    on_the_day = [i for i, at in snapshots if at.astimezone(berlin).date() == date(2023, 10, 29)]
    assert len(on_the_day) == 25
    decisions = plan_retention(snapshots, _policy(vector), "Europe/Berlin")
    assert _kept(decisions) == {
        "2023-10-29T23:30Z": ["daily 2023-10-30"],  # 10-30 00:30 CET
        "2023-10-29T22:30Z": ["daily 2023-10-29"],  # 10-29 23:30 CET
        "2023-10-28T21:30Z": ["daily 2023-10-28"],  # 10-28 23:30 CEST
    }
    assert "2023-10-28T22:30Z" in _removed(decisions)  # 10-29 00:30 CEST, first of the long day


def test_iso_week_53_hand_checked() -> None:
    vector = _load(VECTORS / "iso-week-year-boundary.json")
    kept = _kept(plan_retention(_snapshots(vector), _policy(vector), "Asia/Tokyo"))
    assert kept["t2021-01-03"] == ["weekly 2020-W53"]
    assert kept["t2021-01-04"] == ["weekly 2021-W01", "yearly 2021"]
    assert kept["t2020-12-31"] == ["yearly 2020"]
    assert "t2021-01-01" not in kept


# -- smaller behaviours ----------------------------------------------------------------------------


def test_no_snapshots() -> None:
    assert plan_retention([], KeepPolicy(daily=3), "Europe/Berlin") == []


def test_zone_may_be_a_zoneinfo() -> None:
    by_name = plan_retention(B14, KeepPolicy(monthly=3), "Europe/Berlin")
    by_object = plan_retention(B14, KeepPolicy(monthly=3), ZoneInfo("Europe/Berlin"))
    assert by_name == by_object
    assert _kept(by_name) == {"S6": ["monthly 2023-04"], "S4": ["monthly 2023-03"], "S2": ["monthly 2023-02"]}


@pytest.mark.parametrize(
    ("within", "label"), [("36h", "within 1d12h"), ("14d", "within 2w"), ("3d", "within 3d"), ("0s", "within 0s")]
)
def test_within_reason_is_the_canonical_duration(within: str, label: str) -> None:
    decisions = _plan(B14, "UTC", within=within)
    assert decisions[0].snapshot_id == "S6"
    assert decisions[0].reasons == (label,)


def test_within_zero_keeps_only_the_newest_instant() -> None:
    at = _utc("2024-01-01T00:00:00Z")
    decisions = _plan([("x", at), ("y", at), ("z", at - timedelta(seconds=1))], "UTC", within="0s")
    assert _kept(decisions) == {"y": ["within 0s"], "x": ["within 0s"]}
    assert _removed(decisions) == ["z"]


def test_decision_is_frozen() -> None:
    decision = plan_retention(B14[:1], KeepPolicy(daily=1), "UTC")[0]
    assert decision == Decision("S0a", B14[0][1], True, ("daily 2022-12-30",))
    with pytest.raises(AttributeError):
        decision.keep = False  # type: ignore[misc]


def test_accepts_any_iterable_once() -> None:
    decisions = plan_retention(iter(B14), KeepPolicy(yearly=2), "Europe/Berlin")
    assert _kept(decisions) == {"S6": ["yearly 2023"], "S0a": ["yearly 2022"]}


# -- errors ---------------------------------------------------------------------------------------


def test_naive_datetime_names_the_snapshot() -> None:
    snapshots = [*B14, ("nightly-42", datetime(2023, 4, 3, 1, 0))]  # noqa: DTZ001 - the error under test
    with pytest.raises(ValueError, match="nightly-42") as info:
        plan_retention(snapshots, KeepPolicy(daily=1), "UTC")
    assert "naive" in str(info.value)


def test_tzinfo_without_offset_is_naive() -> None:
    class NoOffset(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    with pytest.raises(ValueError, match="odd-one"):
        plan_retention([("odd-one", datetime(2023, 4, 3, tzinfo=NoOffset()))], KeepPolicy(daily=1), "UTC")


def test_duplicate_id_is_refused() -> None:
    snapshots = [*B14, ("S2", _utc("2023-05-01T00:00:00Z"))]
    with pytest.raises(ValueError, match="'S2' occurs more than once"):
        plan_retention(snapshots, KeepPolicy(daily=1), "UTC")


def test_not_a_datetime_is_refused() -> None:
    with pytest.raises(TypeError, match=r"'d1'.*date"):
        plan_retention([("d1", date(2023, 1, 1))], KeepPolicy(daily=1), "UTC")  # type: ignore[list-item]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd"])
def test_unknown_zone_is_refused(zone: str) -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        plan_retention(B14, KeepPolicy(daily=1), zone)


def test_hundred_thousand_snapshots_quickly() -> None:
    start = _utc("2022-01-01T00:00:00Z")
    snapshots = [(f"s{i:06d}", start + timedelta(minutes=5 * i)) for i in range(100_000)]
    policy = KeepPolicy(daily=7, weekly=4, monthly=12, yearly=3, within=Duration.parse("1h"))
    began = time.perf_counter()
    decisions = plan_retention(reversed(snapshots), policy, "Europe/Berlin")
    elapsed = time.perf_counter() - began
    assert len(decisions) == 100_000
    assert decisions[0].snapshot_id == "s099999"
    # 13 within the hour (0..60 minutes) plus the calendar rules' picks
    assert sum(1 for d in decisions if "within 1h" in d.reasons) == 13
    assert elapsed < 10, f"{elapsed:.1f} s"


# -- properties ----------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "America/Santiago",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Asia/Tokyo",
]
# Instants near which calendar rules go wrong: DST switches, year ends, a skipped and a repeated day.
INTERESTING = [
    _utc(text)
    for text in (
        "2010-11-07T02:31:00Z",  # St_Johns: back from 00:01 NDT to 23:01 NST the day before
        "2011-12-30T10:00:00Z",  # Apia skips 2011-12-30
        "2020-12-31T23:00:00Z",  # year end, ISO 2020-W53
        "2023-03-26T01:00:00Z",  # Europe spring forward
        "2023-10-29T01:00:00Z",  # Europe fall back
        "2023-11-05T06:00:00Z",  # US fall back
        "2024-04-07T03:00:00Z",  # Santiago fall back (00:00 -> 23:00 the day before)
    )
]
RULES = {
    "daily": lambda t: t.date().isoformat(),
    "weekly": lambda t: f"{t.isocalendar().year}-W{t.isocalendar().week:02d}",
    "monthly": lambda t: f"{t.year}-{t.month:02d}",
    "yearly": lambda t: f"{t.year}",
}

instants = st.one_of(
    st.datetimes(min_value=datetime(2008, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
    st.builds(
        lambda base, minutes: base + timedelta(minutes=minutes),
        st.sampled_from(INTERESTING),
        st.integers(-4 * 1440, 4 * 1440),
    ),
    st.builds(
        lambda base, seconds: base + timedelta(seconds=seconds),
        st.sampled_from(INTERESTING),
        st.integers(-5400, 5400),
    ),
)
snapshot_sets = st.lists(instants, max_size=40).map(lambda ats: [(f"s{i:02d}", at) for i, at in enumerate(ats)])
offsets = st.sampled_from([UTC, ZoneInfo("America/Los_Angeles"), timezone(timedelta(hours=-9, minutes=-30))])


def _policies() -> st.SearchStrategy[KeepPolicy]:
    fields = st.fixed_dictionaries(
        {
            "daily": st.integers(0, 5),
            "weekly": st.integers(0, 4),
            "monthly": st.integers(0, 4),
            "yearly": st.integers(0, 3),
            "within": st.none() | st.builds(Duration, st.integers(0, 3 * 86400)),
        }
    ).filter(lambda f: any(f[k] for k in ("daily", "weekly", "monthly", "yearly")) or f["within"] is not None)
    return fields.map(lambda f: KeepPolicy(**f))


# The host_tz fixture is function-scoped on purpose: TZ stays the same for every example of a run.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(snapshots=snapshot_sets, keep=_policies(), zone=st.sampled_from(ZONES), order=st.randoms(), moved=offsets)
def test_properties(
    host_tz: str,
    snapshots: list[tuple[str, datetime]],
    keep: KeepPolicy,
    zone: str,
    order: random.Random,
    moved: tzinfo,
) -> None:
    decisions = plan_retention(snapshots, keep, zone)
    assert len(decisions) == len(snapshots)
    if not snapshots:
        assert decisions == []
        return
    tz = ZoneInfo(zone)

    # newest first, ties by id descending
    assert [d.snapshot_id for d in decisions] == [i for _, i in sorted(((at, i) for i, at in snapshots), reverse=True)]

    # (a) the newest snapshot is kept (every valid policy has a rule)
    assert decisions[0].keep

    # (b) each rule keeps min(N, number of periods that have snapshots), one per period, each the newest of it
    for rule, period_of in RULES.items():
        wanted = getattr(keep, rule)
        periods = {period_of(at.astimezone(tz)) for _, at in snapshots}
        picked = [(d, r.split(" ", 1)[1]) for d in decisions for r in d.reasons if r.startswith(rule + " ")]
        assert len(picked) == min(wanted, len(periods))
        assert len({period for _, period in picked}) == len(picked)
        for decision, period in picked:
            assert period_of(decision.taken_at.astimezone(tz)) == period
            same = [d for d in decisions if period_of(d.taken_at.astimezone(tz)) == period]
            assert same[0] is decision  # decisions are newest first

    # within: exactly the snapshots within that many seconds of the newest
    if keep.within is not None:
        newest = decisions[0].taken_at
        near = {d.snapshot_id for d in decisions if (newest - d.taken_at).total_seconds() <= keep.within.seconds}
        assert {d.snapshot_id for d in decisions if f"within {keep.within}" in d.reasons} == near
    else:
        assert not any(r.startswith("within") for d in decisions for r in d.reasons)

    # (c) independent of input order and of the offset the instants are written in
    shuffled = [(i, at.astimezone(moved)) for i, at in snapshots]
    order.shuffle(shuffled)
    again = plan_retention(shuffled, keep, tz)
    assert [(d.snapshot_id, d.keep, d.reasons) for d in again] == [
        (d.snapshot_id, d.keep, d.reasons) for d in decisions
    ]

    # (d) kept exactly when there is a reason
    assert all(d.keep == bool(d.reasons) for d in decisions)

    # and the same answer as the brute-force oracle that made the golden files
    policy = {rule: getattr(keep, rule) for rule in RULES} | {"within": str(keep.within) if keep.within else None}
    assert _kept(decisions) == MAKE_GOLDEN.oracle(snapshots, policy, zone)
