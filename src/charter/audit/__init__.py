"""The audit log: append-only, hash-chained and authenticated; ``charter audit verify`` checks it."""

from charter.audit._log import AUDIT_KEY_OWNER, AuditEntry, AuditLog, AuditReport

__all__ = ["AUDIT_KEY_OWNER", "AuditEntry", "AuditLog", "AuditReport"]
