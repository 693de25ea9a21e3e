"""``charter redact``: redact support material (logs, JSON, HAR, zip) before anyone reads it."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from charter.cli._common import die, write_atomically
from charter.redact import DETECTORS, Redactor, hostname_detector
from charter.redact._formats import DEFAULT_BUDGET, Report, redact_file

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
    for path in paths:
        _redact_into(path, out_dir / path.name, redactor, result)
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(result.counts.items())) or "nothing found"
    typer.echo(f"redacted {result.files} file(s) into {out}: {summary}")
    if report is not None:
        write_atomically(report, (json.dumps(result.as_dict(), indent=2) + "\n").encode())
    if result.withheld:
        for item, reason in result.withheld:
            typer.echo(f"withheld {item}: {reason}", err=True)
        raise typer.Exit(1)


def _redact_into(path: Path, target: Path, redactor: Redactor, report: Report) -> None:
    """Stream the redacted copy into a private temporary file beside ``target``; rename it into place only
    when the whole file was redacted, so a withheld or interrupted file leaves nothing behind."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as sink:
            done = redact_file(path, sink, redactor, report)
            sink.flush()
            os.fsync(sink.fileno())
        if done:
            os.replace(temporary, target)
            return
    except OSError as exc:
        die(f"cannot redact {path}: {exc.strerror}")
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
