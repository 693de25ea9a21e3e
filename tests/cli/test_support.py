"""``charter support``: a case from intake to deletion on the command line, and the mistakes it refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from charter.clock import FrozenClock
from charter.policy import load_charter
from charter.runtime import open_runtime
from tests.cli.test_cli import EXAMPLE, run
from tests.conftest import NOW, connect_install


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    charter = load_charter(Path(EXAMPLE), clock=FrozenClock(NOW))
    with open_runtime(charter, data_dir=data, clock=FrozenClock(datetime.now(UTC)), environ={}) as rt:
        (tmp_path / "tenant").write_text(connect_install(rt.registry, "fake-client-key-0001", datetime.now(UTC)))
    return data


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    return run(*args, "--config", EXAMPLE, "--data-dir", str(data_dir))


def test_a_case_from_intake_to_deletion(data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "atlassian-jira.log"
    log.write_text(
        "mail to erin.fake@example.com from 203.0.113.7\nAuthorization: Bearer FAKE-TOKEN-00001234\n"
        "GET https://acme-fake.atlassian.net/rest\n"
    )
    blob = tmp_path / "core.dump"
    blob.write_bytes(b"\x00\x01binary")

    tenant = (tmp_path / "tenant").read_text()
    code, out, err = cli(data_dir, "support", "open", "--tenant", tenant, "--subject", "Error 500")
    assert code == 0, err
    case_id = out.strip()
    assert case_id.startswith("SC-")

    code, out, err = cli(
        data_dir, "support", "attach", case_id, str(log), str(blob), "--host", "acme-fake.atlassian.net"
    )
    assert code == 1
    attachment_id = out.split()[0]
    assert out.strip().endswith("redacted: email 1, hostname 1, ip 1, token 1")
    assert err.startswith("charter: refused core.dump: core.dump cannot be scanned (binary content")

    assert cli(data_dir, "support", "message", case_id, "It fails since Monday", "--from", "customer")[0] == 0

    code, out, _ = cli(data_dir, "support", "show", case_id, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["status"] == "open" and [a["id"] for a in shown["attachments"]] == [attachment_id]
    assert shown["messages"] == 1 and "communications" not in shown

    code, _, err = cli(data_dir, "support", "show", case_id, "--messages")
    assert code == 2 and "staff id" in err
    code, out, _ = cli(
        data_dir, "support", "show", case_id, "--messages", "--staff", "staff-07", "--reason", "answer case " + case_id
    )
    assert code == 0 and "subject: Error 500" in out and "customer: It fails since Monday" in out

    target = tmp_path / "read.log"
    code, _, err = cli(
        data_dir,
        "support",
        "read",
        case_id,
        attachment_id,
        "--staff",
        "staff-07",
        "--reason",
        "x",
        "--out",
        str(target),
    )
    assert code == 2 and "reason" in err and not target.exists()
    code, out, err = cli(
        data_dir,
        "support",
        "read",
        case_id,
        attachment_id,
        "--staff",
        "staff-07",
        "--reason",
        "reproduce " + case_id,
        "--out",
        str(target),
    )
    assert code == 0, err
    assert target.read_text() == (
        "mail to [REDACTED:email] from [REDACTED:ip]\nAuthorization: Bearer [REDACTED:token]\n"
        "GET https://[REDACTED:hostname]/rest\n"
    )
    code, _, err = cli(
        data_dir,
        "support",
        "read",
        case_id,
        attachment_id,
        "--staff",
        "staff-07",
        "--reason",
        "reproduce " + case_id,
        "--out",
        str(target),
    )
    assert code == 2 and "exists" in err

    code, out, err = cli(data_dir, "support", "close", case_id)
    assert code == 0, err
    assert f"deleted the attachments of {case_id} (attachments 1, blobs 1)" in out
    assert f"keys destroyed: charter:support:{case_id}:{attachment_id}/v1" in out
    code, out, _ = cli(data_dir, "support", "list", "--status", "closed")
    assert code == 0 and case_id in out and "0 attachment(s)  1 message(s)" in out

    assert cli(data_dir, "support", "hold", case_id, "--staff", "legal-01", "--reason", "litigation hold LH-1")[0] == 0
    code, _, err = cli(data_dir, "support", "delete", case_id)
    assert code == 1 and "legal hold" in err
    code, _, _ = cli(
        data_dir, "support", "hold", case_id, "--release", "--staff", "legal-01", "--reason", "hold LH-1 lifted"
    )
    assert code == 0
    code, out, err = cli(data_dir, "support", "delete", case_id)
    assert code == 0 and f"deleted the case of {case_id} (attachments 0, blobs 0, messages 1)" in out
    code, _, err = cli(data_dir, "support", "delete", case_id)
    assert code == 2 and "already deleted" in err


def test_mistakes_exit_2_and_name_the_problem(data_dir: Path, tmp_path: Path) -> None:
    code, _, err = cli(data_dir, "support", "open", "--subject", "x")
    assert code == 2 and "--tenant" in err
    code, _, err = cli(data_dir, "support", "attach", "SC-AAAAAAAAAA", str(tmp_path / "missing.log"))
    assert code == 2 and "not a file" in err
    (tmp_path / "a.log").write_text("x\n")
    code, _, err = cli(data_dir, "support", "attach", "SC-AAAAAAAAAA", str(tmp_path / "a.log"))
    assert code == 2 and "no support case 'SC-AAAAAAAAAA'" in err
    code, _, err = cli(data_dir, "support", "list", "--status", "gone")
    assert code == 2 and "--status" in err
    assert cli(data_dir, "support", "expire") == (0, "Nothing is due.\n", "")
