"""``charter backup run | list | verify | restore | prune | drill`` on the example app's data directory."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from charter.clock import FrozenClock
from charter.policy import load_charter
from charter.runtime import open_runtime
from tests.cli.test_cli import EXAMPLE, run
from tests.conftest import NOW, ROOT, connect_install


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The example app's data directory with two tenants and their notes (real time, as the CLI uses)."""
    data = tmp_path / "data"
    charter = load_charter(Path(EXAMPLE), clock=FrozenClock(NOW))
    with open_runtime(charter, data_dir=data, clock=FrozenClock(datetime.now(UTC)), environ={}) as rt:
        for n in range(2):
            tenant = connect_install(rt.registry, f"fake-client-key-{n:04d}", datetime.now(UTC))
            for i in range(30):
                rt.store.put(tenant, "note", f"FAKE-{i}", {"text": f"fake note {i} of tenant {n}"})
    return data


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    return run(*args, "--config", EXAMPLE, "--data-dir", str(data_dir))


def test_run_list_verify_restore_and_drill_on_the_local_destination(data_dir: Path, tmp_path: Path) -> None:
    code, out, err = cli(data_dir, "backup", "run", "--destination", "local")
    assert code == 0, err
    snapshot = out.split()[1].rstrip(":")
    assert out.startswith(f"snapshot {snapshot}: ") and out.rstrip().endswith(", verified")
    assert (data_dir / "backups" / f"{snapshot}.artifact").is_file()

    code, out, _ = cli(data_dir, "backup", "list")
    assert code == 0 and out.startswith(snapshot) and "verified" in out and "(20" in out  # UTC and local time
    code, out, _ = cli(data_dir, "backup", "list", "--json")
    [line] = [json.loads(x) for x in out.splitlines()]
    assert line["id"] == snapshot and line["verified_at"] and line["rows"] > 60

    code, out, _ = cli(data_dir, "backup", "verify", "latest")
    assert (code, out.startswith(f"snapshot {snapshot} in 'local' verified")) == (0, True)

    target = tmp_path / "restored.db"
    code, out, err = cli(data_dir, "backup", "restore", snapshot, "--to", str(target))
    assert code == 0, err
    assert "2 tenant(s) readable, 0 purged since" in out
    assert sqlite3.connect(target).execute("SELECT count(*) FROM records").fetchone() == (60,)

    code, out, err = cli(data_dir, "backup", "drill", "--json")
    assert code == 0, err
    drill = json.loads(out)
    assert drill["ok"] is True and drill["rto_seconds"] == 8 * 3600 and drill["rpo_seconds"] == 24 * 3600
    assert 0 <= drill["restore_seconds"] < 60 and drill["tenants_readable"] == 2
    code, out, _ = cli(data_dir, "audit", "list", "--kind", "backup.drill")
    assert json.loads(out.splitlines()[-1])["payload"]["snapshot"] == snapshot


def test_prune_dry_run_prints_each_kept_snapshot_with_its_reasons(data_dir: Path) -> None:
    for _ in range(2):
        assert cli(data_dir, "backup", "run", "--destination", "local")[0] == 0
    snapshots = [json.loads(x)["id"] for x in cli(data_dir, "backup", "list", "--json")[1].splitlines()]
    code, out, _ = cli(data_dir, "backup", "prune", "--dry-run")
    assert code == 0
    lines = out.splitlines()
    today = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert lines[0] == f"keep    {snapshots[0]}  daily {today:%Y-%m-%d}, monthly {today:%Y-%m}, newest verified"
    assert lines[1] == f"would remove {snapshots[1]}"
    assert lines[-1] == "1 kept, 1 would be removed (--dry-run: nothing deleted) in 'local'"
    assert len(cli(data_dir, "backup", "list", "--json")[1].splitlines()) == 2
    assert cli(data_dir, "backup", "prune")[0] == 0
    assert len(cli(data_dir, "backup", "list", "--json")[1].splitlines()) == 1


def test_mistakes_get_a_clear_message_and_exit_2(data_dir: Path, tmp_path: Path) -> None:
    code, _, err = cli(data_dir, "backup", "verify", "20991231T000000Z-000000")
    assert code == 2 and "no snapshot '20991231T000000Z-000000' in destination 'local'" in err
    code, _, err = cli(data_dir, "backup", "list", "--destination", "nowhere")
    assert code == 2 and "no backup destination 'nowhere' in the charter (it has: local, offsite)" in err
    code, _, err = cli(data_dir, "backup", "drill")
    assert (code, err) == (2, "charter: error: destination 'local' holds no complete snapshot\n")
    assert cli(data_dir, "backup", "run", "--destination", "local")[0] == 0
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    code, _, err = cli(data_dir, "backup", "restore", "latest", "--to", str(existing))
    assert code == 2 and "exists: restore to a new path, or pass --replace" in err
    assert existing.read_bytes() == b"keep me"
    assert "Traceback" not in err


def test_a_damaged_artifact_fails_verification_with_exit_1(data_dir: Path) -> None:
    assert cli(data_dir, "backup", "run", "--destination", "local")[0] == 0
    [artifact] = [p for p in (data_dir / "backups").glob("*.artifact") if not p.name.startswith("keys-")]
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x40
    artifact.write_bytes(bytes(data))
    code, _, err = cli(data_dir, "backup", "verify")
    assert code == 1 and "FAILED verification" in err and "does not decrypt" in err


def test_the_charter_without_backups_is_an_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "charter.toml"
    text = Path(EXAMPLE).read_text()
    start = text.index("[backups]")
    end = text.index("[encryption.at_rest]")
    config.write_text(text[:start] + text[end:])
    (tmp_path / "d").mkdir()
    code, _, err = run("backup", "list", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert (code, err) == (2, "charter: error: the charter declares no backups: add a [backups] section to it\n")


def test_disabled_backups_still_list_and_restore_but_do_not_run(data_dir: Path, tmp_path: Path) -> None:
    assert cli(data_dir, "backup", "run", "-d", "local")[0] == 0
    config = tmp_path / "charter.toml"
    config.write_text(Path(EXAMPLE).read_text().replace("[backups]\n", "[backups]\nenabled = false\n", 1))
    args = ("--config", str(config), "--data-dir", str(data_dir))
    assert run("backup", "list", *args)[0] == 0
    assert run("backup", "verify", *args)[0] == 0
    code, _, err = run("backup", "run", "-d", "local", *args)
    assert code == 2 and "backups are disabled in the charter (backups.enabled = false)" in err


@pytest.mark.slow
def test_a_killed_backup_run_never_leaves_a_listed_partial_snapshot(data_dir: Path) -> None:
    """SIGKILL ``charter backup run`` at growing instants: the listed snapshots are always complete and verify."""
    charter = load_charter(Path(EXAMPLE), clock=FrozenClock(NOW))
    with open_runtime(charter, data_dir=data_dir, clock=FrozenClock(datetime.now(UTC)), environ={}) as rt:
        tenant = rt.registry.all()[0].id
        for i in range(3000):  # a database big enough that a run takes a while
            rt.store.put(tenant, "note", f"BULK-{i}", {"text": os.urandom(600).hex()})
    command = [sys.executable, "-m", "charter", "backup", "run", "--config", EXAMPLE, "--data-dir", str(data_dir)]
    command += ["--destination", "local"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    kills = 0
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.2):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        code, out, err = cli(data_dir, "backup", "list", "--json")
        assert code == 0, err
        for line in out.splitlines():
            snapshot = json.loads(line)
            assert snapshot["problem"] is None
            assert cli(data_dir, "backup", "verify", snapshot["id"])[0] == 0
    assert kills >= 2
    assert cli(data_dir, "backup", "run", "--destination", "local")[0] == 0  # the lock was released by the kill
    assert not list((data_dir / ".backup-tmp").glob(".snapshot-*"))  # copies of killed runs are cleaned up


def test_a_destination_that_fails_gives_exit_1_and_still_names_the_snapshot_written(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # the example's offsite S3: unreachable
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-fake-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-fake-secret")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, out, err = cli(data_dir, "backup", "run")
    assert code == 1
    assert out.startswith("snapshot ") and " in local: " in out and out.rstrip().endswith(", verified")
    assert err.startswith("charter: error: backup destination 'offsite': cannot reach the S3 endpoint")
    code, out, _ = cli(data_dir, "backup", "list", "--json")
    assert code == 0 and len(out.splitlines()) == 1


def test_a_missing_data_directory_is_a_mistake_not_a_new_installation(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    code, out, err = run("backup", "list", "--config", EXAMPLE, "--data-dir", str(missing))
    assert (code, out) == (2, "")
    assert f"data directory {missing} does not exist" in err
    assert not missing.exists() and not (tmp_path / "no").exists()


def test_replacing_the_live_database_is_refused_while_serve_runs(data_dir: Path) -> None:
    from charter.clock import SystemClock

    assert cli(data_dir, "backup", "run", "-d", "local")[0] == 0
    charter = load_charter(Path(EXAMPLE), clock=FrozenClock(NOW))
    live = data_dir / "charter.db"
    before = live.read_bytes()
    with open_runtime(charter, data_dir=data_dir, clock=SystemClock(), environ={}) as serving:
        serving.hold_serving_lock()  # what charter serve does
        code, _, err = cli(data_dir, "backup", "restore", "latest", "--to", str(live), "--replace")
        assert code == 2 and "charter serve is running on" in err and "stop it" in err
    assert live.read_bytes() == before
    code, out, _ = cli(data_dir, "backup", "restore", "latest", "--to", str(live), "--replace")
    assert code == 0 and "moved to" in out


def test_recover_on_a_new_host_with_only_the_kek_and_the_backups(data_dir: Path, tmp_path: Path) -> None:
    import shutil

    assert cli(data_dir, "backup", "run", "-d", "local")[0] == 0
    backups_copy = tmp_path / "backups-disk"
    shutil.copytree(data_dir / "backups", backups_copy)
    config = tmp_path / "charter.toml"
    config.write_text(Path(EXAMPLE).read_text().replace('path = "backups"', f'path = "{backups_copy}"'))
    new = tmp_path / "new-host"
    (new / "keys").mkdir(parents=True)
    shutil.copy(data_dir / "keys" / "kek.key", new / "keys" / "kek.key")
    code, out, err = run("backup", "recover", "--config", str(config), "--data-dir", str(new), "-d", "local")
    assert code == 0, err
    assert "recovered snapshot " in out and "2 tenant(s) readable; 0 purged" in out and "audit log intact" in out
    code, out, err = run("records", "get", *_first_note(new, config), "--staff", "staff-042", "--reason", "case SUP-1")
    assert code == 0, err
    assert json.loads(out)["text"].startswith("fake note ")
    code, _, err = run("backup", "recover", "--config", str(config), "--data-dir", str(new), "-d", "local")
    assert code == 2 and "charter.db exists" in err  # never over a live installation


def _first_note(data_dir: Path, config: Path) -> tuple[str, str, str, str, str, str, str]:
    code, out, _ = run("tenants", "list", "--config", str(config), "--data-dir", str(data_dir))
    assert code == 0
    tenant = json.loads(out.splitlines()[0])["tenant"]
    return tenant, "note", "FAKE-1", "--config", str(config), "--data-dir", str(data_dir)


def test_without_the_kek_recover_says_what_is_missing(data_dir: Path, tmp_path: Path) -> None:
    assert cli(data_dir, "backup", "run", "-d", "local")[0] == 0
    new = tmp_path / "new-host"
    new.mkdir()
    code, _, err = run("backup", "recover", "--config", EXAMPLE, "--data-dir", str(new))
    assert code == 2 and "kek.key is missing" in err and "Recovery needs the key-encryption key" in err
    assert not (new / "charter.db").exists() and not (new / "keys.db").exists()
