"""The tenant lifecycle state machine.

A tenant's state is a pure function of the *set* of lifecycle events seen for it, replayed in event-time
order. Deliveries can repeat, arrive late or out of order (retries, duplicate triggers, a ``disabled``
that overtakes an ``uninstalled``); because the state is recomputed from the ordered set, the result does
not depend on the order of delivery, and a repeated event changes nothing.

::

                 installed            enabled
      (none) ───────────────> INSTALLED ───────> ACTIVE <──────┐
                                  │ ▲  disabled │  ▲ enabled    │ verified invocation,
                                  │ │ <─────────┘  │           │ successful probe,
                                  │ └──> DISABLED ─┘           │ upgrade, reinstall
                                  │                            │
             uninstalled (Connect)│  preUninstall, inactive    │
                                  │  licence, failed probes    │
                                  ▼  (Forge)                   │
                            UNINSTALLED / ACCESS_LOST ─────────┘
                                  │  (the retention clock starts at the first such event)
                                  ▼ purge (deletion, charter.tenants purge)
                                PURGED

Rules (each has a test):

* ``installed`` (re)starts the tenant: state INSTALLED (ACTIVE on Forge, which has no ``enabled``),
  retention clock cleared. A reinstall before the purge thus cancels the deletion.
* ``enabled``/``disabled`` move between INSTALLED, ACTIVE and DISABLED only; after ``uninstalled`` they
  are ignored, whatever their time: a late ``disabled`` never overrides ``uninstalled``.
* ``uninstalled``, ``preUninstall``, an inactive licence, or ``probe_threshold`` consecutive failed access
  probes end access; the clock starts at the *first* of them, so a repeated uninstall does not move it.
* A verified invocation with a licence that is not inactive, a successful probe or an upgrade after access
  was lost to an inactive licence or failed probes brings the tenant back (Forge keeps an app for 60 days
  after its subscription ends). After ``preUninstall`` or ``uninstalled`` only a new ``installed`` does: a
  scheduled trigger that fires during the uninstall pause cancels nothing.
* PURGED is final.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["Event", "EventKind", "Lifecycle", "State", "replay"]


class State(StrEnum):
    INSTALLED = "installed"
    ACTIVE = "active"
    DISABLED = "disabled"
    ACCESS_LOST = "access-lost"
    UNINSTALLED = "uninstalled"
    PURGED = "purged"


class EventKind(StrEnum):
    INSTALLED = "installed"
    UPGRADED = "upgraded"
    ENABLED = "enabled"
    INVOKED = "invoked"
    PROBE_OK = "probe-ok"
    DISABLED = "disabled"
    LICENSE_INACTIVE = "license-inactive"
    PROBE_FAILED = "probe-failed"
    PRE_UNINSTALL = "pre-uninstall"
    UNINSTALLED = "uninstalled"
    PURGED = "purged"


# Events at the same instant apply in this order: a site that is installed and enabled in the same
# second ends ACTIVE; one that is disabled and uninstalled in the same second ends UNINSTALLED.
_PRIORITY = {kind: rank for rank, kind in enumerate(EventKind)}
_PRESENT = frozenset({State.INSTALLED, State.ACTIVE, State.DISABLED})


@dataclass(frozen=True)
class Event:
    """A lifecycle event at ``at`` (aware UTC: the verified token's ``iat``, or the probe's time)."""

    kind: EventKind
    at: datetime

    def sort_key(self) -> tuple[datetime, int]:
        return (self.at, _PRIORITY[self.kind])


@dataclass(frozen=True)
class Lifecycle:
    """A tenant's state after replaying its events.

    Attributes:
        state: the current state, or ``None`` before any event that creates the tenant.
        since: when the current state began (event time).
        clock_started_at: when access ended (first ``uninstalled``/access-lost event since the last
            (re)install); the purge is due at this instant plus the charter's retention. ``None`` while
            the tenant is present.
        failed_probes: consecutive failed access probes.
        uninstalled: access ended by an uninstall (``preUninstall`` or ``uninstalled``), which only a new
            install undoes.
    """

    state: State | None = None
    since: datetime | None = None
    clock_started_at: datetime | None = None
    failed_probes: int = 0
    uninstalled: bool = False


def _step(life: Lifecycle, event: Event, *, forge: bool, probe_threshold: int) -> Lifecycle:
    state, at, kind = life.state, event.at, event.kind
    if state is State.PURGED:
        return life
    if kind is EventKind.PURGED:
        return Lifecycle(State.PURGED, at, life.clock_started_at, life.failed_probes, life.uninstalled)
    if kind is EventKind.INSTALLED:
        return Lifecycle(State.ACTIVE if forge else State.INSTALLED, at, None, 0)
    if state is None:
        return life  # nothing but an install creates a tenant
    if kind in (EventKind.UPGRADED, EventKind.INVOKED, EventKind.PROBE_OK):
        if (state is State.ACCESS_LOST and not life.uninstalled) or (
            kind is EventKind.UPGRADED and state is State.INSTALLED
        ):
            return Lifecycle(State.ACTIVE, at, None, 0)
        if kind is EventKind.PROBE_OK:
            return Lifecycle(state, life.since, life.clock_started_at, 0, life.uninstalled)
        return life
    if kind is EventKind.ENABLED:
        return (
            Lifecycle(State.ACTIVE, at, None, life.failed_probes)
            if state in _PRESENT and state is not State.ACTIVE
            else life
        )
    if kind is EventKind.DISABLED:
        return (
            Lifecycle(State.DISABLED, at, None, life.failed_probes)
            if state in (State.INSTALLED, State.ACTIVE)
            else life
        )
    if kind is EventKind.PROBE_FAILED:
        failed = life.failed_probes + 1
        if state in _PRESENT and failed >= probe_threshold:
            return Lifecycle(State.ACCESS_LOST, at, at, failed)
        return Lifecycle(state, life.since, life.clock_started_at, failed, life.uninstalled)
    if kind is EventKind.UNINSTALLED:
        if state is State.UNINSTALLED:
            return life
        started = life.clock_started_at if state is State.ACCESS_LOST else at
        return Lifecycle(State.UNINSTALLED, at, started, life.failed_probes, True)
    if kind is EventKind.PRE_UNINSTALL:
        if state in _PRESENT:
            return Lifecycle(State.ACCESS_LOST, at, at, life.failed_probes, True)
        return Lifecycle(state, life.since, life.clock_started_at, life.failed_probes, True)
    if kind is EventKind.LICENSE_INACTIVE:
        return Lifecycle(State.ACCESS_LOST, at, at, life.failed_probes) if state in _PRESENT else life
    raise AssertionError(f"unhandled event kind {kind}")  # pragma: no cover


def replay(events: Iterable[Event], *, forge: bool, probe_threshold: int = 3) -> Lifecycle:
    """The lifecycle of a tenant that has seen ``events`` (in any order, duplicates allowed).

    Args:
        events: the tenant's events.
        forge: a Forge tenant (``installed`` means active; Forge has no ``enabled``).
        probe_threshold: consecutive failed access probes that end access.
    """
    life = Lifecycle()
    for event in sorted(set(events), key=Event.sort_key):
        life = _step(life, event, forge=forge, probe_threshold=probe_threshold)
    return life
