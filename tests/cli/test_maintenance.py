"""``charter purge``, ``keys``, ``audit``, ``tenants`` and ``records`` on a data directory (SQLite)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from charter.clock import FrozenClock
from charter.policy import load_charter
from charter.runtime import open_runtime
from charter.tenants import EventKind
from tests.cli.test_cli import EXAMPLE, run
from tests.conftest import CONNECT_APP, NOW, connect_install

APP = CONNECT_APP


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Two tenants: one uninstalled 40 days ago (due), one 10 days ago (not due); real time, as the CLI uses."""
    now = datetime.now(UTC)
    data = tmp_path / "data"
    charter = load_charter(Path(EXAMPLE), clock=FrozenClock(NOW))
    with open_runtime(charter, data_dir=data, clock=FrozenClock(now), environ={}) as rt:
        for client_key, days in (("fake-client-key-0040", 40), ("fake-client-key-0010", 10)):
            tenant = connect_install(rt.registry, client_key, now - timedelta(days=days + 1))
            rt.store.put(tenant, "note", "FAKE-1", {"text": f"note of {client_key}"})
            rt.registry.connect_event(APP, client_key, EventKind.UNINSTALLED, at=now - timedelta(days=days))
    return data


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    return run(*args, "--config", EXAMPLE, "--data-dir", str(data_dir))


def tenants(data_dir: Path) -> dict[str, dict[str, object]]:
    code, out, _ = cli(data_dir, "tenants", "list")
    assert code == 0
    return {line["tenant"]: line for line in map(json.loads, out.splitlines())}


def test_purge_dry_run_lists_what_is_due_and_why_and_deletes_nothing(data_dir: Path) -> None:
    before = tenants(data_dir)
    assert len(before) == 2
    code, out, _ = cli(data_dir, "purge", "--dry-run")
    assert code == 0
    [line] = [x for x in out.splitlines() if " due " in x]
    due = min(before, key=lambda t: str(before[t]["purge_due"]))  # the tenant uninstalled 40 days ago
    assert line.startswith(f"{due}  ")
    assert "connect com.example.issue-notes.connect  uninstalled since" in line
    assert line.endswith('by retention.tenant_data_after_uninstall = "30d"')
    assert "1 tenant(s) due; nothing was deleted (--dry-run)." in out
    assert tenants(data_dir) == before


def test_purge_purges_and_the_audit_log_holds_the_receipt(data_dir: Path) -> None:
    before = tenants(data_dir)
    code, out, _ = cli(data_dir, "purge")
    assert code == 0
    purged = out.splitlines()[-1]
    tenant = purged.split()[1].rstrip(":")
    assert purged == f"purged {tenant}: audit entry {purged.split()[4].rstrip(',')}, keys destroyed: {tenant}/v1"
    assert set(tenants(data_dir)) == set(before) - {tenant}
    assert cli(data_dir, "purge")[1].strip() == "Nothing is due."
    code, out, _ = cli(data_dir, "audit", "list", "--kind", "tenant.purged")
    [entry] = [json.loads(x) for x in out.splitlines()]
    assert entry["tenant"] == tenant and entry["payload"]["deleted"]["records"] == {"note": 1}
    assert "fake-client-key" not in out and "s1-fake-secret" not in out


def test_audit_verify_finds_an_edited_entry(data_dir: Path) -> None:
    code, out, _ = cli(data_dir, "audit", "verify")
    assert code == 0 and out.startswith("audit log intact: ")
    with sqlite3.connect(data_dir / "charter.db") as conn:
        conn.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1")
    code, out, err = cli(data_dir, "audit", "verify")
    assert code == 1
    assert "entry 1" in err and "NOT intact" in err


def test_keys_status_and_rotation(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import charter.cli._maintenance as maintenance

    clock = FrozenClock(datetime.now(UTC))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    monkeypatch.setattr(maintenance, "SystemClock", lambda: clock)
    monkeypatch.setattr(maintenance.time, "sleep", sleep)
    code, out, _ = cli(data_dir, "keys", "status")
    assert code == 0
    first = out.splitlines()[0].removeprefix("current key-encryption key: ")
    assert f"  {first}: 3 data key(s)" in out  # two tenants and the audit key
    assert cli(data_dir, "keys", "rotate")[0] == 2
    code, out, _ = cli(data_dir, "keys", "rotate", "--kek", "--data-keys", "--re-encrypt", "--retire")
    assert code == 0, out
    assert "3 data key(s) re-wrapped" in out and "new data key version for 2 tenant(s)" in out
    # two notes and each tenant's sealed secret and base URL; v1 retired after waiting out the cache TTL
    assert "re-encrypted 6 value(s); retired 2 old data key version(s)\n" in out
    assert waits == [60.0]
    code, out, _ = cli(data_dir, "keys", "status")
    current = out.splitlines()[0].removeprefix("current key-encryption key: ")
    assert current != first and f"  {current}: 3 data key(s)" in out and first not in out
    tenant = next(iter(tenants(data_dir)))
    code, out, _ = cli(
        data_dir, "records", "list", tenant, "note", "--staff", "staff-042", "--reason", "Support case SUP-1 check"
    )
    assert code == 0 and json.loads(out)["value"]["text"].startswith("note of fake-client-key-")


def test_records_need_a_reason_and_are_audited(data_dir: Path) -> None:
    tenant = next(iter(tenants(data_dir)))
    args = ("records", "get", tenant, "note", "FAKE-1", "--staff", "staff-042")
    code, _, err = cli(data_dir, *args)
    assert code == 2 and "--reason" in err
    code, _, err = cli(data_dir, *args, "--reason", "because")
    assert code == 2 and "give the reason" in err and "Traceback" not in err
    code, out, _ = cli(data_dir, *args, "--reason", "Support case SUP-1234")
    assert code == 0 and json.loads(out)["text"].startswith("note of ")
    code, _, err = cli(
        data_dir,
        "records",
        "get",
        tenant,
        "note",
        "FAKE-2",
        "--staff",
        "staff-042",
        "--reason",
        "Support case SUP-1234",
    )
    assert code == 1 and "no note record 'FAKE-2'" in err
    code, _, err = cli(
        data_dir, "records", "get", tenant, "email", "K", "--staff", "staff-042", "--reason", "Support case SUP-1234"
    )
    assert code == 2 and "not declared" in err
    code, out, _ = cli(data_dir, "audit", "list", "--kind", "staff.access")
    entries = [json.loads(x) for x in out.splitlines()]
    assert [(e["actor"], e["payload"]["key"]) for e in entries] == [("staff-042", "FAKE-1"), ("staff-042", "FAKE-2")]


def test_a_data_dir_that_is_a_file_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "file"
    bad.write_text("not a directory")
    for args in (("purge", "--dry-run"), ("keys", "status"), ("audit", "verify"), ("tenants", "list")):
        code, _, err = cli(bad, *args)
        assert code == 2 and err.startswith("charter: error: ") and "Traceback" not in err
