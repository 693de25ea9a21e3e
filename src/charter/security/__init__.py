"""The security desk (issue 7, in progress): the clocks it keeps. Reports, intake, notification and the
dependency audit build on these."""

from charter.security._clocks import (
    BUG_BOUNTY_TRIAGE,
    CvssError,
    FixClock,
    Severity,
    acknowledge_due,
    parse_cvss,
    severity,
)

__all__ = ["BUG_BOUNTY_TRIAGE", "CvssError", "FixClock", "Severity", "acknowledge_due", "parse_cvss", "severity"]
