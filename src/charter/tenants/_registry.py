"""The tenant registry: who is installed, in which state, and how to reach them.

It stores only what the charter's inventory declares for tenants: the ids (installationId, clientKey,
cloudId/workspaceId), the product, the site's base URL and, for Connect, the shared secret. The base URL
and the shared secret are sealed under the tenant's own data key; no secret is ever stored in plaintext
(a test reads the raw database bytes).

Every method is synchronous (SQLAlchemy); the web layer calls them from a thread pool.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.atlassian import ConnectLifecycle, ForgeInvocation
from charter.audit import AuditLog
from charter.clock import Clock
from charter.store import Database, Keyring, TenantEventRow, TenantRow, blob_version
from charter.tenants._lifecycle import Event, EventKind, Lifecycle, State, replay

__all__ = ["Registry", "Tenant"]

#: Lifecycle events that enter the audit log even when they change no state.
_ALWAYS_AUDITED = frozenset({EventKind.INSTALLED, EventKind.UNINSTALLED, EventKind.PRE_UNINSTALL})
#: Events that Charter itself observed (probes, licences), rather than Atlassian announced.
_CHARTER_EVENTS = frozenset({EventKind.PROBE_FAILED, EventKind.PROBE_OK, EventKind.INVOKED, EventKind.LICENSE_INACTIVE})
_SECRET = "connect-shared-secret"  # noqa: S105 - the purpose label of the sealed value, not a secret
_BASE_URL = "base-url"


@dataclass(frozen=True)
class Tenant:
    """A registered tenant (no secrets: those are read with :meth:`Registry.connect_secret`).

    Attributes:
        id: Charter's own tenant id (stable across Connect-to-Forge migration and Forge reinstalls).
        platform: ``forge`` or ``connect``.
        app_key: the Marketplace key of the app installed.
        installation_id: Forge ``app.installationId`` (changes on reinstall).
        client_key: Connect ``clientKey``.
        cloud_id, workspace_id: the site.
        state: the lifecycle state.
        state_since: when it entered that state (event time, aware UTC).
        clock_started_at: when access ended (the retention clock), or ``None``.
        app_version: the app version last seen (Forge ``app.appVersion``); ``None`` when the platform does not
            say (Connect serves every tenant the vendor's current version).
    """

    id: str
    platform: str
    app_key: str
    installation_id: str | None
    client_key: str | None
    cloud_id: str | None
    workspace_id: str | None
    product: str | None
    state: State
    state_since: datetime
    clock_started_at: datetime | None
    app_version: str | None = None

    @property
    def present(self) -> bool:
        """Whether requests from this tenant are served: installed or active (not disabled, not gone)."""
        return self.state in (State.INSTALLED, State.ACTIVE)


def _tenant(row: TenantRow) -> Tenant:
    return Tenant(
        id=row.id,
        platform=row.platform,
        app_key=row.app_key,
        installation_id=row.installation_id,
        client_key=row.client_key,
        cloud_id=row.cloud_id,
        workspace_id=row.workspace_id,
        product=row.product,
        state=State(row.state),
        state_since=row.state_since,
        clock_started_at=row.clock_started_at,
        app_version=row.app_version,
    )


@dataclass(frozen=True)
class _SecretEntry:
    tenant: Tenant
    secret: bytes
    base_url: str | None
    loaded_at: float


class Registry:
    """Tenants, their lifecycle, and their encrypted connection data.

    Args:
        db: the migrated database.
        keyring: seals the base URL and shared secret under each tenant's data key.
        clock: the clock (event reception times, cache ages).
        probe_threshold: consecutive failed access probes that end access (default 3, i.e. three days).
        cache_ttl: seconds a tenant's Connect secret stays cached in this process; writes in this process
            evict it at once.
        new_id: makes tenant ids (random UUIDs by default).
        audit: lifecycle changes are appended here (in the same transaction).
    """

    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        *,
        clock: Clock,
        probe_threshold: int = 3,
        cache_ttl: float = 5.0,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        audit: AuditLog | None = None,
    ) -> None:
        self._db = db
        self._audit = audit
        self._keyring = keyring
        self._clock = clock
        self._threshold = probe_threshold
        self._ttl = cache_ttl
        self._new_id = new_id
        self._secrets: dict[tuple[str, str], _SecretEntry] = {}
        self._forge: dict[str, tuple[Tenant, float]] = {}
        self._lock = threading.Lock()

    # -- reading --------------------------------------------------------------------------------

    def get(self, tenant_id: str) -> Tenant | None:
        """The tenant with Charter id ``tenant_id``."""
        with self._db.session() as session:
            row = session.get(TenantRow, tenant_id)
            return None if row is None else _tenant(row)

    def by_installation(self, installation_id: str) -> Tenant | None:
        """The Forge tenant with ``installation_id``."""
        with self._db.session() as session:
            row = session.scalar(select(TenantRow).where(TenantRow.installation_id == installation_id))
            return None if row is None else _tenant(row)

    def by_client_key(self, app_key: str, client_key: str) -> Tenant | None:
        """The Connect tenant of ``app_key`` with ``client_key``."""
        with self._db.session() as session:
            row = session.scalar(
                select(TenantRow).where(TenantRow.app_key == app_key, TenantRow.client_key == client_key)
            )
            return None if row is None else _tenant(row)

    def all(self) -> list[Tenant]:
        """Every tenant, oldest first."""
        with self._db.session() as session:
            return [_tenant(r) for r in session.scalars(select(TenantRow).order_by(TenantRow.created_at))]

    def events(self, tenant_id: str) -> list[Event]:
        """The lifecycle events recorded for a tenant, in event-time order."""
        with self._db.session() as session:
            rows = session.scalars(select(TenantEventRow).where(TenantEventRow.tenant_id == tenant_id))
            return sorted((Event(EventKind(r.kind), r.at) for r in rows), key=Event.sort_key)

    def cached_connect_secret(self, app_key: str, client_key: str) -> tuple[Tenant, bytes] | None:
        """Like :meth:`connect_secret` but from the in-process cache only (no I/O); ``None`` on a miss."""
        with self._lock:
            entry = self._secrets.get((app_key, client_key))
        if entry is None or self._clock.monotonic() - entry.loaded_at >= self._ttl:
            return None
        return entry.tenant, entry.secret

    def cached_connect_base_url(self, app_key: str, client_key: str) -> str | None:
        """The base URL of a Connect tenant from the cache filled by the request's verification."""
        with self._lock:
            entry = self._secrets.get((app_key, client_key))
        return None if entry is None else entry.base_url

    def cached_forge_tenant(self, invocation: ForgeInvocation) -> Tenant | None:
        """The tenant of a verified invocation from the in-process cache, when nothing needs recording.

        Returns ``None`` (go to :meth:`forge_seen`) for an unknown or uncached installation, a tenant that
        is not active, or an invocation whose licence is inactive.
        """
        if invocation.license_active is False:
            return None
        with self._lock:
            entry = self._forge.get(invocation.installation_id)
        if entry is None or self._clock.monotonic() - entry[1] >= self._ttl or entry[0].state is not State.ACTIVE:
            return None
        if invocation.app_version is not None and invocation.app_version[:64] != entry[0].app_version:
            return None  # an upgrade: record the version the tenant now runs
        return entry[0]

    def connect_secret(self, app_key: str, client_key: str) -> tuple[Tenant, bytes] | None:
        """The tenant and its shared secret, for verifying a request; ``None`` for unknown or gone tenants.

        Served from a short in-process cache: this is the hot path of every Connect request.
        """
        entry = self._connect_entry(app_key, client_key)
        return None if entry is None else (entry.tenant, entry.secret)

    def connect_base_url(self, app_key: str, client_key: str) -> str | None:
        """The product base URL of a Connect tenant (for outbound calls)."""
        entry = self._connect_entry(app_key, client_key)
        return None if entry is None else entry.base_url

    def _connect_entry(self, app_key: str, client_key: str) -> _SecretEntry | None:
        key = (app_key, client_key)
        now = self._clock.monotonic()
        with self._lock:
            entry = self._secrets.get(key)
        if entry is not None and now - entry.loaded_at < self._ttl:
            return entry
        with self._db.session() as session:
            row = session.scalar(
                select(TenantRow).where(TenantRow.app_key == app_key, TenantRow.client_key == client_key)
            )
            if row is None or row.shared_secret is None:
                return None
            tenant = _tenant(row)
            if tenant.state not in (State.INSTALLED, State.ACTIVE, State.DISABLED):
                return None
            secret = self._keyring.open(row.id, _SECRET, row.shared_secret)
            base_url = self._keyring.open(row.id, _BASE_URL, row.base_url).decode() if row.base_url else None
        entry = _SecretEntry(tenant, secret, base_url, now)
        with self._lock:
            self._secrets[key] = entry
        return entry

    def _evict(self, app_key: str, client_key: str | None) -> None:
        if client_key is not None:
            with self._lock:
                self._secrets.pop((app_key, client_key), None)

    # -- writing --------------------------------------------------------------------------------

    def _record(self, session: Session, row: TenantRow, event: Event) -> Lifecycle:
        """Add ``event`` (ignoring an exact duplicate), replay the lifecycle, store the result, and audit
        a new event that changed the state (or is an install or uninstall)."""
        exists = session.scalar(
            select(TenantEventRow.id).where(
                TenantEventRow.tenant_id == row.id,
                TenantEventRow.kind == event.kind.value,
                TenantEventRow.at == event.at,
            )
        )
        is_new = exists is None
        if is_new:
            try:
                with session.begin_nested():  # a concurrent delivery of the same event may win the race
                    session.add(
                        TenantEventRow(
                            tenant_id=row.id, kind=event.kind.value, at=event.at, received_at=self._clock.now()
                        )
                    )
            except IntegrityError:
                is_new = False  # recorded by the other delivery: the event set is the same either way
        events = [
            Event(EventKind(r.kind), r.at)
            for r in session.scalars(select(TenantEventRow).where(TenantEventRow.tenant_id == row.id))
        ]
        life = replay(events, forge=row.platform == "forge", probe_threshold=self._threshold)
        before = (row.state, row.clock_started_at)
        if life.state is not None and life.since is not None:
            row.state = life.state.value
            row.state_since = life.since
            row.clock_started_at = life.clock_started_at
        row.updated_at = self._clock.now()
        changed = before != (row.state, row.clock_started_at)
        if self._audit is not None and is_new and (changed or event.kind in _ALWAYS_AUDITED):
            self._audit.record(
                f"tenant.{event.kind.value}",
                actor="charter" if event.kind in _CHARTER_EVENTS else "atlassian",
                tenant_id=row.id,
                payload={
                    "platform": row.platform,
                    "app_key": row.app_key,
                    "event_at": event.at.isoformat(),
                    "state": row.state,
                    "clock_started_at": row.clock_started_at.isoformat() if row.clock_started_at else None,
                },
                session=session,
            )
        return life

    def _new_row(self, *, platform: str, app_key: str, at: datetime) -> TenantRow:
        now = self._clock.now()
        return TenantRow(
            id=self._new_id(),
            platform=platform,
            app_key=app_key,
            secret_version=0,
            state=State.INSTALLED.value,
            state_since=at,
            created_at=now,
            updated_at=now,
        )

    def connect_installed(self, app_key: str, payload: ConnectLifecycle, *, at: datetime) -> Tenant:
        """Apply a *verified* Connect ``installed`` callback: create or update the tenant, replace its secret.

        A re-install with a new shared secret replaces the old one at once (the cache is evicted too).
        """
        if payload.shared_secret is None:
            raise ValueError("an installed payload carries a shared secret")
        for _attempt in range(3):
            existing = self.by_client_key(app_key, payload.client_key)
            tenant_id = existing.id if existing is not None else self._new_id()
            # Seal before opening the write transaction: the keyring may create the tenant's data key in a
            # transaction of its own, and SQLite allows one writer at a time.
            secret = self._keyring.seal(tenant_id, _SECRET, payload.shared_secret.encode())
            base_url = self._keyring.seal(tenant_id, _BASE_URL, payload.base_url.encode())
            try:
                with self._db.session() as session:
                    row = session.get(TenantRow, tenant_id) if existing is not None else None
                    if row is None:
                        row = self._new_row(platform="connect", app_key=app_key, at=at)
                        row.id = tenant_id
                        row.client_key = payload.client_key
                        session.add(row)
                        session.flush()
                    row.product = payload.product_type
                    row.shared_secret = secret
                    row.base_url = base_url
                    row.secret_version += 1
                    self._record(session, row, Event(EventKind.INSTALLED, at))
                    tenant = _tenant(row)
            except IntegrityError:
                continue  # a concurrent first install created the row: seal again under its id
            self._evict(app_key, payload.client_key)
            return tenant
        raise RuntimeError("tenant registration kept conflicting")  # pragma: no cover

    def connect_event(self, app_key: str, client_key: str, kind: EventKind, *, at: datetime) -> Tenant | None:
        """Apply a verified ``enabled``, ``disabled`` or ``uninstalled`` callback; ``None`` for an unknown tenant."""
        with self._db.session() as session:
            row = session.scalar(
                select(TenantRow).where(TenantRow.app_key == app_key, TenantRow.client_key == client_key)
            )
            if row is None:
                return None
            self._record(session, row, Event(kind, at))
            tenant = _tenant(row)
        self._evict(app_key, client_key)
        return tenant

    def forge_seen(self, app_key: str, invocation: ForgeInvocation, *, installed: bool = False) -> Tenant:
        """Apply a verified Forge invocation (an installed/upgraded event when ``installed`` is true).

        A verified FIT proves the installation, so an unknown installationId is registered. A new
        installationId on a site whose earlier installation of the same app lost access and is not yet
        purged is a reinstall: the existing tenant is re-linked to it and its retention clock cancelled.
        An inactive licence ends access; any other verified invocation after access was lost restores it.
        """
        at = invocation.issued_at
        for _attempt in range(2):
            try:
                with self._db.session() as session:
                    row = session.scalar(
                        select(TenantRow).where(TenantRow.installation_id == invocation.installation_id)
                    )
                    if row is None and invocation.cloud_id is not None:
                        row = session.scalar(
                            select(TenantRow).where(
                                TenantRow.app_key == app_key,
                                TenantRow.cloud_id == invocation.cloud_id,
                                TenantRow.platform == "forge",
                                TenantRow.state.in_([State.ACCESS_LOST.value, State.UNINSTALLED.value]),
                            )
                        )
                        if row is not None:
                            row.installation_id = invocation.installation_id
                            installed = True
                    if row is None:
                        row = self._new_row(platform="forge", app_key=app_key, at=at)
                        row.installation_id = invocation.installation_id
                        session.add(row)
                        session.flush()
                        installed = True
                    row.cloud_id = invocation.cloud_id or row.cloud_id
                    row.workspace_id = invocation.workspace_id or row.workspace_id
                    if invocation.app_version is not None and invocation.app_version[:64] != row.app_version:
                        row.app_version = invocation.app_version[:64]
                    if installed:
                        self._record(session, row, Event(EventKind.INSTALLED, at))
                    elif invocation.license_active is False:
                        if row.state != State.ACCESS_LOST.value:
                            self._record(session, row, Event(EventKind.LICENSE_INACTIVE, at))
                    elif row.state == State.ACCESS_LOST.value:
                        self._record(session, row, Event(EventKind.INVOKED, at))
                    tenant = _tenant(row)
                with self._lock:
                    self._forge[invocation.installation_id] = (tenant, self._clock.monotonic())
                return tenant
            except IntegrityError:
                continue  # a concurrent first invocation registered it
        raise RuntimeError("tenant registration kept conflicting")  # pragma: no cover

    def reencrypt(self, tenant_id: str) -> int:
        """Re-seal the tenant's shared secret and base URL if an older data-key version sealed them."""
        newest = self._keyring.current_version(tenant_id)
        if newest is None:
            return 0
        done = 0
        with self._db.session() as session:
            row = session.get(TenantRow, tenant_id)
            if row is None:
                return 0
            for field, purpose in (("shared_secret", _SECRET), ("base_url", _BASE_URL)):
                sealed = getattr(row, field)
                if sealed is not None and blob_version(sealed) < newest:
                    setattr(
                        row,
                        field,
                        self._keyring.seal(tenant_id, purpose, self._keyring.open(tenant_id, purpose, sealed)),
                    )
                    done += 1
        self._evict(row.app_key, row.client_key)
        return done

    def _forge_row(self, session: Session, installation_id: str) -> TenantRow | None:
        """The Forge tenant's row, for a change: its cached copy is dropped first."""
        with self._lock:
            self._forge.pop(installation_id, None)
        return session.scalar(select(TenantRow).where(TenantRow.installation_id == installation_id))

    def forge_event(self, installation_id: str, kind: EventKind, *, at: datetime) -> Tenant | None:
        """Apply an event (``pre-uninstall``, ``upgraded``, ...) to a Forge tenant; ``None`` if unknown."""
        with self._db.session() as session:
            row = self._forge_row(session, installation_id)
            if row is None:
                return None
            self._record(session, row, Event(kind, at))
            return _tenant(row)

    def forge_probe(self, installation_id: str, *, ok: bool, at: datetime) -> Tenant | None:
        """Record the result of an access probe of the product API.

        Every failure is recorded (``probe_threshold`` consecutive failures end access); a success only
        when it changes something (after failures, or to restore access), so that daily probes of a
        healthy tenant add nothing to its history.
        """
        with self._db.session() as session:
            row = self._forge_row(session, installation_id)
            if row is None:
                return None
            if not ok:
                self._record(session, row, Event(EventKind.PROBE_FAILED, at))
                return _tenant(row)
            last = session.scalar(
                select(TenantEventRow.kind)
                .where(TenantEventRow.tenant_id == row.id)
                .order_by(TenantEventRow.at.desc(), TenantEventRow.id.desc())
                .limit(1)
            )
            if last == EventKind.PROBE_FAILED.value or row.state == State.ACCESS_LOST.value:
                self._record(session, row, Event(EventKind.PROBE_OK, at))
            return _tenant(row)
