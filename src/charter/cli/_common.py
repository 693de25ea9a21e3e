"""Helpers shared by the commands: exit codes, the charter option, atomic writes."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from charter.clock import Clock, SystemClock
from charter.policy import Charter, Problem, check_file

__all__ = [
    "EXIT_PROBLEM",
    "RUNNING_TOLERATES",
    "ConfigOption",
    "die",
    "load_or_exit",
    "parse_instant",
    "print_problems",
    "time_left",
    "when",
    "write_atomically",
]

#: Exit status for a user mistake (bad input, invalid charter), as documented in the README.
EXIT_PROBLEM = 2

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar="CHARTER_CONFIG",
        help="The charter file.",
        show_default=True,
        dir_okay=True,
    ),
]


def die(message: str, code: int = EXIT_PROBLEM) -> NoReturn:
    """Print ``charter: error: message`` on stderr and exit with ``code``."""
    typer.echo(f"charter: error: {message}", err=True)
    raise typer.Exit(code)


def print_problems(file: str, problems: list[Problem]) -> None:
    """Print each problem on stderr, one per line, as compilers do."""
    for problem in problems:
        typer.echo(problem.format(file), err=True)


#: Rule problems that running commands (``serve``, ``verify``, maintenance) report as warnings rather than
#: refuse to start on: an expired security.txt must not take the app's routes down; ``charter check`` still
#: fails on it, and the evidence check shows the promise broken on the trust page.
RUNNING_TOLERATES = frozenset({"security-txt-expiry"})


def load_or_exit(path: Path, clock: Clock | None = None, *, tolerate: frozenset[str] = frozenset()) -> Charter:
    """Load the charter at ``path``, or print every problem and exit with status 2. Errors of the rules in
    ``tolerate`` are printed as warnings and do not stop the command."""
    result = check_file(path, clock=clock or SystemClock())
    tolerated = [p for p in result.problems if p.severity == "error" and p.rule in tolerate]
    blocking = [p for p in result.problems if p.severity == "error" and p.rule not in tolerate]
    if result.charter is None or blocking:
        print_problems(str(path), result.problems)
        die(f"{path} has {len(blocking)} error{'s' if len(blocking) != 1 else ''}; nothing was done")
    warnings = [p for p in result.problems if p.severity == "warning"]
    print_problems(str(path), warnings)
    for problem in tolerated:
        typer.echo(
            problem.format(str(path)).replace(": error: ", ": warning: ", 1)
            + " (running anyway; `charter verify` and the trust page show this promise broken)",
            err=True,
        )
    return result.charter


def write_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part.
    ``mode`` (e.g. ``0o600`` for personal data) applies from the first byte; by default an existing file keeps
    its permissions and a new one gets what the umask gives.

    Raises:
        OSError: the directory is missing or not writable (the caller reports it).
    """
    path = Path(os.path.realpath(path))  # write through a symlink to its target, keeping the link
    if mode is None:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)  # an existing file keeps its permissions
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask  # a new file gets what the user's umask gives any new file
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def when(value: datetime | None) -> str:
    """An instant as the desk commands print it: ``2026-11-30 09:00 UTC`` (``-`` for none)."""
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def time_left(delta: timedelta) -> str:
    """Time until a deadline: ``3d 4h``, ``5h 12m``, or ``overdue by 2d 1h``."""
    seconds = int(delta.total_seconds())
    sign, seconds = ("overdue by " if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    return f"{sign}{days}d {rest // 3600}h" if days else f"{sign}{rest // 3600}h {rest % 3600 // 60}m"


def parse_instant(value: str | None, option: str) -> datetime | None:
    """An aware instant from an ISO 8601 option value, or exit 2 naming the option."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        die(f"{option} {value!r} is not an ISO 8601 time (e.g. 2026-11-30T09:00:00Z)")
    if parsed.tzinfo is None:
        die(f"{option} {value!r} has no time zone: add Z or an offset such as +01:00")
    return parsed


def stdout_bytes(data: bytes) -> None:
    """Write ``data`` to standard output unchanged."""
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
