"""``charter verify``: each promise with its evidence, JSON for machines, exit 1 when a promise is broken; the
outcomes are kept for the trust page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charter.clock import FrozenClock, SystemClock
from charter.evidence import latest
from charter.policy import load_charter
from charter.runtime import open_runtime
from tests.cli.test_cli import EXAMPLE, run
from tests.conftest import NOW


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    with open_runtime(
        load_charter(Path(EXAMPLE), clock=FrozenClock(NOW)), data_dir=data, clock=SystemClock(), environ={}
    ):
        pass
    return data


def test_verify_prints_each_promise_and_exits_1_when_one_is_broken(data_dir: Path) -> None:
    code, out, _ = run("verify", "--config", EXAMPLE, "--data-dir", str(data_dir))
    assert code == 1  # a fresh installation has no backup and no dependency audit yet
    assert "FAIL  backups.rpo" in out and "destination 'local' holds no verified backup" in out
    assert "FAIL  security.dependencies" in out and "PASS  audit.chain" in out
    assert "----  access.staff" in out and "cannot observe" in out
    code, out, _ = run("verify", "--json", "--config", EXAMPLE, "--data-dir", str(data_dir))
    body = json.loads(out)
    assert code == 1 and body["ok"] is False
    statuses = {c["check"]: c["status"] for c in body["checks"]}
    assert statuses["backups.rpo"] == "fail" and statuses["retention.purge"] == "pass"
    assert "backups.rpo" in body["sections"]["backups"]
    with open_runtime(
        load_charter(Path(EXAMPLE), clock=FrozenClock(NOW)), data_dir=data_dir, clock=SystemClock(), environ={}
    ) as rt:
        assert latest(rt.database)["backups.rpo"].status == "fail"  # kept for the trust page


def test_verify_needs_an_existing_data_dir(tmp_path: Path) -> None:
    code, _, err = run("verify", "--config", EXAMPLE, "--data-dir", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err


def test_an_expired_security_txt_is_a_broken_promise_not_a_refusal_to_run(data_dir: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    expired = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = Path(EXAMPLE).read_text().replace("expires = 2027-09-30T00:00:00Z", f"expires = {expired}")
    assert expired in text
    copy = tmp_path / "expired.toml"
    copy.write_text(text)
    code, _, err = run("check", "--config", str(copy))
    assert code == 2 and "has passed" in err  # the gate in CI still fails
    code, out, err = run("verify", "--config", str(copy), "--data-dir", str(data_dir))
    assert code == 1 and "FAIL  security.txt" in out and "security.txt expired (" in out
    assert "warning: security.security_txt.expires" in err and "running anyway" in err
