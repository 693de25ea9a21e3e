"""Tenants: the registry of installations and their lifecycle state machine."""

from charter.tenants._lifecycle import Event, EventKind, Lifecycle, State, replay
from charter.tenants._registry import Registry, Tenant

__all__ = ["Event", "EventKind", "Lifecycle", "Registry", "State", "Tenant", "replay"]
