"""``charter redact`` on files: outputs, report, withheld items and mistakes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run


def test_redact_writes_copies_and_a_report_and_exits_1_when_something_was_withheld(tmp_path: Path) -> None:
    log = tmp_path / "in" / "app.log"
    log.parent.mkdir()
    log.write_text("login for user jdoe01 from 203.0.113.9\n")
    blob = tmp_path / "in" / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02")
    out, report = tmp_path / "out", tmp_path / "report.json"
    code, stdout, stderr = run("redact", str(log), str(blob), "--out", str(out), "--report", str(report))
    assert code == 1
    assert stdout == f"1 of 2 file(s) redacted into {out}, 1 withheld: ip 1, username 1\n"
    assert stderr == "withheld blob.bin: binary content: not scanned, withheld\n"
    assert (out / "app.log").read_text() == "login for user [REDACTED:username] from [REDACTED:ip]\n"
    assert not (out / "blob.bin").exists()
    assert json.loads(report.read_text())["withheld"] == [
        {"item": "blob.bin", "reason": "binary content: not scanned, withheld"}
    ]
    assert log.read_text() == "login for user jdoe01 from 203.0.113.9\n"  # the input is untouched


def test_pseudonyms_and_mistakes(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("for user jdoe01 and for user jdoe01\n")
    code, _, _ = run("redact", str(log), "--out", str(tmp_path / "o"), "--pseudonyms")
    assert code == 0
    first, second = (tmp_path / "o" / "app.log").read_text().split(" and ")
    assert first.removeprefix("for user ") == second.strip().removeprefix("for user ")
    assert "jdoe01" not in first
    assert run("redact", str(tmp_path / "missing.log"), "--out", str(tmp_path / "o"))[0] == 2
    code, _, err = run("redact", str(log), "--out", str(tmp_path))
    assert code == 2 and "holds an input file" in err


def test_a_file_found_binary_after_megabytes_of_text_leaves_no_partial_copy(tmp_path: Path) -> None:
    log = tmp_path / "in" / "mixed.log"
    log.parent.mkdir()
    log.write_bytes(b"for user jdoe01\n" * 300_000 + b"\x00\x01 binary tail\n")
    out = tmp_path / "out"
    code, _, stderr = run("redact", str(log), "--out", str(out))
    assert code == 1 and stderr == "withheld mixed.log: binary content: not scanned, withheld\n"
    assert list(out.iterdir()) == []  # neither the copy nor its temporary part


def test_budget_option(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("for user jdoe01\n")
    code, _, err = run("redact", str(log), "--out", str(tmp_path / "o"), "--budget", "0")
    assert code == 2 and "--budget" in err
    code, _, _ = run("redact", str(log), "--out", str(tmp_path / "o"), "--budget", "30")
    assert code == 0 and (tmp_path / "o" / "app.log").read_text() == "for user [REDACTED:username]\n"


def test_customer_host_names_from_the_command_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("proxy to jira.acme-fake.example.com failed; example.org fine\n")
    code, _, _ = run("redact", str(log), "--out", str(tmp_path / "o"), "--host", "acme-fake.example.com")
    assert code == 0
    assert (tmp_path / "o" / "app.log").read_text() == "proxy to [REDACTED:hostname] failed; example.org fine\n"
    code, _, err = run("redact", str(log), "--out", str(tmp_path / "p"), "--host", "bad host/")
    assert code == 2 and "--host 'bad host/'" in err


def test_the_report_never_overwrites_an_input_or_an_output_and_its_directory_must_exist(tmp_path: Path) -> None:
    log = tmp_path / "victim.log"
    log.write_text("for user jdoe01\n")
    out = tmp_path / "o"
    for report in (log, out / "victim.log", tmp_path / "missing" / "r.json"):
        code, _, err = run("redact", str(log), "--out", str(out), "--report", str(report))
        assert code == 2 and "--report" in err
    assert log.read_text() == "for user jdoe01\n" and not (out / "victim.log").exists()


def test_names_of_members_and_files_are_redacted_in_the_output_and_the_report(tmp_path: Path) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("users/alice.fake@example.com/export.log", "ok\n")
        archive.writestr("dump of 203.0.113.5/heap.bin", b"\x00\x01")
    bundle = tmp_path / "in" / "support-erin.fake@example.com.zip"
    bundle.parent.mkdir()
    bundle.write_bytes(buffer.getvalue())
    out, report = tmp_path / "out", tmp_path / "r.json"
    code, stdout, _ = run("redact", str(bundle), "--out", str(out), "--report", str(report))
    assert code == 1
    assert "erin.fake" not in stdout and "203.0.113.5" not in report.read_text()
    assert "dump of [REDACTED:ip]/heap.bin" in report.read_text()
    [written] = list(out.iterdir())
    assert "erin.fake" not in written.name
    with zipfile.ZipFile(written) as result:
        assert result.namelist() == ["users/[REDACTED:email]/export.log"]


def test_inputs_whose_redacted_names_meet_get_distinct_outputs(tmp_path: Path) -> None:
    first, second = tmp_path / "in" / "a.fake@example.com.log", tmp_path / "in" / "b.fake@example.com.log"
    first.parent.mkdir()
    first.write_text("one\n")
    second.write_text("two\n")
    out = tmp_path / "out"
    code, stdout, _ = run("redact", str(first), str(second), "--out", str(out), "--report", str(tmp_path / "r.json"))
    assert code == 0 and "2 of 2 file(s)" in stdout
    assert sorted(p.read_text() for p in out.iterdir()) == ["one\n", "two\n"]
    assert sorted(p.name for p in out.iterdir()) == ["[REDACTED:email]", "[REDACTED:email]~2"]
    code, _, err = run("redact", str(first), "--out", str(tmp_path / "o2"), "--report", str(out))
    assert code == 2 and "is a directory" in err
