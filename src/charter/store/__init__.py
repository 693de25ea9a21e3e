"""Charter's database: SQLAlchemy 2 models, Alembic migrations, and small repositories over them.

SQLite in the data directory is the embedded default; PostgreSQL is the scale-out store that many
stateless web replicas share. Both pass one conformance suite (``tests/store``).
"""

from charter.store._db import DATABASE_FILE, KEYS_FILE, Database, StoreError, prepare_data_dir, redact_url, sqlite_url
from charter.store._history import StatementVersion, list_statement_versions, record_statement
from charter.store._keyring import (
    KeyDestroyedError,
    Keyring,
    RotationTooRecentError,
    blob_version,
    export_key_rows,
    import_key_rows,
    key_store_is_empty,
)
from charter.store._models import (
    AccountRefRow,
    AccountReportRow,
    AuditHeadRow,
    AuditRow,
    ContactSuppressionRow,
    DsrRow,
    MarketplaceContactRow,
    PrivacySettingRow,
    PurgeRow,
    RecordRow,
    SecurityAlertRow,
    SecurityNotificationRow,
    SecurityReportRow,
    SupportAttachmentRow,
    SupportCaseRow,
    SupportMessageRow,
    TenantContactRow,
    TenantEventRow,
    TenantRow,
)
from charter.store._records import (
    ClosedAccountError,
    TenantStore,
    UndeclaredKindError,
    account_digest,
    check_account_id,
)

__all__ = [
    "DATABASE_FILE",
    "KEYS_FILE",
    "AccountRefRow",
    "AccountReportRow",
    "AuditHeadRow",
    "AuditRow",
    "ClosedAccountError",
    "ContactSuppressionRow",
    "Database",
    "DsrRow",
    "KeyDestroyedError",
    "Keyring",
    "MarketplaceContactRow",
    "PrivacySettingRow",
    "PurgeRow",
    "RecordRow",
    "RotationTooRecentError",
    "SecurityAlertRow",
    "SecurityNotificationRow",
    "SecurityReportRow",
    "StatementVersion",
    "StoreError",
    "SupportAttachmentRow",
    "SupportCaseRow",
    "SupportMessageRow",
    "TenantContactRow",
    "TenantEventRow",
    "TenantRow",
    "TenantStore",
    "UndeclaredKindError",
    "account_digest",
    "blob_version",
    "check_account_id",
    "export_key_rows",
    "import_key_rows",
    "key_store_is_empty",
    "list_statement_versions",
    "prepare_data_dir",
    "record_statement",
    "redact_url",
    "sqlite_url",
]
