"""``charter privacy``, ``charter dsr``, ``charter contacts`` and ``charter tenants export``: privacy operations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from charter.cli._common import ConfigOption, die, parse_instant, time_left, when, write_atomically
from charter.cli._maintenance import DatabaseOption, DataDirOption, KeysDatabaseOption, runtime, tenants_app
from charter.runtime import Runtime

__all__ = ["contacts_app", "dsr_app", "privacy_app"]

privacy_app = typer.Typer(help="Atlassian personal-data reporting.", no_args_is_help=True)
dsr_app = typer.Typer(
    help="Data subject requests: open, verify, export, erase, within GDPR's month.", no_args_is_help=True
)
contacts_app = typer.Typer(
    help="Marketplace technical contacts: import, mail for the charter's purposes, unsubscribe, delete.",
    no_args_is_help=True,
)

RequestArgument = Annotated[str, typer.Argument(help="The request id (DSR-...).")]
StaffOption = Annotated[str, typer.Option("--staff", help="Your staff id (audited).")]


@contextmanager
def _open(config: Path, data_dir: Path, database_url: str | None, keys_url: str | None) -> Iterator[Runtime]:
    from charter.access import AccessDeniedError
    from charter.privacy import ContactError, DsrError

    with runtime(config, data_dir, database_url, keys_url) as rt:
        try:
            yield rt
        except (DsrError, ContactError, AccessDeniedError, LookupError) as exc:
            die(str(exc.args[0]) if exc.args else str(exc))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write personal data: mode 0600 from the first byte, atomically.

    Raises:
        typer.Exit: the file cannot be written (after printing why).
    """
    if path.is_dir():
        die(f"--out {path} is a directory; give a file name")
    try:
        write_atomically(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode(), mode=0o600)
    except OSError as exc:
        die(f"cannot write {path}: {exc.strerror}")


# -- personal-data reporting ---------------------------------------------------------------------------


@privacy_app.command("report")
def report(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say how many accounts are due; send nothing.")] = False,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Report the due account ids to Atlassian (CHARTER_REPORT_ACCOUNTS_TOKEN) and erase closed accounts' data.
    `charter serve` does this every hour; exit 1 when the run stopped on an error."""
    import httpx

    from charter.privacy import AccountReporter, reporting_settings

    try:
        url, token = reporting_settings(os.environ)
    except ValueError as exc:
        die(str(exc))
    with _open(config, data_dir, database_url, keys_database_url) as rt, httpx.Client(timeout=30) as client:
        reporter = AccountReporter(
            rt.charter,
            rt.database,
            rt.keyring,
            rt.audit,
            clock=rt.clock,
            support=rt.support,
            client=client,
            url=url,
            token=(lambda: token) if token else None,
        )
        due = reporter.due()
        if dry_run:
            typer.echo(f"{len(due)} account(s) due for reporting (cycle {reporter.cycle_period().days} days)")
            return
        if token is None:
            die("CHARTER_REPORT_ACCOUNTS_TOKEN is not set: nothing was reported")
        result = reporter.run(actor="cli")
    typer.echo(
        f"{result.reported} account(s) reported in {result.posts} request(s); {len(result.closed)} closed "
        f"(erased), {len(result.updated)} updated (cached copies dropped)"
    )
    if result.error:
        typer.echo(f"charter: error: {result.error}; {result.left} account(s) left for the next run", err=True)
        raise typer.Exit(1)


# -- data subject requests -----------------------------------------------------------------------------


@dsr_app.command("open")
def dsr_open(
    identity: Annotated[str, typer.Argument(help="account:<Atlassian account id>, or an e-mail address.")],
    kind: Annotated[str, typer.Option("--kind", help="access, erasure or both.")] = "both",
    received: Annotated[
        str | None, typer.Option("--received", help="When it arrived (ISO 8601 with a zone); default now.")
    ] = None,
    staff: StaffOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record a data subject request; prints its id and its deadline (one calendar month, GDPR Art. 12(3))."""
    at = parse_instant(received, "--received")
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        request = rt.dsr.open(identity, kind=kind, actor=staff, received_at=at)
    typer.echo(f"{request.id}: due {when(request.due_at)}; verify the requester's identity next")


@dsr_app.command("verify")
def dsr_verify(
    request_id: RequestArgument,
    staff: StaffOption,
    method: Annotated[str, typer.Option("--method", help="How the identity was verified (recorded).")],
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record that the requester's identity was verified (nothing is exported or erased before)."""
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        request = rt.dsr.verify(request_id, method=method, staff_id=staff)
    typer.echo(f"{request.id}: verified by {request.verified_by}")


@dsr_app.command("extend")
def dsr_extend(
    request_id: RequestArgument,
    staff: StaffOption,
    reason: Annotated[str, typer.Option("--reason", help="Why more time is needed (told to the requester).")],
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Extend the deadline once by two months (GDPR Art. 12(3))."""
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        request = rt.dsr.extend(request_id, reason=reason, staff_id=staff)
    typer.echo(f"{request.id}: now due {when(request.due_at)}")


@dsr_app.command("export")
def dsr_export(
    request_id: RequestArgument,
    staff: StaffOption,
    out: Annotated[Path, typer.Option("--out", help="The JSON package to write (mode 0600).")],
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Write everything Charter holds about the verified identity as JSON."""
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        package = rt.dsr.export(request_id, staff_id=staff, deliver=lambda data: _write_json(out, data))
    counts = {k: len(v) for k, v in package.items() if isinstance(v, list)}
    typer.echo(f"{request_id}: exported to {out} ({', '.join(f'{k} {v}' for k, v in counts.items())})")


@dsr_app.command("erase")
def dsr_erase(
    request_id: RequestArgument,
    staff: StaffOption,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Erase everything Charter holds about the verified identity; prints the receipt (no personal data)."""
    from charter.jobs import save_key_backups

    with _open(config, data_dir, database_url, keys_database_url) as rt:
        receipt = rt.dsr.erase(request_id, staff_id=staff)
        for failure in save_key_backups(rt, actor="cli"):
            typer.echo(f"warning: {failure}; the next backup run rewrites it", err=True)
    typer.echo(json.dumps(receipt, sort_keys=True))
    if receipt.get("held_by_legal_hold"):
        typer.echo("charter: some support cases are under legal hold and were kept", err=True)
        raise typer.Exit(1)


@dsr_app.command("close")
def dsr_close(
    request_id: RequestArgument,
    staff: StaffOption,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Close a request: its identity is crypto-shredded, its dates and states remain."""
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        rt.dsr.close(request_id, staff_id=staff)
    typer.echo(f"{request_id}: closed")


@dsr_app.command("status")
def dsr_status(
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Every open request with the time left, soonest first; exit 1 when one is overdue."""
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        now = rt.clock.now()
        requests = rt.dsr.requests(open_only=True)
    late = 0
    for request in requests:
        done = request.erased_at or (request.exported_at if request.kind == "access" else None)
        overdue = done is None and now > request.due_at
        late += overdue
        extended = " (extended)" if request.extension_reason else ""
        typer.echo(
            f"{request.id}  {request.kind:<7} {request.state:<9} due {when(request.due_at)}{extended}  "
            + ("done" if done else time_left(request.left(now)))
        )
    typer.echo(f"{len(requests)} open request(s), {late} overdue" if requests else "No open requests.")
    if late:
        raise typer.Exit(1)


# -- tenant export -------------------------------------------------------------------------------------


@tenants_app.command("export")
def tenants_export(
    tenant: Annotated[str, typer.Argument(help="The tenant id.")],
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write (mode 0600).")],
    staff: StaffOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (e.g. the admin's portability request).")],
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Export everything held for a tenant as JSON (data portability), for its admin; the access is audited."""
    from charter.access import check_staff
    from charter.privacy import export_tenant

    with _open(config, data_dir, database_url, keys_database_url) as rt:
        masked = check_staff(staff, reason)
        package = export_tenant(rt.database, rt.keyring, rt.store, tenant, clock=rt.clock)
        _write_json(out, package)  # recorded only once delivered
        rt.audit.record("tenant.exported", actor=staff, tenant_id=tenant, payload={"reason": masked})
    typer.echo(f"{tenant}: {len(package['records'])} record(s) exported to {out}")


# -- Marketplace contacts ------------------------------------------------------------------------------


@contacts_app.command("import")
def contacts_import(
    file: Annotated[Path, typer.Argument(help="A Marketplace licence export (CSV or JSON).")],
    staff: StaffOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Import the technical contacts of a licence export (stored encrypted; unsubscribed addresses skipped)."""
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        result = rt.contacts.import_file(file, actor=staff)
    for problem in result.skipped:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(
        f"{result.imported} imported, {result.updated} updated, {result.suppressed} unsubscribed or deleted "
        f"(not imported), {len(result.skipped)} skipped"
    )


@contacts_app.command("send")
def contacts_send(
    purpose: Annotated[str, typer.Option("--purpose", help="One of the charter's marketplace_contacts.purposes.")],
    subject: Annotated[str, typer.Option("--subject", help="The subject line.")],
    body_file: Annotated[Path, typer.Option("--body-file", help="The message text (UTF-8).")],
    staff: StaffOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Mail every contact for a purpose the charter lists, each with its own unsubscribe link (SMTP settings as
    for the security desk). Exit 1 when a message could not be sent."""
    from charter.security import Mailer, MailError

    try:
        body = body_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        die(f"--body-file {body_file}: {getattr(exc, 'strerror', None) or 'not UTF-8 text'}")
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        try:
            mailer = Mailer.from_env(rt.charter, os.environ)
        except MailError as exc:
            die(str(exc))
        if mailer is None:
            die("no mail server: set CHARTER_SMTP_URL")
        result = rt.contacts.send(purpose=purpose, subject=subject, body=body, mailer=mailer, actor=staff)
    for contact_id, reason in result.failed:
        typer.echo(f"failed: {contact_id}: {reason}", err=True)
    typer.echo(f"{len(result.sent)} sent, {len(result.failed)} failed")
    if result.failed:
        raise typer.Exit(1)


@contacts_app.command("delete")
def contacts_delete(
    email: Annotated[str, typer.Argument(help="The contact's address (a deletion request).")],
    staff: StaffOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Delete a contact at once and never import or mail the address again."""
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        removed = rt.contacts.delete(email, actor=staff)
    typer.echo("deleted; the address is suppressed" if removed else "no such contact; the address is suppressed")


@contacts_app.command("count")
def contacts_count(
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """How many technical contacts are held."""
    with _open(config, data_dir, database_url, keys_database_url) as rt:
        typer.echo(f"{rt.contacts.count()} contact(s)")
