"""The security desk's clocks: CVSS severity, fix deadlines by severity, and acknowledgement in business days.

Rules (``../shared/cases/bug-cases.md`` B17; Atlassian's Marketplace security bug-fix policy):

* Severity bands are CVSS v3.1 / v4.0 qualitative ratings (FIRST CVSS v3.1 specification, section 5):
  Critical 9.0-10.0, High 7.0-8.9, Medium 4.0-6.9, Low 0.1-3.9, None 0.0.
* A fix is due ``fix_within[severity]`` after the clock starts: the report's time, or for bug-bounty reports
  the end of the triage period (two weeks). Durations are exact (weeks x 7 x 24 h) and added to aware UTC
  instants, never to local wall-clock time, so DST and the host's ``TZ`` change nothing. A re-score keeps
  the original start: only the severity's duration changes.
* An acknowledgement is due N business days after receipt: days Monday to Friday that are not public
  holidays of the charter's country (the ``holidays`` library), counted on UTC dates, at the receipt's time
  of day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import holidays

from charter.policy import FixWithin

__all__ = [
    "BUG_BOUNTY_TRIAGE",
    "CvssError",
    "FixClock",
    "Severity",
    "acknowledge_due",
    "parse_cvss",
    "severity",
]

Severity = Literal["critical", "high", "medium", "low", "none"]
Source = Literal["researcher", "customer", "bug-bounty", "internal", "dependency"]
#: Atlassian: bug-bounty findings have a two-week triage period before the fix clock starts.
BUG_BOUNTY_TRIAGE = timedelta(weeks=2)


class CvssError(ValueError):
    """A CVSS vector or score that cannot be read; the message says what is wrong."""


def severity(score: float) -> Severity:
    """The qualitative rating of a CVSS v3.1/v4.0 base score (0.0-10.0, one decimal).

    Raises:
        CvssError: a score outside 0.0-10.0.
    """
    if not 0.0 <= score <= 10.0:
        raise CvssError(f"a CVSS score is between 0.0 and 10.0, not {score}")
    score = round(score, 1)
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score >= 0.1:
        return "low"
    return "none"


def parse_cvss(vector: str) -> tuple[float, Severity]:
    """The base score and severity of a CVSS v3.0, v3.1 or v4.0 vector (``CVSS:3.1/AV:N/...``), scored by the
    ``cvss`` library (Red Hat's implementation of the FIRST specifications).

    Raises:
        CvssError: not a vector of those versions, or a malformed one.
    """
    from cvss import CVSS3, CVSS4
    from cvss.exceptions import CVSSError

    text = vector.strip()
    try:
        if text.startswith("CVSS:4.0/"):
            score = float(CVSS4(text).base_score)
        elif text.startswith(("CVSS:3.0/", "CVSS:3.1/")):
            score = float(CVSS3(text).scores()[0])
        else:
            raise CvssError(f"not a CVSS v3.x or v4.0 vector (it starts 'CVSS:3.1/' or 'CVSS:4.0/'): {text[:40]!r}")
    except CVSSError as exc:
        raise CvssError(f"malformed CVSS vector: {exc}") from None
    return score, severity(score)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("a naive datetime: every instant here is aware (UTC or with an offset)")
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class FixClock:
    """The fix deadline of one report. Re-scoring changes the score passed in, never ``started_at``.

    Attributes:
        reported_at: when the report arrived (aware; kept in UTC).
        source: where it came from; ``bug-bounty`` starts the clock after :data:`BUG_BOUNTY_TRIAGE`.
        fix_within: the charter's deadlines per severity (``security.effective_fix_within``).
    """

    reported_at: datetime
    source: Source
    fix_within: FixWithin

    @property
    def started_at(self) -> datetime:
        """When the fix clock started (UTC)."""
        start = _utc(self.reported_at)
        return start + BUG_BOUNTY_TRIAGE if self.source == "bug-bounty" else start

    def due(self, score: float) -> datetime | None:
        """When a fix for a report of this CVSS score is due (UTC); ``None`` for severity none."""
        rating = severity(score)
        if rating == "none":
            return None
        window: timedelta = getattr(self.fix_within, rating).timedelta
        return self.started_at + window

    def status(self, now: datetime, score: float) -> Literal["on track", "breached"]:
        """``breached`` once ``now`` is past the due instant (the due instant itself is still on time)."""
        due = self.due(score)
        return "breached" if due is not None and _utc(now) > due else "on track"


def acknowledge_due(
    received_at: datetime, business_days: int, country: str, subdivision: str | None = None
) -> datetime:
    """When a report received at ``received_at`` must be acknowledged: ``business_days`` business days later
    (Monday-Friday, not a public holiday of ``country``/``subdivision``; UTC dates), at the same time of day.

    Raises:
        ValueError: a naive ``received_at``, fewer than one business day, or an unknown country.
    """
    if business_days < 1:
        raise ValueError("an acknowledgement window is at least one business day")
    start = _utc(received_at)
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=range(start.year, start.year + 2))
    day = start.date()
    counted = 0
    while counted < business_days:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in calendar:
            counted += 1
    return datetime.combine(day, start.timetz())
