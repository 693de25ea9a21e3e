"""Typed durations such as ``30d``, ``24h`` or ``1d12h``.

A duration in a charter is always a number with a unit: ``w`` (7 days), ``d`` (24 hours), ``h``, ``m``
(minutes) or ``s``. Several parts may be joined, largest unit first (``1d12h``). Months and years are
refused: they are not fixed lengths, and a promise such as "deleted 30 days after uninstall" must mean
one exact instant (exact multiples of 24 h in UTC). A bare number is refused because its unit would be
a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["Duration"]

_UNITS: dict[str, int] = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_ORDER = "wdhms"
_NAMES = {"w": "week", "d": "day", "h": "hour", "m": "minute", "s": "second"}
_PART = re.compile(r"(\d+)([a-z]+)")
_WHOLE = re.compile(r"(?:\d+[a-z]+)+")
_MAX_SECONDS = 100 * 366 * 86400  # nothing Charter promises lasts a century


@dataclass(frozen=True, order=True)
class Duration:
    """An exact length of time, in whole seconds.

    Attributes:
        seconds: the length in seconds (>= 0).
    """

    seconds: int

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``text`` such as ``"30d"`` or ``"1d12h"``.

        Raises:
            ValueError: with a message naming what is wrong (no unit, unknown unit, months/years,
                units out of order, too long).
        """
        raw = text
        text = text.strip().lower().replace(" ", "")
        if not text:
            raise ValueError("empty duration; write a number with a unit, e.g. '30d'")
        if text.isdigit():
            raise ValueError(f"'{raw}' has no unit; write e.g. '{text}d' (days) or '{text}h' (hours)")
        if not _WHOLE.fullmatch(text):
            raise ValueError(f"'{raw}' is not a duration; write a number with a unit, e.g. '30d', '24h', '1d12h'")
        total = 0
        last = -1
        for number, unit in _PART.findall(text):
            if unit in ("y", "yr", "year", "years", "mo", "month", "months"):
                raise ValueError(f"'{raw}': months and years are not fixed lengths; give days instead (e.g. '365d')")
            if unit not in _UNITS:
                raise ValueError(f"'{raw}': unknown unit '{unit}'; use w, d, h, m or s")
            position = _UNIT_ORDER.index(unit)
            if position <= last:
                raise ValueError(f"'{raw}': give each unit once, largest first (e.g. '1d12h')")
            last = position
            total += int(number) * _UNITS[unit]
        if total > _MAX_SECONDS:
            raise ValueError(f"'{raw}' is longer than 100 years")
        return cls(total)

    @classmethod
    def of(cls, *, weeks: int = 0, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> Duration:
        """Build a duration from parts."""
        return cls(weeks * _UNITS["w"] + days * 86400 + hours * 3600 + minutes * 60 + seconds)

    @property
    def timedelta(self) -> timedelta:
        """The duration as a ``datetime.timedelta``."""
        return timedelta(seconds=self.seconds)

    @property
    def days(self) -> float:
        """The duration in days of 24 hours."""
        return self.seconds / 86400

    def __str__(self) -> str:
        """The canonical compact form, e.g. ``4w``, ``30d``, ``1d12h``."""
        if self.seconds == 0:
            return "0s"
        rest = self.seconds
        parts = []
        # Prefer days over weeks unless the value is a whole number of weeks.
        units = "wdhms" if rest % _UNITS["w"] == 0 else "dhms"
        for unit in units:
            amount, rest = divmod(rest, _UNITS[unit])
            if amount:
                parts.append(f"{amount}{unit}")
        return "".join(parts)

    def humanize(self) -> str:
        """Plain English, e.g. ``30 days``, ``24 hours``, ``4 weeks``, ``1 day and 12 hours``."""
        if self.seconds == 0:
            return "0 seconds"
        rest = self.seconds
        # Hours read better than days up to three days ("72 hours", as GDPR writes it).
        if rest % 3600 == 0 and rest <= 72 * 3600:
            units = "h"
        elif rest % _UNITS["w"] == 0:
            units = "w"
        elif rest % 86400 == 0:
            units = "d"
        else:
            units = "dhms"
        parts = []
        for unit in units:
            amount, rest = divmod(rest, _UNITS[unit])
            if amount:
                parts.append(f"{amount} {_NAMES[unit]}{'' if amount == 1 else 's'}")
        if len(parts) == 1:
            return parts[0]
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Duration:
            if isinstance(value, Duration):
                return value
            if isinstance(value, bool) or not isinstance(value, str):
                if isinstance(value, int | float):
                    raise PydanticCustomError(
                        "duration_unit",
                        'a duration needs a unit, as a string: write e.g. "{value}h" (hours) or "{value}d" (days)',
                        {"value": value},
                    )
                raise PydanticCustomError("duration_type", 'expected a duration string such as "30d" or "24h"')
            try:
                return cls.parse(value)
            except ValueError as exc:
                raise PydanticCustomError("duration_parse", "{reason}", {"reason": str(exc)}) from None

        return core_schema.no_info_plain_validator_function(validate, serialization=core_schema.to_string_ser_schema())
