"""The privacy tests run at B16's instants: the runtime's frozen clock starts at 2024-03-10T00:00:00Z."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from charter.clock import FrozenClock

B16_START = datetime(2024, 3, 10, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(B16_START)


def declare_contacts(runtime: object) -> None:
    """Give the runtime's contacts a charter that declares Marketplace contacts (the example does not)."""
    from charter.policy._schema import MarketplaceContacts as Policy

    contacts = runtime.contacts  # type: ignore[attr-defined]
    policy = Policy(purposes=["security-notices", "billing"], unsubscribe="mailto:privacy@notes.example.com")
    contacts._charter = contacts._charter.model_copy(update={"marketplace_contacts": policy})
