"""Structured logging (structlog) that never writes secrets or personal data.

Charter logs ids and reasons, never tokens, shared secrets, keys or e-mail addresses. Call sites are
written that way; as a second line of defence, :func:`scrub` replaces the value of any field whose
name looks sensitive (``token``, ``secret``, ``password``, ``authorization``, ``cookie``, ``email``,
``key`` but not ``key_id``) and masks e-mail addresses, IP addresses, bearer/JWT-looking strings and
``password=...``-style values in every other string field (a path can carry them).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "get_logger", "mask", "scrub", "uvicorn_log_config"]

_SENSITIVE_NAME = re.compile(
    r"(token|secret|password|passwd|authorization|cookie|e?mail|credential|private|(?<!_id)key$|^key$)", re.I
)
_SAFE_NAMES = frozenset({"key_id", "kid", "app_key", "event", "logger", "level", "timestamp", "rule", "method"})
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.IGNORECASE)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|jwt|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_NAMED_SECRET = re.compile(
    r"(?i)\b((?:[a-z0-9_.-]*[_.-])?(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|session(?:id)?|auth))"
    r"(\s*[=:]\s*)([^\s;&,/\"']+)"
)
_AWS_KEY = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])")
# IPv6: eight groups, or a compressed form with "::" and at least one group (never a bare "::").
_IPV6 = re.compile(
    r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
    r"|(?:[0-9A-Fa-f]{1,4}:){1,6}(?::[0-9A-Fa-f]{1,4}){1,6}"
    r"|(?:[0-9A-Fa-f]{1,4}:){1,7}:|::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})(?![\w:])"
)


_TRIGGERS = frozenset("@.:= \t\r\n\f\v")


def mask(text: str) -> str:
    """``text`` with e-mail addresses, IP addresses, tokens and named secrets masked (for free text)."""
    return _mask(text)


def _mask(text: str) -> str:
    # Every pattern below needs one of these characters (or a token/key prefix): most log strings,
    # such as ordinary paths and messages, skip the regular expressions entirely.
    if _TRIGGERS.isdisjoint(text) and "eyJ" not in text and "AKIA" not in text and "ASIA" not in text:
        return text
    text = _JWT.sub("[redacted-jwt]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _NAMED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    text = _AWS_KEY.sub("[redacted-key]", text)
    text = _EMAIL.sub("[redacted-email]", text)
    text = _IPV6.sub(_ip, text)
    return _IPV4.sub(_ip, text)


#: Addresses that identify no one: the loopback and "any" addresses a server binds to.
_NOT_PERSONAL_IPS = frozenset({"127.0.0.1", "0.0.0.0", "::1", "::"})  # noqa: S104 - compared, not bound


def _ip(match: re.Match[str]) -> str:
    return match.group(0) if match.group(0) in _NOT_PERSONAL_IPS else "[redacted-ip]"


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


class _StderrLogger:
    """Writes each rendered line to whatever ``sys.stderr`` is at the time (not at configuration)."""

    def __init__(self, *args: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


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
            structlog.processors.format_exc_info,
            scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=_StderrLogger,
        cache_logger_on_first_use=False,
    )


def uvicorn_log_config(*, level: str = "info", json: bool | None = None) -> dict[str, Any]:
    """A ``logging.config`` dict that sends uvicorn's own lines through the same processors (scrubbed,
    one format) as Charter's. Access logs stay off: they would hold client addresses and query strings."""
    as_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "charter": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    scrub,
                    renderer,
                ],
                "foreign_pre_chain": [
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                ],
            }
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "charter", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
        },
    }


def get_logger(name: str) -> Any:
    """A bound structlog logger named ``name``."""
    return structlog.get_logger(name)
