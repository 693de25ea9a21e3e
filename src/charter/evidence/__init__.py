"""Evidence: every promise of the charter bound to a named check of the running system (``charter verify``,
the trust page's live status, ``/trust/evidence.json``)."""

from charter.evidence._checks import CHECKS, FACTS, Check, Evidence, Status, coverage_problems, normalise
from charter.evidence._run import (
    SectionEvidence,
    applicable,
    charter_digest,
    latest,
    record,
    run_checks,
    section_checks,
    section_evidence,
)

__all__ = [
    "CHECKS",
    "FACTS",
    "Check",
    "Evidence",
    "SectionEvidence",
    "Status",
    "applicable",
    "charter_digest",
    "coverage_problems",
    "latest",
    "normalise",
    "record",
    "run_checks",
    "section_checks",
    "section_evidence",
]
