"""Privacy operations: Atlassian personal-data reporting (closed accounts erased everywhere), data subject
requests (export, erasure, deadlines), tenant export, and Marketplace technical contacts."""

from charter.privacy._contacts import ContactError, ImportReport, MarketplaceContacts, SendReport
from charter.privacy._dsr import DsrDesk, DsrError, DsrRequest, dsr_due
from charter.privacy._erase import AccountEraser, Erasure
from charter.privacy._export import export_tenant
from charter.privacy._reporting import (
    BATCH_SIZE,
    DEFAULT_CYCLE,
    REPORT_ACCOUNTS_URL,
    AccountReporter,
    HeldAccount,
    ReportRun,
    cycle_period,
    held_accounts,
    reporting_settings,
)
from charter.store import account_digest

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_CYCLE",
    "REPORT_ACCOUNTS_URL",
    "AccountEraser",
    "AccountReporter",
    "ContactError",
    "DsrDesk",
    "DsrError",
    "DsrRequest",
    "Erasure",
    "HeldAccount",
    "ImportReport",
    "MarketplaceContacts",
    "ReportRun",
    "SendReport",
    "account_digest",
    "cycle_period",
    "dsr_due",
    "export_tenant",
    "held_accounts",
    "reporting_settings",
]
