"""The dependency audit: known vulnerabilities in the installed packages become tracked items with deadlines.

Findings come from pip-audit (run with ``--strict``, so a package that cannot be audited fails the run) or
from a report file given when offline: pip-audit's JSON (``pip-audit -f json``) or OSV-Scanner's JSON
(``osv-scanner --format json``). A run that cannot show that anything was checked is an error, never "no
vulnerabilities": an empty pip-audit dependency list, skipped packages, or an OSV-Scanner file with no results
(it lists only vulnerable packages, so an empty one proves nothing).

Each finding (package, vulnerability id) opens one item on the security desk (``kind = dependency``), scored
from the OSV CVSS vector when the source gives one; unscored items keep the Critical deadline until triaged.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charter.security._clocks import CvssError, parse_cvss
from charter.security._desk import DeskError, Report, SecurityDesk

__all__ = ["AuditError", "DepsAudit", "Finding", "audit_dependencies", "parse_report", "run_pip_audit"]

MAX_REPORT = 64 << 20


class AuditError(Exception):
    """Nothing (or not everything) could be checked, or the report cannot be read; the message says why."""


@dataclass(frozen=True)
class Finding:
    """One known vulnerability of one installed package."""

    package: str
    version: str
    vuln_id: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    description: str = ""
    cvss: str | None = None


@dataclass
class DepsAudit:
    """What an audit found: packages checked, findings, and the desk items they opened or matched."""

    checked: int
    findings: list[Finding]
    opened: list[tuple[Finding, Report]] = field(default_factory=list)
    tracked: list[tuple[Finding, Report]] = field(default_factory=list)


def _pip_audit(data: Any) -> tuple[int, list[Finding]]:
    dependencies = data.get("dependencies") if isinstance(data, dict) else data
    if not isinstance(dependencies, list):
        raise AuditError("not a pip-audit JSON report: no 'dependencies' list")
    skipped = [d.get("name", "?") for d in dependencies if isinstance(d, dict) and d.get("skip_reason")]
    if skipped:
        raise AuditError(
            f"{len(skipped)} package(s) could not be audited ({', '.join(sorted(skipped)[:10])}): "
            "every package must be checked (pip-audit --strict)"
        )
    findings: list[Finding] = []
    for dep in dependencies:
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            raise AuditError("not a pip-audit JSON report: a dependency without a name")
        for vuln in dep.get("vulns") or []:
            if not isinstance(vuln, dict) or not isinstance(vuln.get("id"), str):
                raise AuditError(f"not a pip-audit JSON report: a vulnerability of {dep['name']} without an id")
            findings.append(
                Finding(
                    package=dep["name"],
                    version=str(dep.get("version", "?")),
                    vuln_id=vuln["id"],
                    aliases=tuple(str(a) for a in vuln.get("aliases") or []),
                    fix_versions=tuple(str(v) for v in vuln.get("fix_versions") or []),
                    description=str(vuln.get("description") or ""),
                )
            )
    return len(dependencies), findings


def _osv_vector(vuln: dict[str, Any]) -> str | None:
    for entry in vuln.get("severity") or []:
        score = entry.get("score") if isinstance(entry, dict) else None
        if isinstance(score, str) and score.startswith(("CVSS:3.", "CVSS:4.0/")):
            try:
                parse_cvss(score)
            except CvssError:
                continue
            return score
    return None


def _osv_scanner(data: dict[str, Any]) -> tuple[int, list[Finding]]:
    results = data.get("results")
    if not isinstance(results, list):
        raise AuditError("not an OSV-Scanner JSON report: no 'results' list")
    findings: list[Finding] = []
    packages = 0
    for result in results:
        for item in (result or {}).get("packages") or []:
            package = item.get("package") or {}
            if not isinstance(package.get("name"), str):
                raise AuditError("not an OSV-Scanner JSON report: a package without a name")
            packages += 1
            for vuln in item.get("vulnerabilities") or []:
                if not isinstance(vuln, dict) or not isinstance(vuln.get("id"), str):
                    raise AuditError(
                        f"not an OSV-Scanner JSON report: a vulnerability of {package['name']} without an id"
                    )
                fixes = sorted(
                    {
                        str(event["fixed"])
                        for affected in vuln.get("affected") or []
                        for rng in affected.get("ranges") or []
                        for event in rng.get("events") or []
                        if isinstance(event, dict) and "fixed" in event
                    }
                )
                findings.append(
                    Finding(
                        package=package["name"],
                        version=str(package.get("version", "?")),
                        vuln_id=vuln["id"],
                        aliases=tuple(str(a) for a in vuln.get("aliases") or []),
                        fix_versions=tuple(fixes),
                        description=str(vuln.get("summary") or vuln.get("details") or ""),
                        cvss=_osv_vector(vuln),
                    )
                )
    if packages == 0:
        raise AuditError(
            "the OSV-Scanner report lists no packages: it names only vulnerable ones, so it cannot show that "
            "anything was checked (use a pip-audit JSON report, which lists every package)"
        )
    return packages, findings


def parse_report(text: str, *, name: str = "the report") -> tuple[int, list[Finding]]:
    """Read a pip-audit or OSV-Scanner JSON report: ``(packages checked, findings)``.

    Raises:
        AuditError: not JSON, neither format, nothing checked, or packages skipped.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuditError(f"{name} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if isinstance(data, dict) and "results" in data:
        checked, findings = _osv_scanner(data)
    else:
        checked, findings = _pip_audit(data)
    if checked == 0:
        raise AuditError(
            f"{name} lists no packages: nothing was checked, so it cannot say there are no vulnerabilities"
        )
    return checked, findings


def run_pip_audit(timeout: float = 600.0) -> str:
    """Run ``pip-audit --strict -f json`` on this Python environment; returns its JSON report.

    Raises:
        AuditError: pip-audit is not installed, timed out, or could not check every package (offline, say).
    """
    command = [sys.executable, "-m", "pip_audit", "--strict", "--format", "json", "--progress-spinner", "off"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise AuditError(f"pip-audit did not finish within {timeout:.0f} s; nothing was checked") from None
    if "No module named pip_audit" in done.stderr:
        raise AuditError("pip-audit is not installed; install it, or pass a report with --input")
    if done.returncode not in (0, 1) or not done.stdout.strip():
        last = next((line for line in reversed(done.stderr.strip().splitlines()) if line.strip()), "no output")
        raise AuditError(
            f"pip-audit could not check the dependencies (is PyPI reachable? offline, pass --input): {last[:300]}"
        )
    return done.stdout


def audit_dependencies(desk: SecurityDesk, report_text: str, *, actor: str, name: str = "the report") -> DepsAudit:
    """Open a tracked item on ``desk`` for every new finding in ``report_text`` (a finding already tracked,
    open or closed, is not opened again) and score it when the report gives a CVSS vector.

    Raises:
        AuditError: see :func:`parse_report`.
    """
    checked, findings = parse_report(report_text, name=name)
    audit = DepsAudit(checked=checked, findings=findings)
    for finding in findings:
        aliases = f" ({', '.join(finding.aliases)})" if finding.aliases else ""
        fixes = ", ".join(finding.fix_versions) or "none known"
        details = (
            f"{finding.package} {finding.version} has {finding.vuln_id}{aliases}.\n"
            f"Fixed in: {fixes}.\n\n{finding.description}".strip()
        )
        report, created = desk.report(
            summary=f"{finding.package} {finding.version}: {finding.vuln_id}",
            details=details[:100_000],
            source="dependency",
            kind="dependency",
            intake="deps-audit",
            intake_ref=f"deps:{finding.package.lower()}:{finding.version}:{finding.vuln_id}",
            actor=actor,
        )
        if created and finding.cvss:
            with contextlib.suppress(DeskError):  # a vector the desk refuses: unscored, the Critical deadline
                report = desk.triage(report.id, cvss=finding.cvss, actor=actor)
        (audit.opened if created else audit.tracked).append((finding, report))
    desk.dependency_audit_ran(checked=checked, findings=len(findings), opened=len(audit.opened), actor=actor)
    return audit


def read_report_file(path: Path) -> str:
    """The text of a report file (at most 64 MiB).

    Raises:
        AuditError: missing, unreadable, too large or not UTF-8.
    """
    try:
        if path.stat().st_size > MAX_REPORT:
            raise AuditError(f"{path} is larger than 64 MiB")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuditError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AuditError(f"{path} is a directory, not a report file") from None
    except UnicodeDecodeError:
        raise AuditError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise AuditError(f"{path}: {exc.strerror}") from None
