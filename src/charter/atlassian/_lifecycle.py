"""Parsing lifecycle and event payloads sent by Forge and Connect.

Payloads say *what happened*; they never say *who* is asking. The tenant always comes from the verified
token (FIT claims, or the signed-install ``iss``), and a Connect install body is believed only after its
signed-install token has been verified against it.

Forge event bodies come in two shapes (``atlassian-platform.md`` 1.5): fields at the top level
(``{"eventType": ..., "id": ..., "context": ...}``) or wrapped in ``{"payload": {...}}`` next to
``retryContext``. :func:`forge_event` accepts both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "FORGE_INSTALLED",
    "FORGE_UPGRADED",
    "ConnectLifecycle",
    "ForgeEvent",
    "PayloadError",
    "connect_lifecycle",
    "forge_event",
]

FORGE_INSTALLED = "avi:forge:installed:app"
FORGE_UPGRADED = "avi:forge:upgraded:app"
_MAX_BODY = 256 * 1024


class PayloadError(ValueError):
    """A body Charter cannot use: not JSON, too large, or missing what the event needs."""


def _json(body: bytes) -> dict[str, Any]:
    if len(body) > _MAX_BODY:
        raise PayloadError("body too large")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise PayloadError("body is not JSON (or nested too deeply)") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    return data


@dataclass(frozen=True)
class ForgeEvent:
    """A Forge event or trigger delivery.

    Attributes:
        event_type: e.g. ``avi:forge:installed:app``; ``None`` for a scheduled trigger or ``preUninstall``.
        retry_count: ``retryContext.retryCount`` (0 for a first delivery).
        cloud_id: the site named by the body (``context`` ARI or ``context.cloudId``), for cross-checking
            against the verified token only.
    """

    event_type: str | None
    retry_count: int
    cloud_id: str | None


_SITE_ARI = re.compile(r"^ari:cloud:[a-z-]+::site/([A-Za-z0-9-]+)$")


def forge_event(body: bytes) -> ForgeEvent:
    """Parse a Forge event, trigger or ``preUninstall`` body (either envelope).

    Raises:
        PayloadError: the body is not a JSON object.
    """
    data = _json(body) if body.strip() else {}
    inner = data.get("payload")
    fields = inner if isinstance(inner, dict) and "eventType" not in data else data
    retry = fields.get("retryContext", data.get("retryContext"))
    count = retry.get("retryCount") if isinstance(retry, dict) else 0
    event_type = fields.get("eventType")
    context = fields.get("context")
    cloud_id = None
    if isinstance(context, str):
        match = _SITE_ARI.match(context)
        cloud_id = match.group(1) if match else None
    elif isinstance(context, dict) and isinstance(context.get("cloudId"), str):
        cloud_id = context["cloudId"]
    return ForgeEvent(
        event_type=event_type if isinstance(event_type, str) else None,
        retry_count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
        cloud_id=cloud_id,
    )


class ConnectLifecycle(BaseModel):
    """A Connect lifecycle callback body (``installed``, ``uninstalled``, ``enabled``, ``disabled``).

    Only the fields Charter uses are kept; unknown fields are ignored (Atlassian adds fields over time).
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    key: str = Field(min_length=1, max_length=200)
    client_key: str = Field(alias="clientKey", min_length=1, max_length=256)
    shared_secret: str | None = Field(None, alias="sharedSecret", min_length=1, max_length=1024)
    base_url: str = Field(alias="baseUrl", max_length=2048)
    product_type: str | None = Field(None, alias="productType", max_length=64)
    event_type: str = Field(alias="eventType")
    installation_id: str | None = Field(None, alias="installationId", max_length=256)

    @field_validator("base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("baseUrl must be https")
        return value.rstrip("/")

    def __repr__(self) -> str:
        # Never show the shared secret, even in a debugger or a traceback.
        return f"ConnectLifecycle(event_type={self.event_type!r}, client_key={self.client_key!r})"

    __str__ = __repr__


def connect_lifecycle(body: bytes, expected_event: str) -> ConnectLifecycle:
    """Parse a Connect lifecycle body and check that its ``eventType`` is ``expected_event``.

    Raises:
        PayloadError: not JSON, a missing or malformed field, or a different event type.
    """
    try:
        payload = ConnectLifecycle.model_validate(_json(body))
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise PayloadError(f"invalid lifecycle body ({fields})") from None
    if payload.event_type != expected_event:
        raise PayloadError(f"eventType is not {expected_event}")
    if expected_event == "installed" and payload.shared_secret is None:
        raise PayloadError("an installed body carries no sharedSecret")
    return payload
