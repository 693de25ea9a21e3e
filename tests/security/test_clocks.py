"""The security desk's clocks: B17's vectors under several host time zones, CVSS bands and vectors, and
acknowledgement in business days with public holidays."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from charter.policy import FixWithin
from charter.security import CvssError, FixClock, acknowledge_due, parse_cvss, severity

VECTORS = json.loads((Path(__file__).parent / "vectors" / "b17.json").read_text("utf-8"))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_vectors_match_atlassian_maxima() -> None:
    weeks = {k: int(getattr(FixWithin(), k).days // 7) for k in ("critical", "high", "medium", "low")}
    assert weeks == VECTORS["fix_within_weeks"]


@pytest.mark.parametrize("case", VECTORS["due"], ids=lambda c: f"{c['source']}-{c['score']}")
def test_b17_fix_deadlines(case: dict[str, Any], host_tz: str) -> None:
    clock = FixClock(_at(case["reported_at"]), case["source"], FixWithin())
    assert clock.due(case["score"]) == _at(case["due"]), os.environ["TZ"]


def test_b17_a_re_score_keeps_the_original_start_and_the_bug_bounty_triage_delays_it(host_tz: str) -> None:
    clock = FixClock(_at("2024-03-04T09:00:00Z"), "researcher", FixWithin())
    assert clock.due(5.3) == _at("2024-04-29T09:00:00Z")
    assert clock.due(9.1) == _at("2024-04-01T09:00:00Z")  # not 2024-04-08T15:30Z: from the report, not the re-score
    bounty = FixClock(_at("2024-03-04T09:00:00Z"), "bug-bounty", FixWithin())
    assert bounty.started_at == _at("2024-03-18T09:00:00Z")


@pytest.mark.parametrize("case", VECTORS["status"], ids=lambda c: c["now"])
def test_b17_status(case: dict[str, Any], host_tz: str) -> None:
    clock = FixClock(_at(case["reported_at"]), "researcher", FixWithin())
    assert clock.status(_at(case["now"]), case["score"]) == case["status"]


@pytest.mark.parametrize(("score", "expected"), VECTORS["bands"])
def test_severity_bands_are_exact_at_the_edges(score: float, expected: str) -> None:
    assert severity(score) == expected


def test_cvss_vectors_v31_and_v40_and_bad_ones() -> None:
    assert parse_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == (9.8, "critical")
    assert parse_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N") == (5.3, "medium")
    assert parse_cvss("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") == (9.3, "critical")
    for bad in ("CVSS:3.1/AV:X", "AV:N/AC:L", "", "CVSS:2.0/AV:N"):
        with pytest.raises(CvssError):
            parse_cvss(bad)
    with pytest.raises(CvssError):
        severity(10.1)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        FixClock(datetime(2024, 3, 4, 9), "researcher", FixWithin()).due(5.0)  # noqa: DTZ001 - the point


def test_acknowledgement_counts_business_days_and_public_holidays(host_tz: str) -> None:
    # Thursday before Easter 2024 in Germany: Good Friday and Easter Monday are holidays.
    assert acknowledge_due(_at("2024-03-28T10:00:00Z"), 3, "DE") == _at("2024-04-04T10:00:00Z")
    # The same days in a country without those holidays: Friday, Monday, Tuesday.
    assert acknowledge_due(_at("2024-03-28T10:00:00Z"), 3, "US") == _at("2024-04-02T10:00:00Z")
    # Received on a Saturday: Monday is the first business day.
    assert acknowledge_due(_at("2024-03-09T18:00:00Z"), 1, "US") == _at("2024-03-11T18:00:00Z")
    # Across New Year (holidays of the next year are known too).
    assert acknowledge_due(_at("2024-12-30T09:00:00Z"), 2, "DE") == _at("2025-01-02T09:00:00Z")
    with pytest.raises(ValueError, match="at least one business day"):
        acknowledge_due(_at("2024-03-28T10:00:00Z"), 0, "DE")
