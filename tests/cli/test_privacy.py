"""``charter dsr``, ``charter privacy report``, ``charter contacts`` and ``charter tenants export`` end to end,
and the mistakes they refuse (exit 2, one line, nothing changed)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from charter.clock import FrozenClock, SystemClock
from charter.policy import load_charter
from charter.runtime import open_runtime
from tests.cli.test_cli import EXAMPLE, run
from tests.conftest import NOW, connect_install
from tests.privacy.fake_atlassian import Reply, fake_reporting_api


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    charter = load_charter(Path(EXAMPLE), clock=FrozenClock(NOW))
    with open_runtime(charter, data_dir=data, clock=SystemClock(), environ={}) as rt:
        now = datetime.now(UTC)
        tenant = connect_install(rt.registry, "fake-client-key-cli", now)
        rt.store.put(tenant, "note-author", "fake-acct-cli", {"name": "Fake"}, accounts={"fake-acct-cli": now})
        rt.store.put(tenant, "note", "n-1", {"text": "by fake"}, accounts={"fake-acct-cli": now})
        (tmp_path / "tenant").write_text(tenant)
    return data


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    return run(*args, "--config", EXAMPLE, "--data-dir", str(data_dir))


def test_a_data_subject_request_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    code, out, err = cli(data_dir, "dsr", "open", "account:fake-acct-cli")
    assert code == 0, err
    request_id = out.split(":")[0]
    assert "due " in out
    code, _, err = cli(data_dir, "dsr", "export", request_id, "--staff", "dpo-1", "--out", str(tmp_path / "x.json"))
    assert code == 2 and "verify the requester's identity first" in err and not (tmp_path / "x.json").exists()
    code, _, err = cli(data_dir, "dsr", "verify", request_id, "--staff", "dpo-1", "--method", "logged-in account match")
    assert code == 0, err
    out_file = tmp_path / "export.json"
    code, out, err = cli(data_dir, "dsr", "export", request_id, "--staff", "dpo-1", "--out", str(out_file))
    assert code == 0, err
    package = json.loads(out_file.read_text())
    assert len(package["tenant_records"]) == 2 and stat.S_IMODE(out_file.stat().st_mode) == 0o600
    code, out, err = cli(data_dir, "dsr", "erase", request_id, "--staff", "dpo-1")
    assert code == 0, err
    assert json.loads(out)["records"] == 2
    code, out, _ = cli(data_dir, "dsr", "status")
    assert code == 0 and request_id in out and "done" in out


def test_dsr_status_exits_1_when_a_request_is_overdue(data_dir: Path) -> None:
    late = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    assert cli(data_dir, "dsr", "open", "late.fake@example.com", "--received", late)[0] == 0
    code, out, _ = cli(data_dir, "dsr", "status")
    assert code == 1 and "overdue by" in out and out.strip().endswith("1 overdue")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dsr", "open", "nobody"], "account:<Atlassian account id>"),
        (["dsr", "open", "a@example.com", "--received", "yesterday"], "not an ISO 8601 time"),
        (["dsr", "open", "a@example.com", "--kind", "forget"], "kind 'forget'"),
        (
            ["dsr", "verify", "DSR-AAAAAAAAAA", "--staff", "s1", "--method", "passport check"],
            "no request DSR-AAAAAAAAAA",
        ),
        (["dsr", "erase", "DSR-1", "--staff", "s1"], "not a request id"),
        (["contacts", "import", "/nonexistent.csv"], "declares no [marketplace_contacts]"),
        (
            ["tenants", "export", "nope", "--out", "/tmp/x.json", "--staff", "s1", "--reason", "admin request 42"],
            "no tenant",
        ),
        (["tenants", "export", "nope", "--out", "/tmp/x.json", "--staff", "s1", "--reason", "x"], "reason"),
    ],
)
def test_mistakes_exit_2(data_dir: Path, args: list[str], message: str) -> None:
    code, out, err = cli(data_dir, *args)
    assert code == 2 and message in err and "Traceback" not in out + err


def test_tenants_export_is_audited(data_dir: Path, tmp_path: Path) -> None:
    tenant = (tmp_path / "tenant").read_text()
    out_file = tmp_path / "tenant.json"
    code, out, err = cli(
        data_dir,
        "tenants",
        "export",
        tenant,
        "--out",
        str(out_file),
        "--staff",
        "s1",
        "--reason",
        "admin asked, ticket 7",
    )
    assert code == 0, err
    assert out.strip() == f"{tenant}: 2 record(s) exported to {out_file}"
    assert {r["kind"] for r in json.loads(out_file.read_text())["records"]} == {"note", "note-author"}


def test_privacy_report_against_the_fake_api(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli(data_dir, "privacy", "report", "--dry-run")
    assert code == 0 and out.startswith("1 account(s) due for reporting (cycle 7 days)")
    code, _, err = cli(data_dir, "privacy", "report")
    assert code == 2 and "CHARTER_REPORT_ACCOUNTS_TOKEN is not set" in err
    with fake_reporting_api(SystemClock()) as api:
        monkeypatch.setenv("CHARTER_REPORT_ACCOUNTS_URL", api.url)
        monkeypatch.setenv("CHARTER_REPORT_ACCOUNTS_TOKEN", "fake-token")
        api.script = [Reply.accounts(("fake-acct-cli", "closed"))]
        code, out, err = cli(data_dir, "privacy", "report")
        assert code == 0, err
        assert (
            out.strip() == "1 account(s) reported in 1 request(s); 1 closed (erased), 0 updated (cached copies dropped)"
        )
        assert api.seen[0].authorization == "Bearer fake-token"
        code, out, _ = cli(data_dir, "privacy", "report", "--dry-run")
        assert out.startswith("0 account(s) due")
        monkeypatch.setenv("CHARTER_REPORT_ACCOUNTS_URL", "http://api.example.com/x")
        code, _, err = cli(data_dir, "privacy", "report")
        assert code == 2 and "must be a plain https:// URL" in err


def test_contacts_are_refused_when_the_charter_does_not_declare_them(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("Technical contact email,Company\nada.fake@example.com,Fake Co\n")
    code, _, err = cli(data_dir, "contacts", "import", str(tmp_path / "l.csv"))
    assert code == 2 and "declares no [marketplace_contacts]" in err
    assert cli(data_dir, "contacts", "count")[1].strip() == "0 contact(s)"
    code, _, err = cli(data_dir, "contacts", "delete", "not an address")
    assert code == 2 and "not an e-mail address" in err


def test_a_failed_export_write_changes_nothing(data_dir: Path, tmp_path: Path) -> None:
    _, out, _ = cli(data_dir, "dsr", "open", "account:fake-acct-cli", "--kind", "access")
    request_id = out.split(":")[0]
    cli(data_dir, "dsr", "verify", request_id, "--staff", "dpo-1", "--method", "logged-in account match")
    code, _, err = cli(data_dir, "dsr", "export", request_id, "--staff", "dpo-1", "--out", str(tmp_path))
    assert code == 2 and "is a directory" in err
    code, _, err = cli(
        data_dir, "dsr", "export", request_id, "--staff", "dpo-1", "--out", str(tmp_path / "no" / "x.json")
    )
    assert code == 2 and "cannot write" in err
    _, out, _ = cli(data_dir, "dsr", "status")
    assert "verified" in out and "done" not in out
