"""``charter redact``: redact support material (logs, JSON, HAR, zip) before anyone reads it."""

from __future__ import annotations

import json
import os
import re
import signal
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from charter.cli._common import die, write_atomically
from charter.redact import DETECTORS, Redactor, hostname_detector
from charter.redact._formats import DEFAULT_BUDGET, Report, clean_name, redact_file

__all__ = ["redact"]

_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?")


def redact(
    paths: Annotated[list[Path], typer.Argument(help="Files to redact: logs, JSON, HAR, zip (nested zips too).")],
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the redacted copies (created; never the inputs' own).")
    ],
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the report (counts per kind, withheld items) as JSON.")
    ] = None,
    pseudonyms: Annotated[
        bool,
        typer.Option("--pseudonyms", help="Consistent pseudonyms (same value, same token) instead of [REDACTED:kind]."),
    ] = False,
    budget: Annotated[
        float,
        typer.Option("--budget", min=0.001, help="Seconds each file or zip member may take before it is withheld."),
    ] = DEFAULT_BUDGET,
    hosts: Annotated[
        list[str] | None,
        typer.Option("--host", help="A customer host name to redact, with its subdomains (repeatable)."),
    ] = None,
) -> None:
    """Redact files into --out: e-mails, IPs, tokens, cookies, passwords, credentials, account ids, names.

    Anything that cannot be scanned (binary, undecodable, a damaged or too deeply nested zip) is withheld:
    left out of the output and listed in the report (exit 1). Original values never appear in the report.
    """
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        die(f"not a file: {', '.join(missing)}")
    out_dir = out.expanduser().resolve()
    if any(p.expanduser().resolve().parent == out_dir for p in paths):
        die(f"--out {out} holds an input file: choose another directory, so no original is overwritten")
    if report is not None:
        target = report.expanduser().resolve()
        if target == out_dir or target.parent == out_dir or any(target == p.expanduser().resolve() for p in paths):
            die(f"--report {report} is an input or inside --out: choose another file")
        if target.is_dir():
            die(f"--report {report} is a directory: give a file name")
        if not target.parent.is_dir():
            die(f"--report {report}: the directory {target.parent} does not exist")
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        die(f"cannot create {out}: {exc.strerror}")
    detectors = list(DETECTORS)
    if hosts:
        bad = [h for h in hosts if not _HOST.fullmatch(h)]
        if bad:
            die(f"--host {bad[0]!r} is not a host name (letters, digits, '-' and '.')")
        detectors.append(hostname_detector(hosts))
    redactor = Redactor(detectors=detectors, case_key=os.urandom(32) if pseudonyms else None)
    result = Report(budget=budget)
    names: set[str] = set()
    for path in paths:
        if path.name in names:
            die(f"two inputs are named {path.name}: their redacted copies would overwrite each other")
        names.add(path.name)
    targets: list[Path] = []  # names are redacted too; two that become the same get ~2, ~3 (never overwritten)
    for path in paths:
        name, n = clean_name(redactor, path.name), 1
        unique = name
        while out_dir / unique in targets or (out_dir / unique).exists():
            n += 1
            unique = f"{name}~{n}"
        targets.append(out_dir / unique)
    previous = signal.signal(signal.SIGTERM, _terminate)  # a stopped run removes its partial copies too
    try:
        written = sum(_redact_into(path, target, redactor, result) for path, target in zip(paths, targets, strict=True))
    finally:
        signal.signal(signal.SIGTERM, previous)
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(result.counts.items())) or "nothing found"
    left_out = len(paths) - written
    typer.echo(
        f"{written} of {len(paths)} file(s) redacted into {out}"
        + (f", {left_out} withheld" if left_out else "")
        + (f", {len(result.withheld)} item(s) left out (listed below)" if len(result.withheld) != left_out else "")
        + f": {summary}"
    )
    if report is not None:
        try:
            write_atomically(report, (json.dumps(result.as_dict(), indent=2) + "\n").encode())
        except OSError as exc:
            die(f"cannot write --report {report}: {exc.strerror}")
    if result.withheld:
        for item, reason in result.withheld:
            typer.echo(f"withheld {item}: {reason}", err=True)
        raise typer.Exit(1)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _redact_into(path: Path, target: Path, redactor: Redactor, report: Report) -> bool:
    """Stream the redacted copy into a private temporary file beside ``target``; rename it into place only
    when the whole file was redacted, so a withheld or interrupted file leaves nothing behind. Returns
    whether the copy was written."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as sink:
            done = redact_file(path, sink, redactor, report)
            sink.flush()
            os.fsync(sink.fileno())
        if done:
            os.replace(temporary, target)
            return True
        return False
    except OSError as exc:
        die(f"cannot redact {path}: {exc.strerror}")
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
