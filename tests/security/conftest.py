"""Fixtures of the security desk's tests: other host time zones and Forge tenants running given app versions
(the local SMTP server is in ``tests/conftest.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

FORGE_APP = "com.example.issue-notes"
FORGE_APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000000aa"


@pytest.fixture(params=["UTC", "Asia/Kolkata", "America/Los_Angeles", "Europe/Berlin"])
def host_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process runs in another time zone: nothing may change."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def forge_tenant(rt: Any, installation: str, version: str | None, at: datetime, *, cloud: str | None = None) -> str:
    """Register a Forge tenant running ``version`` as a verified invocation would; returns its tenant id."""
    from charter.atlassian import ForgeInvocation

    invocation = ForgeInvocation(
        app_id=FORGE_APP_ID,
        installation_id=f"ari:cloud:ecosystem::installation/{installation}",
        cloud_id=cloud or f"cloud-{installation}",
        workspace_id=None,
        api_base_url="https://api.atlassian.com/ex/jira/fake",
        principal=None,
        license_active=None,
        environment_type="PRODUCTION",
        module_key="core:endpoint",
        app_version=version,
        issued_at=at,
        token_id=f"jti-{installation}-{version}",
    )
    return str(rt.registry.forge_seen(FORGE_APP, invocation).id)
