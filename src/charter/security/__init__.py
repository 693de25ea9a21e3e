"""The security desk: vulnerability reports and dependency findings, their clocks (acknowledgement in business
days, fixes by severity, breach notification), and customer notification over SMTP.

Public API: :class:`SecurityDesk` (reports, states, clocks, affected tenants, notification, drafts,
advisories), :func:`import_mailbox` (mbox/Maildir intake), :func:`audit_dependencies` (pip-audit / OSV
findings), :class:`Mailer` (SMTP), and the clock rules (:class:`FixClock`, :func:`acknowledge_due`,
:func:`parse_cvss`, :func:`severity`).
"""

from charter.security._clocks import (
    BUG_BOUNTY_TRIAGE,
    CvssError,
    FixClock,
    Severity,
    acknowledge_due,
    parse_cvss,
    severity,
)
from charter.security._deps import (
    AuditError,
    DepsAudit,
    Finding,
    audit_dependencies,
    parse_report,
    read_report_file,
    run_pip_audit,
)
from charter.security._desk import (
    AUTHORITY_WINDOW,
    DEFAULT_ACK_BUSINESS_DAYS,
    STATES,
    Advisory,
    Affected,
    Alert,
    DeskClock,
    DeskError,
    NotifyResult,
    Report,
    ReportContent,
    SecurityDesk,
    check_specifier,
)
from charter.security._intake import ImportResult, MailboxError, import_mailbox
from charter.security._mail import Mailer, MailError, email_address

__all__ = [
    "AUTHORITY_WINDOW",
    "BUG_BOUNTY_TRIAGE",
    "DEFAULT_ACK_BUSINESS_DAYS",
    "STATES",
    "Advisory",
    "Affected",
    "Alert",
    "AuditError",
    "CvssError",
    "DepsAudit",
    "DeskClock",
    "DeskError",
    "Finding",
    "FixClock",
    "ImportResult",
    "MailError",
    "MailboxError",
    "Mailer",
    "NotifyResult",
    "Report",
    "ReportContent",
    "SecurityDesk",
    "Severity",
    "acknowledge_due",
    "audit_dependencies",
    "check_specifier",
    "email_address",
    "import_mailbox",
    "parse_cvss",
    "parse_report",
    "read_report_file",
    "run_pip_audit",
    "severity",
]
