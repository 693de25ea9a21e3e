"""Tenants: the registry of installations, their lifecycle state machine, and their purge."""

from charter.tenants._lifecycle import Event, EventKind, Lifecycle, State, replay
from charter.tenants._purge import DuePurge, Purger, Receipt
from charter.tenants._registry import Registry, Tenant

__all__ = ["DuePurge", "Event", "EventKind", "Lifecycle", "Purger", "Receipt", "Registry", "State", "Tenant", "replay"]
