"""Calendar backup retention: which snapshots a :class:`~charter.policy._schema.KeepPolicy` keeps.

The rule is restic's ``forget --keep-daily/--keep-weekly/--keep-monthly/--keep-yearly/--keep-within``
policy (https://restic.readthedocs.io/en/stable/060_forget.html), made exact and explicit about its zone.
It answers bug case B14 (``/work/shared/cases/bug-cases.md``): restic and borg computed their day/month
buckets in an implicit zone (the host's ``TZ``, UTC, or the zone each snapshot was taken in), so near
midnight on month and year ends, and on DST switches, the "monthly" or "yearly" backup they kept was not
the one the policy promised (restic#4415, restic#4484, borg#1980, borg#7282).

Rules (adopted exactly):

* **One zone, named by the policy.** Every snapshot's calendar periods are those of its instant seen
  in that zone (``taken_at.astimezone(zone)``). The host ``TZ``, the process's local time and the offset
  a ``taken_at`` happens to carry have no effect.
* **Periods:** day ``YYYY-MM-DD`` (the local date), ISO week ``YYYY-Www`` (ISO 8601 year and week of
  the local date, so 2021-01-01 is in ``2020-W53``), month ``YYYY-MM`` and year ``YYYY``.
* **Each rule independently** keeps the newest snapshot of each of the N most recent periods *that have
  snapshots* (periods with no snapshot are skipped, not counted). Rules overlap: one snapshot may be kept
  by several rules and then carries every reason.
* **within** keeps every snapshot with ``newest.taken_at - taken_at <= within``, in exact seconds (a
  DST switch in between changes nothing), measured from the newest snapshot, not from "now".
* **Nothing else is kept**: no "keep the oldest" bonus, no keep-last.

"Newest" compares instants (UTC), never wall-clock times; equal instants are ordered by id, the greater
id counting as the newer. "The N most recent periods" ranks periods by their newest snapshot. That is
the calendar order wherever a zone's local date only moves forward, which holds for every ordinary DST
switch; where a zone set its clock back across midnight (``America/St_Johns`` until 2010 ended DST at
00:01, returning to 23:01 of the previous day), ranking by the newest snapshot keeps the newest snapshot
rather than an older one that shows a later date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from charter.policy import KeepPolicy

__all__ = ["Decision", "plan_retention"]


@dataclass(frozen=True)
class Decision:
    """What happens to one snapshot.

    Attributes:
        snapshot_id: the snapshot's id, as given.
        taken_at: the snapshot's instant, the very (timezone-aware) object given.
        keep: whether any rule keeps the snapshot.
        reasons: every rule that keeps it, in the order daily, weekly, monthly, yearly, within, e.g.
            ``("daily 2023-04-02", "monthly 2023-04", "yearly 2023", "within 3d")``; the period is
            named in the policy's zone. Empty exactly when the snapshot is removed.
    """

    snapshot_id: str
    taken_at: datetime
    keep: bool
    reasons: tuple[str, ...]


def _day(local: datetime) -> str:
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"


def _week(local: datetime) -> str:
    iso = local.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def _month(local: datetime) -> str:
    return f"{local.year:04d}-{local.month:02d}"


def _year(local: datetime) -> str:
    return f"{local.year:04d}"


_PERIODS: tuple[tuple[str, Callable[[datetime], str]], ...] = (
    ("daily", _day),
    ("weekly", _week),
    ("monthly", _month),
    ("yearly", _year),
)


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{zone}' is not an IANA time zone") from None


def plan_retention(snapshots: Iterable[tuple[str, datetime]], keep: KeepPolicy, zone: str | ZoneInfo) -> list[Decision]:
    """Decide, for every snapshot, whether ``keep`` keeps it and why.

    Args:
        snapshots: ``(snapshot_id, taken_at)`` pairs in any order. Ids must be unique; ``taken_at`` must
            be timezone-aware (any offset or zone: only the instant counts).
        keep: the policy: ``daily``, ``weekly``, ``monthly``, ``yearly`` (numbers of periods, 0 = rule
            off) and ``within`` (a duration in whole seconds, or ``None``).
        zone: the IANA zone in which days, ISO weeks, months and years are counted, e.g.
            ``"Europe/Berlin"``, or a ``ZoneInfo``.

    Returns:
        One :class:`Decision` per snapshot, newest first (by instant; equal instants by id, descending).
        An empty list for no snapshots.

    Raises:
        ValueError: a ``taken_at`` is naive (no UTC offset), an id occurs twice (both name the
            snapshot), or ``zone`` is not an IANA zone.
        TypeError: a ``taken_at`` is not a ``datetime``.

    Runs in O(n log n) time (one sort) and O(n) memory; each instant is converted to the zone once.
    """
    tz = _zone(zone)
    seen: set[str] = set()
    # (instant in UTC, id, as given): sorting and subtraction in UTC are exact, whereas datetimes that
    # share a tzinfo compare and subtract by wall-clock time, which is wrong across a DST switch.
    rows: list[tuple[datetime, str, datetime]] = []
    for snapshot_id, taken_at in snapshots:
        if not isinstance(taken_at, datetime):
            raise TypeError(f"snapshot '{snapshot_id}': taken_at is {type(taken_at).__name__}, not a datetime")
        if taken_at.tzinfo is None or taken_at.utcoffset() is None:
            raise ValueError(f"snapshot '{snapshot_id}': taken_at {taken_at.isoformat()} is naive; give its UTC offset")
        if snapshot_id in seen:
            raise ValueError(f"snapshot id '{snapshot_id}' occurs more than once")
        seen.add(snapshot_id)
        rows.append((taken_at.astimezone(UTC), snapshot_id, taken_at))
    if not rows:
        return []
    rows.sort(reverse=True)  # newest first; ids are unique, so the third field is never compared
    local = [instant.astimezone(tz) for instant, _, _ in rows]
    reasons: list[list[str]] = [[] for _ in rows]

    for rule, period_of in _PERIODS:
        wanted: int = getattr(keep, rule)
        if wanted <= 0:
            continue
        periods: set[str] = set()
        for index, moment in enumerate(local):
            period = period_of(moment)
            if period in periods:
                continue
            # Walking newest first, the first snapshot met in a period is that period's newest, and
            # periods are met in the order of their newest snapshots.
            periods.add(period)
            reasons[index].append(f"{rule} {period}")
            if len(periods) == wanted:
                break

    if keep.within is not None:
        newest = rows[0][0]
        span = keep.within.timedelta
        label = f"within {keep.within}"
        for index, (instant, _, _) in enumerate(rows):
            if newest - instant > span:
                break  # older snapshots are further away still
            reasons[index].append(label)

    return [
        Decision(snapshot_id=snapshot_id, taken_at=taken_at, keep=bool(why), reasons=tuple(why))
        for (_, snapshot_id, taken_at), why in zip(rows, reasons, strict=True)
    ]
