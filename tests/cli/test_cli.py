"""The command line: exit status 0 on success and 2 on a user mistake, clear messages, nothing half-written."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charter import __version__
from charter.cli import app
from tests.conftest import EXAMPLES
from tests.policy.test_load import edit

runner = CliRunner()
EXAMPLE = str(EXAMPLES / "forge-remote.toml")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    assert run("--version") == (0, f"charter {__version__}\n", "")


def test_check_ok() -> None:
    code, out, err = run("check", "--config", EXAMPLE)
    assert (code, out, err) == (0, f"{EXAMPLE}: OK\n", "")


def test_check_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "charter.toml"
    bad.write_text(edit("legal_name =", "legal_nmae =").replace('hosting = "connect"', 'hosting = "conect"'), "utf-8")
    code, out, err = run("check", "-c", str(bad))
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f'{bad}:7: error: vendor.legal_nmae: unknown key; did you mean "legal_name"? (legal_name is required)',
        f"{bad}:44: error: apps[1].hosting: 'conect' is not allowed here; use one of: forge-runs-on-atlassian, "
        'forge-remote, connect, data-center; did you mean "connect"?',
        f"{bad}: 2 errors",
    ]


def test_check_json(tmp_path: Path) -> None:
    bad = tmp_path / "charter.toml"
    bad.write_text(edit("legal_name =", "legal_nmae ="), "utf-8")
    code, out, _ = run("check", "-c", str(bad), "--json")
    assert code == 2
    payload = json.loads(out)
    assert payload["ok"] is False
    assert payload["problems"] == [
        {
            "line": 7,
            "path": "vendor.legal_nmae",
            "severity": "error",
            "rule": "schema",
            "message": 'unknown key; did you mean "legal_name"? (legal_name is required)',
        }
    ]


def test_malformed_toml_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "charter.toml"
    bad.write_text("charter = 1\n[vendor\nname = 'x'\n", "utf-8")
    code, out, err = run("check", "-c", str(bad))
    assert code == 2
    assert "Traceback" not in err + out
    assert (
        err.splitlines()[0]
        == f"{bad}:2: error: malformed TOML: Expected ']' at the end of a table declaration (column 8)"
    )


def test_missing_config_file(tmp_path: Path) -> None:
    code, _, err = run("check", "-c", str(tmp_path / "nope.toml"))
    assert code == 2
    assert err.splitlines()[0] == f"{tmp_path / 'nope.toml'}: error: no such file"


@pytest.mark.parametrize(
    ("fmt", "start"),
    [
        ("md", "# Example Notes Ltd: Data Security & Privacy Statement\n"),
        ("html", "<!doctype html>\n"),
        ("txt", "Example Notes Ltd: Data Security & Privacy Statement\n"),
        ("security.txt", "# Security contact for Example Notes Ltd (RFC 9116).\n"),
        ("marketplace.json", "{\n"),
    ],
)
def test_statement_formats(fmt: str, start: str) -> None:
    code, out, _ = run("statement", "-c", EXAMPLE, "--format", fmt)
    assert code == 0
    assert out.startswith(start)


def test_statement_out_file_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "statement.html"
    code, out, err = run("statement", "-c", EXAMPLE, "-f", "html", "--out", str(target))
    assert code == 0 and out == "" and err == f"wrote {target}\n"
    assert target.read_text("utf-8").endswith("</html>\n")
    assert [p.name for p in tmp_path.iterdir()] == ["statement.html"]


def test_statement_refuses_invalid_charter_and_keeps_the_old_file(tmp_path: Path) -> None:
    bad = tmp_path / "charter.toml"
    bad.write_text(edit("legal_name =", "legal_nmae ="), "utf-8")
    target = tmp_path / "statement.md"
    target.write_text("old statement\n", "utf-8")
    code, _, err = run("statement", "-c", str(bad), "--out", str(target))
    assert code == 2
    assert err.splitlines()[-1] == f"charter: error: {bad} has 1 error; nothing was done"
    assert target.read_text("utf-8") == "old statement\n"


def test_statement_out_into_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "statement.md"
    code, _, err = run("statement", "-c", EXAMPLE, "--out", str(target))
    assert code == 2
    assert err == f"charter: error: --out {target}: directory {target.parent} does not exist\n"


def test_bad_format_is_exit_2() -> None:
    code, _, err = run("statement", "-c", EXAMPLE, "--format", "pdf")
    assert code == 2
    assert "'pdf' is not one of" in err


@pytest.mark.parametrize("hosting", ["forge-remote", "connect", "forge-runs-on-atlassian", "data-center"])
def test_init_writes_a_valid_starter(tmp_path: Path, hosting: str) -> None:
    target = tmp_path / "charter.toml"
    code, out, _ = run("init", "--hosting", hosting, "--out", str(target))
    assert code == 0
    assert out == f"wrote {target} ({hosting}); edit it, then run: charter check --config {target}\n"
    assert f'hosting = "{hosting}"' in target.read_text("utf-8")
    assert run("check", "-c", str(target)) == (0, f"{target}: OK\n", "")


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    target = tmp_path / "charter.toml"
    target.write_text("mine\n", "utf-8")
    code, _, err = run("init", "--out", str(target))
    assert code == 2
    assert err == f"charter: error: {target} already exists; nothing was written (use --force to overwrite it)\n"
    assert target.read_text("utf-8") == "mine\n"
    assert run("init", "--out", str(target), "--force")[0] == 0
    assert target.read_text("utf-8") != "mine\n"


def test_init_unknown_hosting() -> None:
    code, _, err = run("init", "--hosting", "heroku", "--out", "/nonexistent/x.toml")
    assert code == 2
    assert err == (
        "charter: error: --hosting 'heroku' is not a hosting model; use one of: forge-runs-on-atlassian, "
        "forge-remote, connect, data-center\n"
    )


def test_categories_lists_the_taxonomy() -> None:
    code, out, _ = run("categories")
    assert code == 0
    assert any(line.startswith("user.contact.email") and "personal" in line for line in out.splitlines())
    assert any(line.startswith("system.tenant.identifier ") and "personal" not in line for line in out.splitlines())


def test_serve_refuses_an_invalid_charter_with_the_check_messages(tmp_path: Path) -> None:
    bad = tmp_path / "charter.toml"
    bad.write_text(edit("legal_name =", "legal_nmae ="), "utf-8")
    code, _, err = run("serve", "-c", str(bad), "--data-dir", str(tmp_path / "data"))
    assert code == 2
    assert err.splitlines() == [
        f'{bad}:7: error: vendor.legal_nmae: unknown key; did you mean "legal_name"? (legal_name is required)',
        f"charter: error: {bad} has 1 error; nothing was done",
    ]
    assert not (tmp_path / "data").exists()


def test_serve_refuses_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    file = tmp_path / "data"
    file.write_text("x")
    code, _, err = run("serve", "-c", EXAMPLE, "--data-dir", str(file), "--port", str(_free_port()))
    assert code == 2
    assert err == f"charter: error: data directory {file} exists but is not a directory\n"


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run("serve", "-c", EXAMPLE, "--data-dir", str(tmp_path), "--port", str(port))
    assert code == 2
    assert err == f"charter: error: cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port\n"


def test_serve_refuses_a_bad_host(tmp_path: Path) -> None:
    code, _, err = run("serve", "-c", EXAMPLE, "--data-dir", str(tmp_path / "d"), "--host", "bad host")
    assert code == 2
    assert err == "charter: error: --host 'bad host' is not an address this machine can listen on\n"
    assert not (tmp_path / "d").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CHARTER_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "charter", "serve", "-c", EXAMPLE, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/trust", timeout=1) as response:
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert "Example Notes Ltd: Data Security &amp; Privacy Statement" in body
        proc.send_signal(2)  # SIGINT, as Ctrl-C
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert f"serving {EXAMPLE} at http://127.0.0.1:{port}/trust" in out
    assert "Traceback" not in err
    assert (tmp_path / "data" / "charter.db").exists()
    # The access log carries method, path and status; never the client address.
    assert '"path": "/trust"' in err and "127.0.0.1" not in err.replace(f"127.0.0.1:{port}", "")


def test_out_keeps_the_mode_of_an_existing_file_and_writes_through_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "trust.html"
    target.write_text("old", "utf-8")
    target.chmod(0o644)
    link = tmp_path / "current.html"
    link.symlink_to(target)
    assert run("statement", "-c", EXAMPLE, "-f", "html", "--out", str(link))[0] == 0
    assert link.is_symlink()
    assert target.read_text("utf-8").startswith("<!doctype html>")
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    fresh = tmp_path / "fresh.md"
    old = os.umask(0o022)
    try:
        assert run("statement", "-c", EXAMPLE, "--out", str(fresh))[0] == 0
    finally:
        os.umask(old)
    assert oct(fresh.stat().st_mode & 0o777) == "0o644"


def test_serve_with_a_bad_database_url_leaves_nothing_behind(tmp_path: Path) -> None:
    for url, message in (
        ("mysql://x@y/z", "unsupported database 'mysql': use sqlite or postgresql"),
        ("postgresql://u:pw@127.0.0.1:abc/x", "malformed database URL (expected e.g. postgresql://user@host:5432/db)"),
    ):
        data = tmp_path / "new-data-dir"
        code, _, err = run(
            "serve", "-c", EXAMPLE, "--data-dir", str(data), "--database-url", url, "--port", str(_free_port())
        )
        assert code == 2
        assert err == f"charter: error: {message}\n"
        assert not data.exists()
    code, _, err = run(
        "serve",
        "-c",
        EXAMPLE,
        "--data-dir",
        str(tmp_path / "d"),
        "--database-url",
        "postgresql://u:s3cr3tpw@127.0.0.1:1/x?connect_timeout=1&password=other&sslpassword=third",
        "--port",
        str(_free_port()),
    )
    assert code == 2
    assert "s3cr3tpw" not in err and "other" not in err and "third" not in err
    assert "postgresql+psycopg://u:***@127.0.0.1:1/x" in err
