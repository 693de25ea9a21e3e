"""The support-case vault: cases per tenant (or customer), attachments redacted at intake and encrypted
under per-case keys, deleted at close or by the charter's rule, with receipts and audited staff access."""

from charter.support._vault import (
    CASE_HOLDER,
    MAX_ATTACHMENT,
    Attachment,
    AttachmentRefused,
    Case,
    CaseError,
    LegalHoldError,
    SupportReceipt,
    SupportVault,
)

__all__ = [
    "CASE_HOLDER",
    "MAX_ATTACHMENT",
    "Attachment",
    "AttachmentRefused",
    "Case",
    "CaseError",
    "LegalHoldError",
    "SupportReceipt",
    "SupportVault",
]
