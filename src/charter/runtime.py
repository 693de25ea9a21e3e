"""A running Charter: the databases, keys, registry, store, audit log and purger, opened together.

``charter serve`` and the maintenance commands (``charter purge``, ``charter keys``, ``charter audit``)
all open the same :class:`Runtime` from the charter and the data directory, so they see one state.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from charter.audit import AuditLog
from charter.backup import BackupService
from charter.clock import Clock
from charter.crypto import DecryptionError, EnvKeyProvider, KekRing, KeyProviderError, KmsKeyProvider, file_kek_ring
from charter.policy import Charter
from charter.privacy import DsrDesk, MarketplaceContacts
from charter.security import SecurityDesk
from charter.store import (
    KEYS_FILE,
    Database,
    Keyring,
    StoreError,
    TenantStore,
    key_store_is_empty,
    prepare_data_dir,
    sqlite_url,
)
from charter.support import SupportVault
from charter.tenants import Purger, Registry

__all__ = ["SERVE_LOCK", "Runtime", "SetupError", "kek_provider", "kek_ring", "open_runtime"]


#: Held (shared) by every ``charter serve`` on a data directory; see :meth:`Runtime.hold_serving_lock`.
SERVE_LOCK = ".serve.lock"


class SetupError(Exception):
    """Charter cannot be set up as configured; the message says why (never a key or password)."""


def kek_provider(charter: Charter) -> str:
    """``encryption.at_rest.key_provider``: ``file`` (the default), ``env`` or ``aws-kms``."""
    at_rest = charter.encryption.at_rest
    return (at_rest.key_provider if at_rest else None) or "file"


def kek_ring(charter: Charter, data_dir: Path, environ: Mapping[str, str], *, new: bool = True) -> KekRing:
    """The key-encryption keys named by ``encryption.at_rest.key_provider``.

    * ``file`` (default): ``<data dir>/keys/kek.key``, created when the key store is ``new`` (holds no data
      key yet), plus retired ``kek-*.key``.
    * ``env``: ``CHARTER_KEK`` (base64 of 32 bytes); previous KEKs in ``CHARTER_KEK_PREVIOUS``
      (comma-separated) while a rotation is under way.
    * ``aws-kms``: ``CHARTER_KMS_KEY_ID`` (id, ARN or alias); ``CHARTER_KMS_PREVIOUS_KEY_IDS`` during a
      rotation to another key; ``CHARTER_KMS_ENDPOINT_URL`` for a KMS-compatible endpoint; the region and
      credentials come from the usual AWS environment.

    Raises:
        SetupError: a variable is missing or a key cannot be used.
    """
    kind = kek_provider(charter)
    try:
        if kind == "file":
            current = data_dir / "keys" / "kek.key"
            if not new and not current.exists() and not (data_dir / "keys" / "kek-next.key").exists():
                raise SetupError(
                    f"the key-encryption key file {current} is missing, but the key store holds data keys it "
                    "wraps: restore it from your key backup (without it the data cannot be read)"
                )
            return file_kek_ring(data_dir / "keys", create=new)
        if kind == "env":
            if not environ.get("CHARTER_KEK"):
                raise SetupError("encryption.at_rest.key_provider is 'env' but CHARTER_KEK is not set")
            previous = [
                EnvKeyProvider(v, name="CHARTER_KEK_PREVIOUS")
                for v in environ.get("CHARTER_KEK_PREVIOUS", "").split(",")
                if v.strip()
            ]
            return KekRing(EnvKeyProvider(environ["CHARTER_KEK"]), previous)
        if not environ.get("CHARTER_KMS_KEY_ID"):
            raise SetupError("encryption.at_rest.key_provider is 'aws-kms' but CHARTER_KMS_KEY_ID is not set")
        import boto3

        client = boto3.client("kms", endpoint_url=environ.get("CHARTER_KMS_ENDPOINT_URL") or None)
        previous_ids = [v.strip() for v in environ.get("CHARTER_KMS_PREVIOUS_KEY_IDS", "").split(",") if v.strip()]
        return KekRing(
            KmsKeyProvider(environ["CHARTER_KMS_KEY_ID"], client=client),
            [KmsKeyProvider(key_id, client=client) for key_id in previous_ids],
        )
    except KeyProviderError as exc:
        raise SetupError(str(exc)) from None
    except OSError as exc:
        raise SetupError(f"key files in {data_dir / 'keys'}: {exc.strerror}") from None


@dataclass
class Runtime:
    """Everything that holds Charter's state, opened from one charter and one data directory."""

    # the fields are the controls over that state: tenants and records, keys, backups, the support vault,
    # the security desk, Marketplace contacts and data subject requests

    charter: Charter
    data_dir: Path
    clock: Clock
    database: Database
    key_database: Database
    keyring: Keyring
    audit: AuditLog
    registry: Registry
    store: TenantStore
    purger: Purger
    backups: BackupService
    support: SupportVault
    security: SecurityDesk
    contacts: MarketplaceContacts
    dsr: DsrDesk

    _serving: int | None = None

    def hold_serving_lock(self) -> None:
        """Mark this data directory as served (a shared lock on ``.serve.lock`` until :meth:`close`): a restore
        that would replace the live database refuses while any ``charter serve`` holds it."""
        if self._serving is None:
            fd = os.open(self.data_dir / SERVE_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._serving = fd

    def close(self) -> None:
        """Close both databases (and release the serving lock)."""
        self.database.close()
        self.key_database.close()
        if self._serving is not None:
            os.close(self._serving)
            self._serving = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.close()


def open_runtime(
    charter: Charter,
    *,
    data_dir: Path,
    clock: Clock,
    database_url: str | None = None,
    keys_database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Runtime:
    """Open (creating and migrating where needed) Charter's state for ``charter``.

    Args:
        charter: the validated charter.
        data_dir: the data directory (created with mode 0700).
        clock: the clock.
        database_url: PostgreSQL for the data, or ``None`` for ``charter.db`` in ``data_dir``.
        keys_database_url: the key store; default ``keys.db`` in ``data_dir``, or the data's PostgreSQL
            database (whose backups must then leave out the ``data_keys`` table).
        environ: where KEK settings are read (``os.environ`` by default).

    Raises:
        SetupError: the data directory, a database or the keys cannot be used. A data directory created
            by this call is removed again.
    """
    environ = os.environ if environ is None else environ
    existed = Path(data_dir).expanduser().exists()
    opened: list[Database] = []
    try:
        directory = prepare_data_dir(data_dir)
        database = Database(database_url or sqlite_url(directory))
        opened.append(database)
        database.upgrade()
        keys = Database(keys_database_url or database_url or sqlite_url(directory, KEYS_FILE), role="keys")
        opened.append(keys)
        keys.upgrade()
        keyring = Keyring(keys, kek_ring(charter, directory, environ, new=key_store_is_empty(keys)), clock=clock)
        audit = AuditLog(database, keyring, clock=clock)
        try:
            audit.prepare()  # the audit key exists from the start, so every key rotation covers it
        except KeyProviderError as exc:
            raise SetupError(f"the configured key-encryption key cannot open the key store: {exc}") from None
        except DecryptionError:
            raise SetupError(
                "the configured key-encryption key cannot open the key store (a different key with the same id?)"
            ) from None
    except (StoreError, SetupError) as exc:
        for db in opened:
            db.close()
        if not existed:
            import shutil

            shutil.rmtree(Path(data_dir).expanduser(), ignore_errors=True)
        raise SetupError(str(exc)) from None
    store = TenantStore(database, keyring, kinds=[item.name for item in charter.inventory.items], clock=clock)
    support = SupportVault(charter, database, keyring, audit, clock=clock, root=directory / "support")
    contacts = MarketplaceContacts(charter, database, keyring, audit, clock=clock)
    return Runtime(
        charter=charter,
        data_dir=directory,
        clock=clock,
        database=database,
        key_database=keys,
        keyring=keyring,
        audit=audit,
        registry=Registry(database, keyring, clock=clock, audit=audit),
        store=store,
        purger=Purger(database, keyring, audit, clock=clock, retention=charter.retention.tenant_data_after_uninstall),
        backups=BackupService(charter, database, keyring, audit, clock=clock, data_dir=directory, environ=environ),
        support=support,
        security=SecurityDesk(charter, database, keyring, audit, clock=clock),
        contacts=contacts,
        dsr=DsrDesk(charter, database, keyring, audit, clock=clock, store=store, support=support, contacts=contacts),
    )
