"""``charter support``: the support-case vault (open, attach, message, show, read, close, hold, delete, list)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from charter.cli._common import ConfigOption, die
from charter.cli._maintenance import (
    DatabaseOption,
    DataDirOption,
    KeysDatabaseOption,
    ReasonOption,
    StaffOption,
    runtime,
)
from charter.runtime import Runtime
from charter.support import CaseError, LegalHoldError, SupportReceipt

__all__ = ["support_app"]

support_app = typer.Typer(
    help="Support cases: attachments redacted at intake, encrypted per case, deleted by the charter's rule.",
    no_args_is_help=True,
)

CaseArgument = Annotated[str, typer.Argument(help="The case id (SC-...).")]


@contextmanager
def _vault(config: Path, data_dir: Path, database_url: str | None, keys_url: str | None) -> Iterator[Runtime]:
    from charter.access import AccessDeniedError

    with runtime(config, data_dir, database_url, keys_url) as rt:
        try:
            yield rt
        except LegalHoldError as exc:
            die(str(exc), 1)
        except (CaseError, AccessDeniedError) as exc:  # the user's mistake: exit 2 with what is wrong
            die(str(exc))


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%SZ")


def _report_deletions(rt: Runtime, receipts: list[SupportReceipt]) -> None:
    from charter.jobs import save_key_backups

    for receipt in receipts:
        counts = ", ".join(f"{k} {v}" for k, v in receipt.deleted.items())
        keys = ", ".join(receipt.keys_destroyed) or "none"
        typer.echo(
            f"deleted the {receipt.what} of {receipt.case_id} ({counts}) by {receipt.rule}: "
            f"audit entry {receipt.audit_seq}, keys destroyed: {keys}"
        )
    if receipts:
        for failure in save_key_backups(rt, actor="cli"):  # no backup may keep a destroyed case key
            typer.echo(f"warning: {failure}; the next backup run rewrites it", err=True)


@support_app.command("open")
def open_case(
    subject: Annotated[str, typer.Option("--subject", help="What the case is about (stored encrypted).")],
    tenant: Annotated[str | None, typer.Option("--tenant", help="The tenant the case belongs to.")] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="A customer without a tenant: their reference (encrypted).")
    ] = None,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Open a case for a tenant (--tenant) or a customer without one (--customer); prints its id."""
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        case = rt.support.open_case(subject=subject, tenant_id=tenant, customer=customer, actor="cli")
    typer.echo(case.id)


@support_app.command("attach")
def attach(
    case_id: CaseArgument,
    files: Annotated[list[Path], typer.Argument(help="Files to attach: logs, JSON, HAR, zip.")],
    hosts: Annotated[
        list[str] | None, typer.Option("--host", help="The customer's host name, redacted too (repeatable).")
    ] = None,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Attach files to an open case: redacted at intake, then stored encrypted. A file that cannot be
    scanned is not stored (exit 1); zip members that cannot be scanned are left out and listed."""
    from charter.support import AttachmentRefused

    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        die(f"not a file: {', '.join(missing)}")
    refused = False
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        for path in files:
            try:
                with path.open("rb") as source:
                    attachment, report = rt.support.attach(case_id, path.name, source, actor="cli", hosts=hosts or ())
            except AttachmentRefused as exc:
                typer.echo(f"charter: refused {path.name}: {exc}", err=True)
                refused = True
                continue
            found = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing found"
            typer.echo(f"{attachment.id}  {path.name}  {attachment.size} bytes  redacted: {found}")
            for item, reason in report.withheld:
                typer.echo(f"  left out {item}: {reason}", err=True)
    if refused:
        raise typer.Exit(1)


@support_app.command("message")
def message(
    case_id: CaseArgument,
    text: Annotated[str, typer.Argument(help="The message (stored encrypted).")],
    author: Annotated[
        str, typer.Option("--from", help="Who wrote it: customer or staff.", show_default=True)
    ] = "customer",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record a communication of an open case."""
    if author not in ("customer", "staff"):
        die("--from must be 'customer' or 'staff'")
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        number = rt.support.add_message(case_id, author, text, actor="cli")  # type: ignore[arg-type]
    typer.echo(f"message {number} recorded in {case_id}")


@support_app.command("show")
def show(
    case_id: CaseArgument,
    messages: Annotated[
        bool, typer.Option("--messages", help="Also print subject and messages (needs --staff and --reason).")
    ] = False,
    staff: Annotated[str | None, typer.Option("--staff", envvar="CHARTER_STAFF_ID", help="Your staff id.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why you read the communications.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Show a case: status, times, when the charter deletes what, attachments (ids, sizes, redaction)."""
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        case = rt.support.get(case_id)
        talk = None
        if messages:
            talk = rt.support.read_communications(case_id, staff_id=staff or "", reason=reason or "")
    if as_json:
        data: dict[str, object] = {
            "id": case.id,
            "tenant_id": case.tenant_id,
            "status": case.status,
            "opened_at": case.opened_at.isoformat(),
            "closed_at": case.closed_at and case.closed_at.isoformat(),
            "attachments_due_at": case.attachments_due_at and case.attachments_due_at.isoformat(),
            "communications_due_at": case.communications_due_at and case.communications_due_at.isoformat(),
            "legal_hold": case.legal_hold,
            "attachments": [
                {"id": a.id, "size": a.size, "received_at": a.received_at.isoformat(), "redaction": a.redaction}
                for a in case.attachments
            ],
            "messages": case.messages,
        }
        if talk is not None:
            data["communications"] = talk
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{case.id}  {case.status}  tenant {case.tenant_id or '- (customer without a tenant)'}")
    typer.echo(f"opened {_when(case.opened_at)}  closed {_when(case.closed_at)}")
    if case.legal_hold:
        typer.echo(f"legal hold since {_when(case.hold_since)}: nothing is deleted until it is released")
    typer.echo(f"attachments deleted {_when(case.attachments_deleted_at)}, due {_when(case.attachments_due_at)}")
    typer.echo(
        f"communications deleted {_when(case.communications_deleted_at)}, due {_when(case.communications_due_at)}"
    )
    for a in case.attachments:
        found = ", ".join(f"{k} {v}" for k, v in sorted(a.redaction.get("counts", {}).items())) or "nothing"
        typer.echo(f"  {a.id}  {a.size} bytes  received {_when(a.received_at)}  redacted: {found}")
    typer.echo(f"{case.messages} message(s)")
    if talk is not None:
        typer.echo(f"subject: {talk['subject']}")
        if talk["customer"]:
            typer.echo(f"customer: {talk['customer']}")
        for m in talk["messages"]:
            typer.echo(f"[{m['id']}] {m['at']} {m['author']}: {m['body']}")


@support_app.command("read")
def read(
    case_id: CaseArgument,
    attachment_id: Annotated[str, typer.Argument(help="The attachment id (AT-...; see `charter support show`).")],
    staff: StaffOption,
    reason: ReasonOption,
    out: Annotated[Path, typer.Option("--out", help="Write the (redacted) attachment here; never overwrites.")],
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Decrypt an attachment into --out, recording your staff id and reason in the audit log first."""
    from charter.crypto import DecryptionError

    if out.exists():
        die(f"{out} exists: choose a new file")
    if not out.expanduser().resolve().parent.is_dir():
        die(f"the directory of {out} does not exist")
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        name, chunks = rt.support.read_attachment(case_id, attachment_id, staff_id=staff, reason=reason)
        fd, temporary = tempfile.mkstemp(dir=out.expanduser().resolve().parent, prefix=f".{out.name}.")
        try:
            with os.fdopen(fd, "wb") as sink:
                for chunk in chunks:
                    sink.write(chunk)
            os.replace(temporary, out)
        except DecryptionError:
            die(f"attachment {attachment_id} does not decrypt (damaged or its key was destroyed)", 1)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    typer.echo(f"wrote {name} ({attachment_id}) to {out}; your access is in the audit log")


@support_app.command("close")
def close(
    case_id: CaseArgument,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Close a case: what the charter deletes at close goes now, with receipts; the rest when it is due."""
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        receipts = rt.support.close(case_id, actor="cli")
        _report_deletions(rt, receipts)
        case = rt.support.get(case_id)
    if case.legal_hold:
        typer.echo(f"closed {case_id}; under legal hold: nothing of it is deleted until the hold is released")
        return
    typer.echo(
        f"closed {case_id}; attachments due {_when(case.attachments_due_at)}, "
        f"communications due {_when(case.communications_due_at)}"
    )


@support_app.command("delete")
def delete(
    case_id: CaseArgument,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """A customer's deletion request: everything of the case goes at once (refused under legal hold)."""
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        receipt = rt.support.delete(case_id, actor="cli")
        _report_deletions(rt, [receipt])


@support_app.command("hold")
def hold(
    case_id: CaseArgument,
    staff: StaffOption,
    reason: ReasonOption,
    release: Annotated[bool, typer.Option("--release", help="Release the hold instead.")] = False,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Put a case under legal hold (nothing of it is deleted), or --release it (due deletions happen then)."""
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        if release:
            _report_deletions(rt, rt.support.release(case_id, reason=reason, actor=staff))
            typer.echo(f"released the legal hold on {case_id}")
        else:
            rt.support.hold(case_id, reason=reason, actor=staff)
            typer.echo(f"{case_id} is under legal hold: nothing of it is deleted until it is released")


@support_app.command("expire")
def expire(
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Delete now whatever the charter's rule says is due (`charter serve` does this every 15 minutes)."""
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        receipts = rt.support.expire(actor="cli")
        _report_deletions(rt, receipts)
    if not receipts:
        typer.echo("Nothing is due.")


@support_app.command("list")
def list_cases(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's cases.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only cases in this status: open, closed, deleted.")
    ] = None,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """List cases: id, status, tenant, attachments, messages and when the charter deletes what."""
    if status not in (None, "open", "closed", "deleted"):
        die("--status must be open, closed or deleted")
    with _vault(config, data_dir, database_url, keys_database_url) as rt:
        cases = rt.support.cases(tenant_id=tenant, status=status)
    if not cases:
        typer.echo("No support cases.")
    for case in cases:
        hold = "  LEGAL HOLD" if case.legal_hold else ""
        typer.echo(
            f"{case.id}  {case.status:7}  {case.tenant_id or '-':24}  {len(case.attachments)} attachment(s)  "
            f"{case.messages} message(s)  attachments due {_when(case.attachments_due_at)}  "
            f"communications due {_when(case.communications_due_at)}{hold}"
        )
