"""Structured logging (structlog) that never writes secrets or personal data.

Charter logs ids and reasons, never tokens, shared secrets, keys or e-mail addresses. Call sites are
written that way; as a second line of defence, :func:`scrub` replaces the value of any field whose
name looks sensitive (``token``, ``secret``, ``password``, ``authorization``, ``cookie``, ``email``,
``key`` but not ``key_id``) and masks e-mail addresses and bearer/JWT-looking strings in every other
string field.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "get_logger", "scrub"]

_SENSITIVE_NAME = re.compile(
    r"(token|secret|password|passwd|authorization|cookie|e?mail|credential|private|(?<!_id)key$|^key$)", re.I
)
_SAFE_NAMES = frozenset({"key_id", "kid", "app_key", "event", "logger", "level", "timestamp", "rule"})
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|jwt|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def _mask(text: str) -> str:
    text = _JWT.sub("[redacted-jwt]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    return _EMAIL.sub("[redacted-email]", text)


def scrub(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: redact sensitive fields and mask secrets inside free-text fields."""
    for name, value in list(event_dict.items()):
        if name in _SAFE_NAMES:
            if isinstance(value, str) and name == "event":
                event_dict[name] = _mask(value)
            continue
        if _SENSITIVE_NAME.search(name):
            event_dict[name] = "[redacted]"
        elif isinstance(value, str):
            event_dict[name] = _mask(value)
    return event_dict


def configure_logging(*, level: str = "info", json: bool | None = None) -> None:
    """Configure structlog for the process.

    Args:
        level: ``debug``, ``info``, ``warning`` or ``error``.
        json: JSON lines (for log collectors) or a readable console format; default: JSON unless
            stderr is a terminal.
    """
    as_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A bound structlog logger named ``name``."""
    return structlog.get_logger(name)
