"""Running the checks, keeping their latest outcomes, and binding them to the statement's sections."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from charter.evidence._checks import CHECKS, Check, Evidence, normalise
from charter.logs import get_logger
from charter.policy import Charter
from charter.statement import Statement
from charter.store import Database, EvidenceRow

if TYPE_CHECKING:
    from charter.runtime import Runtime

__all__ = [
    "SectionEvidence",
    "applicable",
    "charter_digest",
    "latest",
    "record",
    "run_checks",
    "section_checks",
    "section_evidence",
]

log = get_logger("charter.evidence")


def applicable(statement: Statement) -> list[Check]:
    """The checks of the promises this statement makes (a check of a promise not made is not run)."""
    names = {name for found in section_checks(statement).values() for name in found}
    return [c for c in CHECKS if c.name in names]


def run_checks(runtime: Runtime, checks: Iterable[Check] | None = None) -> list[Evidence]:
    """Run the checks (default: those of the promises the charter's statement makes) against ``runtime``'s
    state. A check that raises is a ``fail`` naming the error type (fail closed: a promise Charter cannot check
    because its own check broke is not shown as kept)."""
    from charter.statement import build_statement

    results: list[Evidence] = []
    for check in applicable(build_statement(runtime.charter)) if checks is None else checks:
        at = runtime.clock.now()
        try:
            status, summary, measured = check.run(runtime)
        except Exception as exc:  # any failure of a check is its evidence
            log.error("evidence check failed to run", check=check.name, error=type(exc).__name__)
            status, summary, measured = "fail", f"the check could not run ({type(exc).__name__})", {}
        results.append(Evidence(check.name, status, summary, at, measured))
    return results


def charter_digest(charter: Charter) -> str:
    """Identifies a charter's content: evidence is shown only beside the charter it was measured under."""
    return hashlib.sha256(charter.model_dump_json().encode()).hexdigest()[:32]


def record(db: Database, evidence: Iterable[Evidence], *, charter: Charter) -> None:
    """Keep the latest outcome of each check under ``charter`` (every replica's trust page reads these)."""
    digest = charter_digest(charter)
    with db.session() as session:
        for item in evidence:
            row = session.get(EvidenceRow, item.check)
            if row is None:
                row = EvidenceRow(check=item.check)
                session.add(row)
            row.charter, row.status, row.summary, row.at = digest, item.status, item.summary, item.at
            row.measured = json.dumps(item.measured, sort_keys=True, default=str)


def latest(db: Database, *, charter: Charter | None = None, digest: str | None = None) -> dict[str, Evidence]:
    """The latest recorded outcome of each check, by check name; with ``charter`` (or its ``digest``, see
    :func:`charter_digest`), only outcomes measured under that charter: a server never shows what a
    ``charter verify`` of another charter file found."""
    if charter is not None:
        digest = charter_digest(charter)
    with db.session() as session:
        rows = session.scalars(select(EvidenceRow)).all()
        return {
            r.check: Evidence(r.check, r.status, r.summary, r.at, json.loads(r.measured))  # type: ignore[arg-type]
            for r in rows
            if digest is None or r.charter == digest
        }


def section_checks(statement: Statement, checks: Iterable[Check] | None = None) -> dict[str, list[str]]:
    """The checks behind each section's sentences: section id -> check names, in the checks' order."""
    checks = list(CHECKS if checks is None else checks)
    found: dict[str, list[str]] = {}
    for section in statement.sections:
        paths = {normalise(source) for sentence in section.sentences for source in sentence.sources}
        names = [c.name for c in checks if any(c.applies(p) for p in paths)]
        if names:
            found[section.id] = names
    return found


@dataclass(frozen=True)
class SectionEvidence:
    """What the trust page shows beside a section: each check's outcome, and the overall status (``fail`` if
    any fails, ``pass`` if all pass, else ``unknown``; ``unknown`` too while a check has no outcome yet)."""

    section: str
    status: str
    checked_at: datetime | None
    items: list[dict[str, Any]]


def section_evidence(statement: Statement, evidence: dict[str, Evidence]) -> dict[str, SectionEvidence]:
    """Bind the latest evidence to the statement's sections."""
    bound: dict[str, SectionEvidence] = {}
    checks = {c.name: c for c in CHECKS}
    for section_id, names in section_checks(statement).items():
        items = []
        for name in names:
            found = evidence.get(name)
            items.append(
                {
                    "check": name,
                    "promise": checks[name].promise,
                    "status": found.status if found else "unknown",
                    "summary": found.summary if found else "not checked yet",
                    "at": found.at if found else None,
                }
            )
        statuses = {i["status"] for i in items}
        overall = "fail" if "fail" in statuses else "pass" if statuses == {"pass"} else "unknown"
        times: list[datetime] = [i["at"] for i in items if isinstance(i["at"], datetime)]
        bound[section_id] = SectionEvidence(section_id, overall, max(times) if times else None, items)
    return bound
