"""``charter verify``: every promise checked against the running system, with its evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from charter.cli._common import ConfigOption
from charter.cli._maintenance import DatabaseOption, DataDirOption, KeysDatabaseOption, runtime

__all__ = ["verify"]

_MARK = {"pass": "PASS", "fail": "FAIL", "unknown": "----"}


def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the evidence as JSON.")] = False,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Check every promise against the running system and print the evidence (pass, fail or unknown; when; what
    was measured). The results are kept for the trust page. Exit 1 when any promise is broken."""
    from charter.evidence import CHECKS, record, run_checks, section_checks
    from charter.statement import build_statement

    with runtime(config, data_dir, database_url, keys_database_url) as rt:
        evidence = run_checks(rt)
        record(rt.database, evidence, charter=rt.charter)
        sections = section_checks(build_statement(rt.charter))
    promises = {c.name: c.promise for c in CHECKS}
    failed = [e for e in evidence if e.status == "fail"]
    if as_json:
        body = {
            "ok": not failed,
            "checks": [{**e.as_dict(), "promise": promises[e.check]} for e in evidence],
            "sections": sections,
        }
        typer.echo(json.dumps(body, indent=2, default=str))
    else:
        for item in evidence:
            typer.echo(f"{_MARK[item.status]}  {item.check:<24} {promises[item.check]}")
            typer.echo(f"      {item.summary} ({item.at:%Y-%m-%d %H:%M:%S} UTC)")
        counts = {s: sum(1 for e in evidence if e.status == s) for s in ("pass", "fail", "unknown")}
        typer.echo(
            f"{len(evidence)} promise check(s): {counts['pass']} pass, {counts['fail']} fail, "
            f"{counts['unknown']} unknown (nothing to measure, or not observable by Charter)"
        )
    if failed:
        raise typer.Exit(1)
