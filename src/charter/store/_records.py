"""The tenant data store: the API vendors build on.

Values are JSON, sealed under the tenant's data key with associated data naming the record's kind and
key, so a row copied to another tenant or key does not decrypt. Every kind must be an item of the
charter's data inventory (``[[inventory.items]] name``): writing an undeclared kind fails, so the
statement's "what we store" list is true by construction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, tuple_, update

from charter.clock import Clock
from charter.store._db import Database
from charter.store._keyring import KeyDestroyedError, Keyring, blob_version
from charter.store._models import AccountRefRow, AccountReportRow, RecordRow

__all__ = ["ClosedAccountError", "TenantStore", "UndeclaredKindError", "account_digest", "check_account_id"]

_MAX_KEY = 255
#: Atlassian account ids: 1-128 characters, letters, digits, '-' and ':' (user privacy developer guide).
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9:-]{1,128}")


def check_account_id(account_id: str) -> str:
    """An Atlassian account id as the personal-data reporting API accepts it.

    Raises:
        ValueError: not 1-128 letters, digits, '-' or ':', or ``unknown`` (never stored or reported, per
            Atlassian's user privacy developer guide).
    """
    if not isinstance(account_id, str) or not _ACCOUNT_ID.fullmatch(account_id) or account_id == "unknown":
        raise ValueError(f"{str(account_id)[:40]!r} is not an Atlassian account id (1-128 of A-Z a-z 0-9 - :)")
    return account_id


def account_digest(keyring: Keyring, account_id: str) -> str:
    """A keyed digest of an account id (HMAC-SHA256 under a key derived from the key store, 32 hex digits):
    reporting state, audit entries and receipts name accounts by it, so no id outlives its erasure in clear."""
    key = keyring.derive("charter:privacy", b"account-digest")
    return hmac.new(key, account_id.encode(), hashlib.sha256).hexdigest()[:32]


class ClosedAccountError(ValueError):
    """Atlassian reported the account closed: no personal data of it may be stored again."""


class UndeclaredKindError(ValueError):
    """A record kind that the charter's data inventory does not declare."""


class TenantStore:
    """Encrypted, tenant-scoped records.

    Args:
        db: the migrated database.
        keyring: the per-tenant data keys.
        kinds: the declared record kinds (the inventory's item names).
        clock: timestamps (aware UTC).
    """

    def __init__(self, db: Database, keyring: Keyring, *, kinds: Collection[str], clock: Clock) -> None:
        self._db = db
        self._keyring = keyring
        self._kinds = frozenset(kinds)
        self._clock = clock

    @property
    def kinds(self) -> frozenset[str]:
        """The declared record kinds."""
        return self._kinds

    def check_kind(self, kind: str) -> None:
        """Raise :class:`UndeclaredKindError` unless ``kind`` is declared in the charter's inventory."""
        if kind not in self._kinds:
            raise UndeclaredKindError(
                f"record kind {kind!r} is not declared in the charter's [[inventory.items]]; declare it first"
            )

    def _check(self, kind: str, key: str) -> None:
        self.check_kind(kind)
        if not key or len(key) > _MAX_KEY:
            raise ValueError(f"record keys are 1 to {_MAX_KEY} characters")

    @staticmethod
    def _purpose(kind: str, key: str) -> str:
        return f"record:{kind}:{key}"

    def put(
        self,
        tenant_id: str,
        kind: str,
        key: str,
        value: Any,
        *,
        accounts: Mapping[str, datetime] | None = None,
    ) -> None:
        """Store ``value`` (anything JSON can hold) under ``(kind, key)`` for the tenant, replacing any.

        Args:
            accounts: the Atlassian accounts whose personal data the value holds, each with when that data
                was retrieved from Atlassian (aware). Charter reports them to the personal-data reporting
                API and erases the record when Atlassian says an account is closed. Replaces the record's
                previous accounts (none when ``None``).

        Raises:
            UndeclaredKindError: ``kind`` is not in the inventory.
            ValueError: an empty or over-long key, a value JSON cannot hold, or a malformed account id.
            ClosedAccountError: an account Atlassian reported closed.
            KeyDestroyedError: the tenant was purged.
        """
        self._check(kind, key)
        refs = {check_account_id(a): at for a, at in (accounts or {}).items()}
        if any(at.tzinfo is None for at in refs.values()):
            raise ValueError("account retrieval times need a time zone (aware datetimes)")
        sealed = self._keyring.seal(
            tenant_id, self._purpose(kind, key), json.dumps(value, separators=(",", ":")).encode()
        )
        now = self._clock.now()
        with self._db.session() as session:
            if refs:
                digests = [account_digest(self._keyring, a) for a in refs]
                closed = session.scalars(
                    select(AccountReportRow.account_id).where(
                        AccountReportRow.account_id.in_(digests), AccountReportRow.status == "closed"
                    )
                ).first()
                if closed is not None:
                    raise ClosedAccountError("Atlassian reported an account of this record closed: it is not stored")
            row = session.get(RecordRow, (tenant_id, kind, key))
            if row is None:
                session.add(
                    RecordRow(tenant_id=tenant_id, kind=kind, key=key, value=sealed, created_at=now, updated_at=now)
                )
            else:
                row.value = sealed
                row.updated_at = now
            session.execute(
                delete(AccountRefRow).where(
                    AccountRefRow.tenant_id == tenant_id, AccountRefRow.holder == kind, AccountRefRow.key == key
                )
            )
            session.add_all(
                AccountRefRow(tenant_id=tenant_id, holder=kind, key=key, account_id=a, retrieved_at=at)
                for a, at in refs.items()
            )

    def get(self, tenant_id: str, kind: str, key: str) -> Any | None:
        """The value under ``(kind, key)``, or ``None``."""
        self._check(kind, key)
        with self._db.session() as session:
            row = session.get(RecordRow, (tenant_id, kind, key))
            sealed = None if row is None else row.value
        if sealed is None:
            return None
        plaintext = self._keyring.open(tenant_id, self._purpose(kind, key), sealed)
        newest = self._keyring.current_version(tenant_id)
        if newest is not None and blob_version(sealed) < newest:
            self._reseal(tenant_id, kind, key, sealed, plaintext)  # lazy re-encryption after a key rotation
        return json.loads(plaintext)

    def readable(self, tenant_id: str) -> bool | None:
        """Whether the tenant's values open with the live keys, read-only (a restored snapshot is checked so).

        Returns:
            ``True`` when a sample value opens, ``False`` when the tenant's keys were destroyed (purged),
            ``None`` when the tenant has no value here.

        Raises:
            DecryptionError: a value is damaged or belongs elsewhere (not a purge).
        """
        with self._db.session() as session:
            row = session.execute(
                select(RecordRow.kind, RecordRow.key, RecordRow.value)
                .where(RecordRow.tenant_id == tenant_id)
                .order_by(RecordRow.kind, RecordRow.key)
                .limit(1)
            ).first()
        if row is None:
            return None
        sample = (row[0], row[1], row[2])
        try:
            self._keyring.open(tenant_id, self._purpose(sample[0], sample[1]), sample[2])
        except KeyDestroyedError:
            return False
        return True

    def readable_many(self, tenant_ids: Collection[str]) -> dict[str, bool | None]:
        """:meth:`readable` for many tenants over one connection (a restore checks thousands); preload their
        keys first (:meth:`Keyring.preload`) to avoid one key-store query each."""
        sample = (
            select(RecordRow.kind, RecordRow.key, RecordRow.value)
            .where(RecordRow.tenant_id == bindparam("tenant"))
            .order_by(RecordRow.kind, RecordRow.key)
            .limit(1)
        )
        rows: dict[str, tuple[str, str, bytes] | None] = {}
        with self._db.engine.connect() as connection:
            for tenant_id in tenant_ids:
                row = connection.execute(sample, {"tenant": tenant_id}).first()
                rows[tenant_id] = None if row is None else (row[0], row[1], row[2])
        result: dict[str, bool | None] = {}
        for tenant_id, found in rows.items():
            if found is None:
                result[tenant_id] = None
                continue
            try:
                self._keyring.open(tenant_id, self._purpose(found[0], found[1]), found[2])
                result[tenant_id] = True
            except KeyDestroyedError:
                result[tenant_id] = False
        return result

    def _reseal(self, tenant_id: str, kind: str, key: str, old: bytes, plaintext: bytes) -> bool:
        resealed = self._keyring.seal(tenant_id, self._purpose(kind, key), plaintext)
        with self._db.session() as session:
            result = session.execute(
                update(RecordRow)
                .where(
                    RecordRow.tenant_id == tenant_id,
                    RecordRow.kind == kind,
                    RecordRow.key == key,
                    RecordRow.value == old,
                )
                .values(value=resealed)
            )
            return bool(getattr(result, "rowcount", 0))  # 0: changed meanwhile, nothing to do

    def reencrypt(self, tenant_id: str, *, batch: int = 500) -> int:
        """Re-seal every record of the tenant still under an older data-key version. Returns how many."""
        newest = self._keyring.current_version(tenant_id)
        if newest is None:
            return 0
        done = 0
        last: tuple[str, str] = ("", "")
        while True:
            with self._db.session() as session:
                rows = session.execute(
                    select(RecordRow.kind, RecordRow.key, RecordRow.value)
                    .where(RecordRow.tenant_id == tenant_id, tuple_(RecordRow.kind, RecordRow.key) > last)
                    .order_by(RecordRow.kind, RecordRow.key)
                    .limit(batch)
                ).all()
            if not rows:
                return done
            for kind, key, value in rows:
                if blob_version(value) < newest:
                    plaintext = self._keyring.open(tenant_id, self._purpose(kind, key), value)
                    done += self._reseal(tenant_id, kind, key, value, plaintext)
            last = (rows[-1][0], rows[-1][1])

    def export(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every record of the tenant, decrypted, for data portability (GDPR Art. 20): ``{"kind", "key",
        "value", "created_at", "updated_at", "accounts"}`` in kind and key order (times ISO 8601 UTC). Kinds no
        longer in the inventory are included too: portability covers everything held."""
        with self._db.session() as session:
            rows = session.execute(
                select(RecordRow.kind, RecordRow.key, RecordRow.value, RecordRow.created_at, RecordRow.updated_at)
                .where(RecordRow.tenant_id == tenant_id)
                .order_by(RecordRow.kind, RecordRow.key)
            ).all()
            refs: dict[tuple[str, str], list[str]] = {}
            for holder, key, account in session.execute(
                select(AccountRefRow.holder, AccountRefRow.key, AccountRefRow.account_id).where(
                    AccountRefRow.tenant_id == tenant_id
                )
            ):
                refs.setdefault((holder, key), []).append(account)
        return [
            {
                "kind": kind,
                "key": key,
                "value": json.loads(self._keyring.open(tenant_id, self._purpose(kind, key), value)),
                "created_at": created.isoformat(),
                "updated_at": updated.isoformat(),
                "accounts": sorted(refs.get((kind, key), [])),
            }
            for kind, key, value, created, updated in rows
        ]

    def count(self, tenant_id: str) -> dict[str, int]:
        """Records of the tenant per kind."""
        with self._db.session() as session:
            rows = session.execute(
                select(RecordRow.kind, func.count()).where(RecordRow.tenant_id == tenant_id).group_by(RecordRow.kind)
            ).all()
        return {kind: int(n) for kind, n in rows}

    def delete(self, tenant_id: str, kind: str, key: str) -> bool:
        """Delete one record; whether it existed."""
        self._check(kind, key)
        with self._db.session() as session:
            result = session.execute(
                delete(RecordRow).where(RecordRow.tenant_id == tenant_id, RecordRow.kind == kind, RecordRow.key == key)
            )
            session.execute(
                delete(AccountRefRow).where(
                    AccountRefRow.tenant_id == tenant_id, AccountRefRow.holder == kind, AccountRefRow.key == key
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def list(self, tenant_id: str, kind: str, *, prefix: str = "", limit: int = 1000) -> list[tuple[str, Any]]:
        """``(key, value)`` pairs of a kind whose key starts with ``prefix``, in key order."""
        self.check_kind(kind)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._db.session() as session:
            query = select(RecordRow.key, RecordRow.value).where(
                RecordRow.tenant_id == tenant_id, RecordRow.kind == kind
            )
            if prefix:
                escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = query.where(RecordRow.key.like(escaped + "%", escape="\\"))
            rows = session.execute(query.order_by(RecordRow.key).limit(limit)).all()
        return [
            (key, json.loads(self._keyring.open(tenant_id, self._purpose(kind, key), value))) for key, value in rows
        ]
