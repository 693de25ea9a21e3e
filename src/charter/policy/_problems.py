"""Problems found in a charter, and the exception that carries them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from charter.policy._locate import KeyPath, format_path

__all__ = ["CharterError", "Problem"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a charter.

    Attributes:
        line: 1-based line in the file, or ``None`` when the key is not written anywhere (a missing table).
        path: the TOML key path, e.g. ``("apps", 0, "hosting")``; empty for file-level problems.
        message: what is wrong and, where possible, how to fix it.
        severity: ``"error"`` (the charter is refused) or ``"warning"`` (accepted, but act soon).
        rule: id of the rule that found it (``"schema"``, ``"toml"``, or a rule of :mod:`charter.policy`).
    """

    line: int | None
    path: KeyPath = field(compare=False)
    message: str
    severity: Literal["error", "warning"] = "error"
    rule: str = "schema"

    @property
    def where(self) -> str:
        """The TOML path in dotted form (``apps[0].hosting``)."""
        return format_path(self.path)

    def format(self, file: str) -> str:
        """One line as compilers print it: ``charter.toml:12: error: apps[0].hosting: message``."""
        location = f"{file}:{self.line}" if self.line else file
        subject = f"{self.where}: " if self.path else ""
        return f"{location}: {self.severity}: {subject}{self.message}"


class CharterError(Exception):
    """A charter that cannot be used: unreadable, malformed, invalid, or contradicting itself.

    Attributes:
        file: the file name as given by the caller.
        problems: every problem found, sorted by line; at least one has severity ``"error"``.
    """

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        errors = sum(1 for p in problems if p.severity == "error")
        super().__init__(f"{file}: {errors} error(s)")

    def report(self) -> str:
        """All problems, one per line."""
        return "\n".join(p.format(self.file) for p in self.problems)
