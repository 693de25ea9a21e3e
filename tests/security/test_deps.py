"""The dependency audit: pip-audit and OSV-Scanner reports become tracked items with deadlines, and a run that
cannot show that anything was checked is an error, never "no vulnerabilities"."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from charter.security import AuditError, audit_dependencies, parse_report, read_report_file, run_pip_audit
from tests.conftest import NOW

VECTORS = Path(__file__).parent / "vectors"


def test_a_pip_audit_report_opens_one_unscored_item_per_finding(runtime: Any) -> None:
    text = (VECTORS / "pip-audit.json").read_text()
    result = audit_dependencies(runtime.security, text, actor="cli")
    assert result.checked == 3
    ((finding, report),) = result.opened
    assert (finding.package, finding.vuln_id, finding.fix_versions) == (
        "fakepkg-alpha",
        "GHSA-fake-0001-aaaa",
        ("1.0.1",),
    )
    assert report.kind == "dependency" and report.state == "acknowledged" and report.intake == "deps-audit"
    # pip-audit gives no severity: the Critical deadline (2 weeks in this charter) until someone triages it
    assert report.score is None and report.fix_due_at == NOW + timedelta(weeks=2)
    details = runtime.security.read(report.id, staff_id="staff-01").details
    assert "CVE-2099-0001" in details and "Fixed in: 1.0.1" in details
    again = audit_dependencies(runtime.security, text, actor="cli")
    assert again.opened == [] and [r.id for _, r in again.tracked] == [report.id]
    assert len(runtime.security.reports()) == 1


def test_an_osv_scanner_report_is_scored_from_its_vector(runtime: Any) -> None:
    result = audit_dependencies(runtime.security, (VECTORS / "osv-scanner.json").read_text(), actor="cli")
    scored, unscored = (report for _, report in result.opened)
    assert scored.state == "triaged" and scored.severity == "high" and scored.score == 7.5
    assert scored.fix_due_at == NOW + timedelta(weeks=4)
    assert result.opened[0][0].fix_versions == ("3.1.2",)
    assert unscored.score is None and unscored.fix_due_at == NOW + timedelta(weeks=2)  # malformed vector: unscored


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"dependencies": []}', "lists no packages: nothing was checked"),
        ("[]", "lists no packages: nothing was checked"),
        ('{"results": []}', "cannot show that anything was checked"),
        (
            '{"dependencies": [{"name": "a", "version": "1", "vulns": []}, {"name": "b", "skip_reason": "offline"}]}',
            "could not be audited \\(b\\)",
        ),
        ('{"dependencies": "nope"}', "no 'dependencies' list"),
        ('{"dependencies": [{"version": "1"}]}', "without a name"),
        ('{"results": [{"packages": [{"package": {}}]}]}', "package without a name"),
    ],
)
def test_reports_that_prove_nothing_are_errors(runtime: Any, text: str, message: str) -> None:
    with pytest.raises(AuditError, match=message):
        audit_dependencies(runtime.security, text, actor="cli")
    assert runtime.security.reports() == []


def test_a_clean_report_checks_every_package(runtime: Any) -> None:
    clean = json.dumps({"dependencies": [{"name": "fakepkg", "version": "1.0", "vulns": []}]})
    assert parse_report(clean) == (1, [])


def test_report_files_are_checked(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="no such file"):
        read_report_file(tmp_path / "missing.json")
    with pytest.raises(AuditError, match="is a directory"):
        read_report_file(tmp_path)
    (tmp_path / "latin1.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(AuditError, match="not UTF-8"):
        read_report_file(tmp_path / "latin1.json")


def _fake_run(stdout: str, stderr: str = "", code: int = 0) -> Any:
    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert command[1:4] == ["-m", "pip_audit", "--strict"]  # never without --strict
        return subprocess.CompletedProcess(command, code, stdout, stderr)

    return run


def test_pip_audit_runs_strict_and_its_failures_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "run", _fake_run('{"dependencies": []}', code=1))
    assert run_pip_audit() == '{"dependencies": []}'
    monkeypatch.setattr(subprocess, "run", _fake_run("", "ERROR:pip_audit._cli:Connection refused: pypi.org", 1))
    with pytest.raises(
        AuditError, match=r"could not check the dependencies \(is PyPI reachable\? .*Connection refused"
    ):
        run_pip_audit()
    monkeypatch.setattr(subprocess, "run", _fake_run("", "/x/python: No module named pip_audit", 1))
    with pytest.raises(AuditError, match="pip-audit is not installed"):
        run_pip_audit()

    def timeout(command: list[str], **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(command, 1)

    monkeypatch.setattr(subprocess, "run", timeout)
    with pytest.raises(AuditError, match="did not finish"):
        run_pip_audit(timeout=1)


def test_pip_audit_is_installed() -> None:
    done = subprocess.run(
        [__import__("sys").executable, "-m", "pip_audit", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("pip-audit")
