"""Make the golden retention vectors in this directory (bug case B14 and its kind).

Run from the repository root::

    .venv/bin/python tests/backup/vectors/retention/make_golden.py          # (re)write the files
    .venv/bin/python tests/backup/vectors/retention/make_golden.py --check  # fail if any file differs

How the expected outputs were made, so that they are not the implementation's output copied back:

* The ``keep`` map of every vector is written out **by hand** below (``expect=``), from reasoning about
  local dates in the vector's zone; each derivation is in the comment beside it.
* ``oracle()`` is a second, deliberately naive implementation of the rule that shares no code with
  ``charter.backup._retention``: it groups all snapshots by period (period names via ``strftime``),
  takes each group's newest, ranks the groups by that newest snapshot and keeps the first N. The script
  refuses to write a vector unless the oracle's answer equals the hand-written one.
* The test (``tests/backup/test_retention.py``) checks the implementation against the files, the oracle
  against the files, and the oracle against the implementation on random inputs (hypothesis).

File format: ``{"description", "policy": {rule: N or duration}, "zone", "snapshots": [[id, utc]],
"keep": {id: [reason, ...]}, "remove": [id, ...]}``. Snapshots and ``keep`` are listed newest first.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent

Snapshot = tuple[str, datetime]

# -- the independent oracle -----------------------------------------------------------------------

_RULES: tuple[tuple[str, Callable[[datetime], str]], ...] = (
    ("daily", lambda t: t.date().isoformat()),
    ("weekly", lambda t: t.strftime("%G-W%V")),
    ("monthly", lambda t: t.strftime("%Y-%m")),
    ("yearly", lambda t: t.strftime("%Y")),
)


def _seconds(text: str) -> int:
    units = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            total += int(number) * units[char]
            number = ""
    return total


def oracle(snapshots: Iterable[Snapshot], policy: dict[str, Any], zone: str) -> dict[str, list[str]]:
    """The kept ids and their reasons, by brute force. ``policy["within"]`` is a duration string."""
    tz = ZoneInfo(zone)
    rows = [(taken_at.astimezone(UTC), snapshot_id) for snapshot_id, taken_at in snapshots]
    reasons: dict[str, list[str]] = {snapshot_id: [] for _, snapshot_id in rows}
    for rule, name in _RULES:
        wanted = policy.get(rule, 0)
        if not wanted:
            continue
        newest_of: dict[str, tuple[datetime, str]] = {}
        for row in rows:
            period = name(row[0].astimezone(tz))
            newest_of[period] = max(newest_of.get(period, row), row)
        ranked = sorted(newest_of.items(), key=lambda item: item[1], reverse=True)[:wanted]
        for period, (_, snapshot_id) in ranked:
            reasons[snapshot_id].append(f"{rule} {period}")
    if policy.get("within") is not None and rows:
        newest = max(rows)[0]
        for instant, snapshot_id in rows:
            if (newest - instant).total_seconds() <= _seconds(policy["within"]):
                reasons[snapshot_id].append(f"within {policy['within']}")
    return {snapshot_id: why for snapshot_id, why in reasons.items() if why}


# -- snapshot series ---------------------------------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def z(instant: datetime) -> str:
    """An instant as written in the files: ISO 8601 UTC with a ``Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def named(*pairs: tuple[str, str]) -> list[Snapshot]:
    return [(snapshot_id, utc(text)) for snapshot_id, text in pairs]


def by_utc(instants: Iterable[datetime]) -> list[Snapshot]:
    """Snapshots named by their own UTC instant, e.g. ``2023-10-29T01:30Z``."""
    return [(instant.strftime("%Y-%m-%dT%H:%MZ"), instant) for instant in instants]


def every(start: str, end: str, step: timedelta) -> list[datetime]:
    out, at, stop = [], utc(start), utc(end)
    while at <= stop:
        out.append(at)
        at += step
    return out


def daily_local(prefix: str, first: date, last: date, hour: int, minute: int, zone: str) -> list[Snapshot]:
    """One snapshot a day at a local wall-clock time, named by prefix + local date."""
    tz = ZoneInfo(zone)
    out, day = [], first
    while day <= last:
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        out.append((f"{prefix}{day.isoformat()}", local.astimezone(UTC)))
        day += timedelta(days=1)
    return out


def three_years_expected(prefix: str) -> dict[str, list[str]]:
    """Hand-derived keep map for daily snapshots from 2021-03-15 to 2024-03-10 (a Sunday), Berlin time,
    with daily=7, weekly=4, monthly=12, yearly=3."""
    expect: dict[str, list[str]] = {}

    def add(day: str, reason: str) -> None:
        expect.setdefault(prefix + day, []).append(reason)

    for day in range(10, 3, -1):  # the 7 newest local dates: 2024-03-10 .. 2024-03-04
        add(f"2024-03-{day:02d}", f"daily 2024-03-{day:02d}")
    # ISO weeks end on Sundays: W10 = 03-04..03-10, W09 ends 03-03, W08 ends 02-25, W07 ends 02-18.
    for day, week in (("2024-03-10", 10), ("2024-03-03", 9), ("2024-02-25", 8), ("2024-02-18", 7)):
        add(day, f"weekly 2024-W{week:02d}")
    # The newest of a month is its last day (2024 is a leap year), except the current month.
    month_ends = ["2024-03-10", "2024-02-29", "2024-01-31", "2023-12-31", "2023-11-30", "2023-10-31"]
    month_ends += ["2023-09-30", "2023-08-31", "2023-07-31", "2023-06-30", "2023-05-31", "2023-04-30"]
    for day in month_ends:
        add(day, f"monthly {day[:7]}")
    for day in ("2024-03-10", "2023-12-31", "2022-12-31"):  # 2021 is the fourth year: not kept
        add(day, f"yearly {day[:4]}")
    return expect


# -- the vectors ------------------------------------------------------------------------------------


def vectors() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    b14 = named(
        ("S0a", "2022-12-30T22:30:00"),  # Berlin 2022-12-30 23:30 CET
        ("S0b", "2022-12-31T23:30:00"),  # Berlin 2023-01-01 00:30 CET
        ("S1", "2023-02-27T22:30:00"),  # Berlin 02-27 23:30
        ("S2", "2023-02-28T22:30:00"),  # Berlin 02-28 23:30
        ("S3", "2023-03-29T22:30:00"),  # Berlin 03-30 00:30 CEST
        ("S4", "2023-03-30T22:30:00"),  # Berlin 03-31 00:30 CEST
        ("S5", "2023-03-31T22:30:00"),  # Berlin 04-01 00:30 CEST
        ("S6", "2023-04-01T22:30:00"),  # Berlin 04-02 00:30 CEST
    )
    out["b14-test-a-berlin"] = {
        "description": "B14 test A: month and year ends near midnight, counted in Europe/Berlin",
        "policy": {"daily": 2, "monthly": 3, "yearly": 2},
        "zone": "Europe/Berlin",
        "snapshots": b14,
        "expect": {
            "S6": ["daily 2023-04-02", "monthly 2023-04", "yearly 2023"],
            "S5": ["daily 2023-04-01"],
            "S4": ["monthly 2023-03"],
            "S2": ["monthly 2023-02"],
            "S0a": ["yearly 2022"],
        },
    }
    out["b14-control-utc"] = {
        "description": "B14 control: the same snapshots and policy counted in UTC keep different ones",
        "policy": {"daily": 2, "monthly": 3, "yearly": 2},
        "zone": "UTC",
        "snapshots": b14,
        "expect": {
            "S6": ["daily 2023-04-01", "monthly 2023-04", "yearly 2023"],
            "S5": ["daily 2023-03-31", "monthly 2023-03"],
            "S2": ["monthly 2023-02"],
            "S0b": ["yearly 2022"],
        },
    }
    out["b14-test-b-dst-spring"] = {
        "description": "B14 test B: the 23-hour day 2023-03-26 in Europe/Berlin",
        "policy": {"daily": 3},
        "zone": "Europe/Berlin",
        "snapshots": by_utc(
            utc(t) for t in ("2023-03-25T22:30", "2023-03-25T23:30", "2023-03-26T21:30", "2023-03-26T22:30")
        ),
        "expect": {
            "2023-03-26T22:30Z": ["daily 2023-03-27"],  # 03-27 00:30 CEST
            "2023-03-26T21:30Z": ["daily 2023-03-26"],  # 03-26 23:30 CEST, newer than 00:30 CET that day
            "2023-03-25T22:30Z": ["daily 2023-03-25"],  # 03-25 23:30 CET
        },
    }

    policy_3y = {"daily": 7, "weekly": 4, "monthly": 12, "yearly": 3}
    out["berlin-3y-daily-0030"] = {
        "description": "Three years of daily snapshots at 00:30 Berlin time (22:30Z or 23:30Z the day before)",
        "policy": policy_3y,
        "zone": "Europe/Berlin",
        "snapshots": daily_local("b", date(2021, 3, 15), date(2024, 3, 10), 0, 30, "Europe/Berlin"),
        "expect": three_years_expected("b"),
    }
    out["berlin-3y-daily-2330"] = {
        "description": "Three years of daily snapshots at 23:30 Berlin time (21:30Z in summer, 22:30Z in winter)",
        "policy": policy_3y,
        "zone": "Europe/Berlin",
        "snapshots": daily_local("e", date(2021, 3, 15), date(2024, 3, 10), 23, 30, "Europe/Berlin"),
        "expect": three_years_expected("e"),
    }

    out["berlin-dst-autumn-hourly"] = {
        "description": "Hourly snapshots around the 25-hour day 2023-10-29 in Europe/Berlin",
        "policy": {"daily": 3},
        "zone": "Europe/Berlin",
        # 2023-10-26T22:30Z = 10-27 00:30 CEST ... 2023-10-29T23:30Z = 10-30 00:30 CET
        "snapshots": by_utc(every("2023-10-26T22:30", "2023-10-29T23:30", timedelta(hours=1))),
        "expect": {
            "2023-10-29T23:30Z": ["daily 2023-10-30"],  # 10-30 00:30 CET, the only snapshot of that day
            "2023-10-29T22:30Z": ["daily 2023-10-29"],  # 10-29 23:30 CET, the 25th snapshot of that day
            "2023-10-28T21:30Z": ["daily 2023-10-28"],  # 10-28 23:30 CEST
        },
    }

    out["new-york-year-end"] = {
        "description": "Four snapshots a day over the DST end and the year end, counted in America/New_York",
        "policy": {"daily": 3, "weekly": 2, "monthly": 3, "yearly": 2},
        "zone": "America/New_York",
        "snapshots": by_utc(every("2023-10-28T00:00", "2024-01-01T06:00", timedelta(hours=6))),
        "expect": {
            # 2024-01-01 01:00 EST, a Monday: ISO 2024-W01
            "2024-01-01T06:00Z": ["daily 2024-01-01", "weekly 2024-W01", "monthly 2024-01", "yearly 2024"],
            # 2023-12-31 19:00 EST, a Sunday: the last of ISO 2023-W52, of December and of 2023
            "2024-01-01T00:00Z": ["daily 2023-12-31", "weekly 2023-W52", "monthly 2023-12", "yearly 2023"],
            "2023-12-31T00:00Z": ["daily 2023-12-30"],  # 12-30 19:00 EST
            "2023-12-01T00:00Z": ["monthly 2023-11"],  # 11-30 19:00 EST
        },
    }

    out["iso-week-year-boundary"] = {
        "description": "ISO weeks across 2020/2021: 2021-01-01..03 belong to 2020-W53 (Asia/Tokyo, 00:30 local)",
        "policy": {"weekly": 3, "yearly": 2},
        "zone": "Asia/Tokyo",
        "snapshots": daily_local("t", date(2020, 12, 21), date(2021, 1, 4), 0, 30, "Asia/Tokyo"),
        "expect": {
            "t2021-01-04": ["weekly 2021-W01", "yearly 2021"],  # Monday
            "t2021-01-03": ["weekly 2020-W53"],  # Sunday ending 2020-W53 (12-28 .. 01-03)
            "t2020-12-31": ["yearly 2020"],
            "t2020-12-27": ["weekly 2020-W52"],  # Sunday ending 2020-W52
        },
    }

    out["within-exact-seconds-over-dst"] = {
        "description": "within 1d is 86400 s from the newest snapshot, although Berlin wall clocks differ by 25 h",
        "policy": {"within": "1d"},
        "zone": "Europe/Berlin",
        "snapshots": named(
            ("w1", "2024-03-31T12:00:00"),  # 14:00 CEST, the newest
            ("w2", "2024-03-30T12:00:00"),  # 13:00 CET: exactly 86400 s before w1
            ("w3", "2024-03-30T11:59:59"),  # 86401 s before w1
            ("w4", "2024-03-29T12:00:00"),
            ("w5", "2024-03-31T11:00:00"),
        ),
        "expect": {"w1": ["within 1d"], "w5": ["within 1d"], "w2": ["within 1d"]},
    }
    out["within-with-calendar-rules"] = {
        "description": "within overlaps the calendar rules; a snapshot carries every reason",
        "policy": {"daily": 1, "monthly": 2, "within": "1d12h"},
        "zone": "America/New_York",
        "snapshots": by_utc(every("2024-02-25T00:00", "2024-03-02T12:00", timedelta(hours=12))),
        "expect": {
            "2024-03-02T12:00Z": ["daily 2024-03-02", "monthly 2024-03", "within 1d12h"],
            "2024-03-02T00:00Z": ["within 1d12h"],
            "2024-03-01T12:00Z": ["within 1d12h"],
            # 2024-02-29 19:00 EST: the last of February, and exactly 36 h before the newest
            "2024-03-01T00:00Z": ["monthly 2024-02", "within 1d12h"],
        },
    }

    out["periods-without-snapshots-skipped"] = {
        "description": "The N most recent periods that HAVE snapshots: empty days, months and years do not count",
        "policy": {"daily": 2, "monthly": 3, "yearly": 2},
        "zone": "Europe/London",
        "snapshots": named(
            ("g1", "2019-06-01T12:00:00"),
            ("g2", "2020-03-01T12:00:00"),
            ("g3", "2020-11-15T12:00:00"),
            ("g4", "2023-01-10T12:00:00"),
            ("g5", "2023-01-20T12:00:00"),
            ("g6", "2023-02-05T12:00:00"),
            ("g7", "2023-06-30T23:30:00"),  # London 2023-07-01 00:30 BST
            ("g8", "2023-09-01T12:00:00"),
        ),
        "expect": {
            "g8": ["daily 2023-09-01", "monthly 2023-09", "yearly 2023"],
            "g7": ["daily 2023-07-01", "monthly 2023-07"],
            "g6": ["monthly 2023-02"],
            "g3": ["yearly 2020"],
        },
    }

    out["clock-set-back-across-midnight"] = {
        "description": "America/St_Johns ended DST on 2010-11-07 at 00:01 NDT, back to 2010-11-06 23:01 NST: "
        "periods rank by their newest snapshot, so the newest snapshot is kept",
        "policy": {"daily": 1, "monthly": 1},
        "zone": "America/St_Johns",
        "snapshots": named(
            ("j1", "2010-11-05T12:00:00"),  # 11-05 09:30 NDT
            ("j2", "2010-11-07T02:20:00"),  # 11-06 23:50 NDT
            ("j3", "2010-11-07T02:30:30"),  # 11-07 00:00:30 NDT
            ("j4", "2010-11-07T02:40:00"),  # 11-06 23:10 NST, the newest
        ),
        "expect": {"j4": ["daily 2010-11-06", "monthly 2010-11"]},
    }
    out["clock-set-back-one-per-period"] = {
        "description": "America/St_Johns, 2010-11-07: the day 2010-11-06 recurs after 2010-11-07 yet is one "
        "period, kept once (comparing each snapshot's day with the previous one would keep j2 too)",
        "policy": {"daily": 3},
        "zone": "America/St_Johns",
        "snapshots": named(
            ("j1", "2010-11-05T12:00:00"),  # 11-05 09:30 NDT
            ("j2", "2010-11-07T02:20:00"),  # 11-06 23:50 NDT
            ("j3", "2010-11-07T02:30:30"),  # 11-07 00:00:30 NDT
            ("j4", "2010-11-07T02:40:00"),  # 11-06 23:10 NST, the newest
        ),
        "expect": {"j4": ["daily 2010-11-06"], "j3": ["daily 2010-11-07"], "j1": ["daily 2010-11-05"]},
    }

    out["skipped-day-apia"] = {
        "description": "Pacific/Apia skipped 2011-12-30 (UTC-10 to UTC+14); ISO week 2011-W51 has no snapshot",
        "policy": {"daily": 3, "weekly": 2, "yearly": 1},
        "zone": "Pacific/Apia",
        "snapshots": named(
            ("a1", "2011-12-29T21:00:00"),  # 12-29 11:00 -10
            ("a2", "2011-12-30T09:00:00"),  # 12-29 23:00 -10
            ("a3", "2011-12-30T12:00:00"),  # 12-31 02:00 +14
            ("a4", "2011-12-31T09:00:00"),  # 12-31 23:00 +14
            ("a5", "2011-12-31T11:00:00"),  # 2012-01-01 01:00 +14, a Sunday in ISO 2011-W52
        ),
        "expect": {
            "a5": ["daily 2012-01-01", "weekly 2011-W52", "yearly 2012"],
            "a4": ["daily 2011-12-31"],
            "a2": ["daily 2011-12-29"],
        },
    }

    out["equal-instants-by-id"] = {
        "description": "Snapshots at the same instant: the greatest id counts as the newest",
        "policy": {"daily": 2},
        "zone": "UTC",
        "snapshots": named(
            ("a", "2024-01-01T00:00:00"),
            ("c", "2024-01-01T00:00:00"),
            ("b", "2024-01-01T00:00:00"),
            ("d", "2023-12-31T00:00:00"),
        ),
        "expect": {"c": ["daily 2024-01-01"], "d": ["daily 2023-12-31"]},
    }
    return out


def render(vector: dict[str, Any]) -> str:
    snapshots: list[Snapshot] = sorted(vector["snapshots"], key=lambda s: (s[1], s[0]), reverse=True)
    keep = oracle(snapshots, vector["policy"], vector["zone"])
    rows = [json.dumps([snapshot_id, z(taken_at)]) for snapshot_id, taken_at in snapshots]
    kept = [f"{json.dumps(i)}: {json.dumps(keep[i])}" for i, _ in snapshots if i in keep]
    removed = [json.dumps(i) for i, _ in snapshots if i not in keep]
    # One snapshot per line, so that a diff of a regenerated file is readable.
    return (
        "{\n"
        f' "description": {json.dumps(vector["description"])},\n'
        f' "policy": {json.dumps(vector["policy"])},\n'
        f' "zone": {json.dumps(vector["zone"])},\n'
        ' "snapshots": [\n  ' + ",\n  ".join(rows) + "\n ],\n"
        ' "keep": {\n  ' + ",\n  ".join(kept) + "\n },\n"
        ' "remove": [\n  ' + ",\n  ".join(removed) + "\n ]\n"
        "}\n"
    )


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, vector in vectors().items():
        found = oracle(vector["snapshots"], vector["policy"], vector["zone"])
        if found != vector["expect"]:
            print(f"{name}: the oracle disagrees with the hand-written expectation:\n{found}\n{vector['expect']}")
            return 1
        path = HERE / f"{name}.json"
        text = render(vector)
        if check:
            if not path.is_file() or path.read_text("utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, "utf-8")
    if stale:
        print("stale:", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
