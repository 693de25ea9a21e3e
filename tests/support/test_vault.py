"""The support-case vault on SQLite and PostgreSQL: intake redaction, encryption at rest, staff access with a
reason, and the close / expiry / legal hold / deletion-request paths, each leaving a receipt."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from charter.access import AccessDeniedError
from charter.policy import Duration
from charter.store import KeyDestroyedError, SupportAttachmentRow, SupportCaseRow, SupportMessageRow
from charter.support import AttachmentRefused, CaseError, LegalHoldError, SupportVault
from tests.conftest import connect_install

SECRETS = [
    "erin.fake@example.com",
    "203.0.113.77",
    "FAKE-BEARER-TOKEN-0001abcd",
    "Fake-Passw0rd-77",
    "FAKE-SESSION-0099",
]
LOG = (
    b"2026-11-30 10:15:30,123 INFO mail sent to erin.fake@example.com from 203.0.113.77 distinctive-phrase-one\n"
    b"Authorization: Bearer FAKE-BEARER-TOKEN-0001abcd\n"
    b"db.password=Fake-Passw0rd-77\n"
    b"Cookie: JSESSIONID=FAKE-SESSION-0099; theme=dark\n"
)
MESSAGE = "Our admin erin.fake@example.com sees error 500, distinctive-phrase-two"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _vault(rt: Any, **retention: Any) -> SupportVault:
    """The runtime's vault, or one whose charter has other support retention rules."""
    if not retention:
        return rt.support  # type: ignore[no-any-return]
    rules = rt.charter.retention.model_copy(update=retention)
    charter = rt.charter.model_copy(update={"retention": rules})
    return SupportVault(charter, rt.database, rt.keyring, rt.audit, clock=rt.clock, root=rt.data_dir / "support")


def _files_hold(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in needles if n in data]
    return found


def _db_holds(rt: Any, needles: list[bytes]) -> list[str]:
    found = []
    with rt.database.session() as session:
        for model in (SupportCaseRow, SupportAttachmentRow, SupportMessageRow):
            for row in session.scalars(select(model)):
                for column in model.__table__.columns:
                    value = getattr(row, column.key)
                    blob = value if isinstance(value, bytes) else str(value).encode()
                    found += [f"{model.__tablename__}.{column.key}: {n!r}" for n in needles if n in blob]
    return found


def _read(vault: SupportVault, case_id: str, attachment_id: str) -> tuple[str, bytes]:
    name, chunks = vault.read_attachment(case_id, attachment_id, staff_id="staff-07", reason="case SC triage of 500s")
    return name, b"".join(chunks)


def _tenant_case(vault: SupportVault, rt: Any) -> str:
    tenant_id = connect_install(rt.registry, f"fake-client-key-{len(vault.cases()):04d}", rt.clock.now())
    return vault.open_case(subject="Error 500 for erin.fake@example.com", tenant_id=tenant_id, actor="cli").id


def test_attachments_are_redacted_at_intake_and_nothing_readable_is_at_rest(runtime: Any) -> None:
    vault = runtime.support
    case_id = _tenant_case(vault, runtime)
    attachment, report = vault.attach(case_id, "atlassian-jira.log", io.BytesIO(LOG), actor="cli")
    archive = _zip({"logs/app.log": LOG, "screenshot.png": b"\x89PNG\r\n\x1a\n\x00\x00binary"})
    in_zip, zip_report = vault.attach(case_id, "support.zip", io.BytesIO(archive), actor="cli")
    vault.add_message(case_id, "customer", MESSAGE, actor="cli")

    assert report.counts == {"cookie": 1, "email": 1, "ip": 1, "password": 1, "token": 1}
    assert zip_report.withheld == [("support.zip/screenshot.png", "binary content: not scanned, withheld")]
    needles = [s.encode() for s in SECRETS] + [b"distinctive-phrase-one", b"distinctive-phrase-two", b"Error 500"]
    assert _files_hold(runtime.data_dir, needles) == []  # blobs, SQLite files, WAL: no plaintext anywhere
    assert _db_holds(runtime, needles) == []

    name, content = _read(vault, case_id, attachment.id)
    assert name == "atlassian-jira.log"
    renamed, _ = vault.attach(case_id, "from erin.fake@example.com.log", io.BytesIO(b"ok\n"), actor="cli")
    assert _read(vault, case_id, renamed.id)[0] == "from [REDACTED:email]"  # names are redacted at intake too
    assert b"distinctive-phrase-one" in content and not any(s.encode() in content for s in SECRETS)
    _, packed = _read(vault, case_id, in_zip.id)
    with zipfile.ZipFile(io.BytesIO(packed)) as result:
        assert result.namelist() == ["logs/app.log"]
        assert b"[REDACTED:email]" in result.read("logs/app.log")
    case = vault.get(case_id)
    by_id = {a.id: a for a in case.attachments}
    assert set(by_id) == {attachment.id, in_zip.id, renamed.id} and case.messages == 1
    assert by_id[in_zip.id].redaction["withheld"] == [
        {"item": "support.zip/screenshot.png", "reason": "binary content: not scanned, withheld"}
    ]


def test_staff_read_needs_a_reason_recorded_before_decryption(runtime: Any) -> None:
    vault = runtime.support
    case_id = _tenant_case(vault, runtime)
    attachment, _ = vault.attach(case_id, "a.log", io.BytesIO(LOG), actor="cli")
    for staff, reason in [("staff-07", ""), ("staff-07", "because"), ("erin.fake@example.com", "long enough reason")]:
        with pytest.raises(AccessDeniedError):
            vault.read_attachment(case_id, attachment.id, staff_id=staff, reason=reason)
    assert runtime.audit.entries(kind="support.access") == []
    vault.read_attachment(case_id, attachment.id, staff_id="staff-07", reason="reproduce for erin.fake@example.com")
    talk = vault.read_communications(case_id, staff_id="staff-07", reason="answer the customer's question")
    assert talk["subject"] == "Error 500 for erin.fake@example.com" and talk["messages"] == []
    entries = runtime.audit.entries(kind="support.access")
    assert [e.actor for e in entries] == ["staff-07", "staff-07"]
    assert entries[0].payload == {
        "case": case_id,
        "attachment": attachment.id,
        "reason": entries[0].payload["reason"],
    }
    assert "erin.fake@example.com" not in entries[0].payload["reason"]  # the reason is masked
    with pytest.raises(CaseError, match="no attachment"):
        vault.read_attachment(case_id, "AT-AAAAAAAAAA", staff_id="staff-07", reason="long enough reason")


def test_close_deletes_attachments_at_once_and_communications_after_their_period(runtime: Any) -> None:
    vault = runtime.support  # the example: after_close = "0s", support_communications = "365d"
    case_id = _tenant_case(vault, runtime)
    attachment, _ = vault.attach(case_id, "a.log", io.BytesIO(LOG), actor="cli")
    vault.add_message(case_id, "customer", MESSAGE, actor="cli")
    blob = runtime.data_dir / "support" / case_id / f"{attachment.id}.blob"
    copy = blob.read_bytes()  # e.g. a copy someone made, or a file-system snapshot

    receipts = vault.close(case_id, actor="cli")

    assert [(r.what, r.deleted) for r in receipts] == [("attachments", {"attachments": 1, "blobs": 1})]
    assert receipts[0].keys_destroyed == [f"charter:support:{case_id}:{attachment.id}/v1"]
    assert receipts[0].rule == 'retention.support_attachments: after_close = "0s", max_age = "90d"'
    assert not (runtime.data_dir / "support" / case_id).exists()
    assert runtime.keyring.live_versions(f"charter:support:{case_id}:{attachment.id}") == []
    with pytest.raises(KeyDestroyedError):  # the copy no longer opens: crypto-shredded
        runtime.keyring.derive(f"charter:support:{case_id}:{attachment.id}", b"support.attachment:")
    assert copy
    case = vault.get(case_id)
    assert case.status == "closed" and case.attachments == [] and case.messages == 1
    assert case.communications_due_at == case.closed_at + timedelta(days=365)

    runtime.clock.advance(timedelta(days=365) - timedelta(seconds=1))
    assert vault.expire() == []
    runtime.clock.advance(timedelta(seconds=1))
    [receipt] = vault.expire()
    assert (receipt.what, receipt.deleted, receipt.rule) == (
        "communications",
        {"messages": 1},
        'retention.support_communications = "365d"',
    )
    case = vault.get(case_id)
    assert case.status == "deleted" and case.messages == 0
    assert _db_holds(runtime, [b"distinctive-phrase-two"]) == []
    with runtime.database.session() as session:
        row = session.get(SupportCaseRow, case_id)
        assert row.subject is None and row.customer is None
    assert [r.what for r in vault.receipts(case_id)] == ["attachments", "communications"]
    for entry in runtime.audit.entries(kind="support.deleted"):
        assert "erin" not in str(entry.payload) and "a.log" not in str(entry.payload)


def test_attachments_kept_n_days_after_close_and_at_most_max_age_while_open(runtime: Any) -> None:
    vault = _vault(
        runtime,
        support_attachments=runtime.charter.retention.support_attachments.model_copy(
            update={"after_close": Duration.of(days=7), "max_age": Duration.of(days=90)}
        ),
    )
    closed = _tenant_case(vault, runtime)
    vault.attach(closed, "a.log", io.BytesIO(LOG), actor="cli")
    assert vault.close(closed, actor="cli") == []
    assert vault.get(closed).attachments_due_at == vault.get(closed).closed_at + timedelta(days=7)
    runtime.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert vault.expire() == []
    runtime.clock.advance(timedelta(seconds=1))
    assert [(r.case_id, r.what) for r in vault.expire()] == [(closed, "attachments")]

    still_open = _tenant_case(vault, runtime)
    vault.attach(still_open, "a.log", io.BytesIO(LOG), actor="cli")
    runtime.clock.advance(timedelta(days=90))
    assert [(r.case_id, r.what) for r in vault.expire()] == [(still_open, "attachments")]
    case = vault.get(still_open)
    assert case.status == "open" and case.attachments == []
    later, _ = vault.attach(still_open, "b.log", io.BytesIO(b"new log\n"), actor="cli")  # a new key, a new clock
    assert _read(vault, still_open, later.id)[1] == b"new log\n"


def test_a_deletion_request_removes_everything_at_once_unless_under_legal_hold(runtime: Any) -> None:
    vault = runtime.support
    case_id = vault.open_case(subject="No tenant", customer="SEN-0000001", actor="cli").id
    vault.attach(case_id, "a.log", io.BytesIO(LOG), actor="cli")
    vault.add_message(case_id, "customer", MESSAGE, actor="cli")
    vault.hold(case_id, reason="litigation hold LH-0001 for erin.fake@example.com", actor="legal-01")

    with pytest.raises(LegalHoldError, match="legal hold"):
        vault.delete(case_id, actor="cli")
    vault.close(case_id, actor="cli")  # due at close, but held
    runtime.clock.advance(timedelta(days=400))
    assert vault.due() == [] and vault.expire() == []
    case = vault.get(case_id)
    assert len(case.attachments) == 1 and case.messages == 1 and case.legal_hold

    vault.hold(case_id, reason="placeholder, released below", actor="legal-01")
    assert (
        vault.release(case_id, reason="hold LH-0001 lifted by counsel", actor="legal-01") != []
    )  # what came due meanwhile goes now
    case = vault.get(case_id)
    assert case.status == "deleted" and case.attachments == [] and case.messages == 0

    other = vault.open_case(subject="Another", customer="SEN-0000002", actor="cli").id
    attached, _ = vault.attach(other, "a.log", io.BytesIO(LOG), actor="cli")
    vault.add_message(other, "staff", "We look into it", actor="cli")
    receipt = vault.delete(other, actor="cli")
    assert receipt.what == "case" and receipt.deleted == {"attachments": 1, "blobs": 1, "messages": 1}
    assert sorted(receipt.keys_destroyed) == [
        f"charter:support:{other}:{attached.id}/v1",
        f"charter:support:{other}:communications/v1",
    ]
    assert vault.get(other).status == "deleted"
    assert not (runtime.data_dir / "support" / other).exists()
    with pytest.raises(CaseError, match="already deleted"):
        vault.delete(other, actor="cli")
    with pytest.raises(CaseError, match="deleted"):
        vault.read_communications(other, staff_id="staff-07", reason="long enough reason")


def test_what_cannot_be_scanned_is_refused_and_nothing_is_stored(runtime: Any) -> None:
    vault = runtime.support
    case_id = _tenant_case(vault, runtime)
    with pytest.raises(AttachmentRefused, match="cannot be scanned"):
        vault.attach(case_id, "dump.bin", io.BytesIO(b"\x00\x01\x02binary"), actor="cli")
    assert vault.get(case_id).attachments == []
    assert list((runtime.data_dir / "support").rglob("*.blob")) == []
    assert list((runtime.data_dir / "support").rglob("*.part")) == []


def test_bad_requests_are_refused_with_what_is_wrong(runtime: Any) -> None:
    vault = runtime.support
    with pytest.raises(CaseError, match="tenant"):
        vault.open_case(subject="x", actor="cli")
    with pytest.raises(CaseError, match="tenant"):
        vault.open_case(subject="x", tenant_id="t", customer="c", actor="cli")
    with pytest.raises(CaseError, match="subject"):
        vault.open_case(subject=" ", tenant_id="t", actor="cli")
    with pytest.raises(CaseError, match="no tenant 'tenant-nope' is registered"):
        vault.open_case(subject="x", tenant_id="tenant-nope", actor="cli")
    with pytest.raises(CaseError, match="no support case"):
        vault.get("SC-NOPE")
    case_id = _tenant_case(vault, runtime)
    vault.close(case_id, actor="cli")
    with pytest.raises(CaseError, match="closed"):
        vault.attach(case_id, "a.log", io.BytesIO(b"x"), actor="cli")
    with pytest.raises(CaseError, match="closed"):
        vault.add_message(case_id, "staff", "hello", actor="cli")


def test_case_keys_are_left_out_of_data_key_rotation(runtime: Any) -> None:
    from charter.rotation import _tenants

    case_id = _tenant_case(runtime.support, runtime)
    attachment, _ = runtime.support.attach(case_id, "a.log", io.BytesIO(LOG), actor="cli")
    assert f"charter:support:{case_id}:{attachment.id}" in runtime.keyring.tenants()
    assert not any(t.startswith("charter:") for t in _tenants(runtime))


def test_redaction_at_intake_can_be_turned_off_only_explicitly(runtime: Any) -> None:
    assert runtime.support.redacts_at_intake
    support = runtime.charter.support.model_copy(update={"redact_at_intake": False})
    charter = runtime.charter.model_copy(update={"support": support})
    vault = SupportVault(
        charter,
        runtime.database,
        runtime.keyring,
        runtime.audit,
        clock=runtime.clock,
        root=runtime.data_dir / "support",
    )
    case_id = _tenant_case(vault, runtime)
    attachment, report = vault.attach(case_id, "a.log", io.BytesIO(LOG), actor="cli")
    assert report.counts == {} and _read(vault, case_id, attachment.id)[1] == LOG
    assert _files_hold(runtime.data_dir, [b"erin.fake@example.com"]) == []  # still encrypted


def test_after_a_restore_what_was_deleted_since_is_deleted_again(runtime: Any) -> None:
    vault = runtime.support
    requested = _tenant_case(vault, runtime)
    vault.attach(requested, "a.log", io.BytesIO(LOG), actor="cli")
    vault.add_message(requested, "customer", MESSAGE, actor="cli")
    closed = _tenant_case(vault, runtime)
    vault.attach(closed, "b.log", io.BytesIO(LOG), actor="cli")
    kept = _tenant_case(vault, runtime)
    lost, _ = vault.attach(kept, "c.log", io.BytesIO(LOG), actor="cli")
    models = (SupportCaseRow, SupportAttachmentRow, SupportMessageRow)
    with runtime.database.session() as session:  # the snapshot
        snapshot = [
            (
                model,
                [{c.key: getattr(r, c.key) for c in model.__table__.columns} for r in session.scalars(select(model))],
            )
            for model in models
        ]
    vault.delete(requested, actor="cli")
    vault.close(closed, actor="cli")
    later, _ = vault.attach(kept, "d.log", io.BytesIO(LOG), actor="cli")  # after the snapshot
    (runtime.data_dir / "support" / kept / f"{lost.id}.blob").unlink()  # e.g. a recovery to a new machine
    with runtime.database.session() as session:  # restore: the snapshot's rows come back
        for model in reversed(models):
            session.query(model).delete()
        for model, rows in snapshot:
            session.add_all(model(**row) for row in rows)
            session.flush()

    receipts = vault.reconcile(actor="cli")

    assert sorted((r.case_id, r.what, r.rule) for r in receipts) == sorted(
        [
            (requested, "attachments", "re-applied after restore: deleted after the snapshot"),
            (requested, "communications", "re-applied after restore: deleted after the snapshot"),
            (closed, "attachments", "re-applied after restore: deleted after the snapshot"),
            (kept, "attachments", "blob not restored (attachments are not backed up)"),
        ]
    )
    assert vault.get(requested).status == "deleted" and vault.get(requested).messages == 0
    assert vault.get(closed).attachments == [] and vault.get(kept).attachments == []
    assert not (runtime.data_dir / "support" / kept / f"{later.id}.blob").exists()  # orphan: shredded, removed
    assert runtime.keyring.live_versions(f"charter:support:{kept}:{later.id}") == []
    assert vault.reconcile(actor="cli") == []  # nothing left to do


@pytest.mark.parametrize("ending", ["close", "delete"])
def test_an_interrupted_intake_leaves_no_key_or_file_behind_the_case(runtime: Any, ending: str) -> None:
    vault = runtime.support
    case_id = _tenant_case(vault, runtime)
    kept, _ = vault.attach(case_id, "a.log", io.BytesIO(LOG), actor="cli")
    # what a process killed in the middle of `attach` leaves: a live key and a partial (or unrecorded) file
    for stray, file_name in [("AT-KILLEDPART", ".AT-KILLEDPART.part"), ("AT-KILLEDBLOB", "AT-KILLEDBLOB.blob")]:
        runtime.keyring.derive(f"charter:support:{case_id}:{stray}", b"support.attachment:" + stray.encode())
        (runtime.data_dir / "support" / case_id / file_name).write_bytes(b"encrypted part")
    assert vault.expire() == []  # fresh: an intake may still be running in another process
    assert (runtime.data_dir / "support" / case_id / ".AT-KILLEDPART.part").exists()

    if ending == "close":
        vault.close(case_id, actor="cli")
    else:
        vault.delete(case_id, actor="cli")

    for stray in ("AT-KILLEDPART", "AT-KILLEDBLOB", kept.id):
        assert runtime.keyring.live_versions(f"charter:support:{case_id}:{stray}") == []
    assert not (runtime.data_dir / "support" / case_id).exists()
    assert oct((runtime.data_dir / "support").stat().st_mode & 0o777) == "0o700"


def test_zip_members_are_redacted_in_memory_never_spilled_to_a_temporary_file(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    sizes: list[int] = []
    real = tempfile.SpooledTemporaryFile

    def spy(max_size: int = 0, *args: Any, **kwargs: Any) -> Any:
        sizes.append(max_size)
        return real(max_size, *args, **kwargs)

    monkeypatch.setattr("charter.redact._formats.tempfile.SpooledTemporaryFile", spy)
    vault = runtime.support
    case_id = _tenant_case(vault, runtime)
    member = b"mail erin.fake@example.com\n" * 800_000  # 21 MB: more than the CLI keeps in memory
    vault.attach(case_id, "support.zip", io.BytesIO(_zip({"big.log": member})), actor="cli")
    assert sizes == [0]  # 0: never rolls over to disk
