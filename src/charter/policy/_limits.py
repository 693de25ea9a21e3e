"""External rules a charter may not be looser than, each with its source.

These numbers come from Atlassian's Marketplace policies, the GDPR and RFC 9116. Charter refuses a
charter that promises less than they require (see ``../shared/reference/atlassian-platform.md``).
"""

from __future__ import annotations

from charter.policy._duration import Duration

__all__ = [
    "CLOUD_FIX_DEADLINES",
    "DC_FIX_DEADLINES",
    "GDPR_AUTHORITY_NOTICE",
    "HSTS_MIN_MAX_AGE",
    "MIN_TLS",
    "SECURITY_TXT_WARN_BEFORE",
    "SEVERITIES",
]

SEVERITIES = ("critical", "high", "medium", "low")

#: Atlassian Marketplace Security Bug Fix Policy, cloud apps: fix within 4/6/8/25 weeks of report or
#: triage for Critical/High/Medium/Low (developer.atlassian.com/platform/marketplace/security-bugfix-policy).
CLOUD_FIX_DEADLINES: dict[str, Duration] = {
    "critical": Duration.of(weeks=4),
    "high": Duration.of(weeks=6),
    "medium": Duration.of(weeks=8),
    "low": Duration.of(weeks=25),
}

#: The same policy for Data Center/Server apps: 90 days for Critical, High and Medium, 180 for Low.
DC_FIX_DEADLINES: dict[str, Duration] = {
    "critical": Duration.of(days=90),
    "high": Duration.of(days=90),
    "medium": Duration.of(days=90),
    "low": Duration.of(days=180),
}

#: GDPR Art. 33(1): notify the supervisory authority not later than 72 hours after becoming aware.
GDPR_AUTHORITY_NOTICE = Duration.of(hours=72)

#: Atlassian security requirements for cloud apps (requirement 3): TLS 1.2 or higher, HSTS max-age of at
#: least one year (developer.atlassian.com/platform/marketplace/security-requirements).
MIN_TLS = "1.2"
HSTS_MIN_MAX_AGE = Duration.of(days=365)

#: RFC 9116 section 2.5.5 recommends an Expires less than a year ahead; Charter warns 30 days before it.
SECURITY_TXT_WARN_BEFORE = Duration.of(days=30)
