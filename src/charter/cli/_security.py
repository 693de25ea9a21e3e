"""``charter security``: the security desk (reports, states, clocks, notification) and ``charter deps audit``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from charter.cli._common import ConfigOption, die, parse_instant, time_left, when
from charter.cli._maintenance import DatabaseOption, DataDirOption, KeysDatabaseOption, runtime
from charter.runtime import Runtime
from charter.security import DeskClock, DeskError, Report

__all__ = ["deps_app", "security_app"]

security_app = typer.Typer(
    help="The security desk: vulnerability reports, their clocks, and notifying affected customers.",
    no_args_is_help=True,
)
deps_app = typer.Typer(help="Known vulnerabilities in the installed dependencies.", no_args_is_help=True)

ReportArgument = Annotated[str, typer.Argument(help="The report id (SR-...).")]
ActorOption = Annotated[str, typer.Option("--staff", help="Who does this (a staff id; audited).")]


@contextmanager
def _desk(config: Path, data_dir: Path, database_url: str | None, keys_url: str | None) -> Iterator[Runtime]:
    from charter.access import AccessDeniedError

    with runtime(config, data_dir, database_url, keys_url) as rt:
        try:
            yield rt
        except (DeskError, AccessDeniedError) as exc:  # the user's mistake: exit 2 with what is wrong
            die(str(exc))


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        die(f"{what} {path}: no such file")
    except UnicodeDecodeError:
        die(f"{what} {path} is not UTF-8 text")
    except OSError as exc:
        die(f"{what} {path}: {exc.strerror}")


def _summary_line(report: Report) -> str:
    score = "-" if report.score is None else f"{report.severity} {report.score:.1f}"
    return f"{report.id}  {report.state:<20} {report.source:<11} {score:<14} received {when(report.received_at)}"


Common = tuple[Path, Path, str | None, str | None]


@security_app.command("report")
def report_command(
    summary: Annotated[str, typer.Option("--summary", help="One line: what is vulnerable.")],
    source: Annotated[
        str, typer.Option("--source", help="researcher, customer, bug-bounty, internal or dependency.")
    ] = "researcher",
    details: Annotated[str | None, typer.Option("--details", help="The report's text.")] = None,
    details_file: Annotated[Path | None, typer.Option("--details-file", help="Read the text from a file.")] = None,
    reporter: Annotated[str | None, typer.Option("--reporter", help="The reporter's name.")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="The reporter's e-mail address.")] = None,
    app: Annotated[str | None, typer.Option("--app", help="The app concerned (its key).")] = None,
    received: Annotated[
        str | None, typer.Option("--received", help="When it arrived (ISO 8601 with a zone); default now.")
    ] = None,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record a report; prints its id, its deadlines and the acknowledgement draft."""
    if (details is None) == (details_file is None):
        die("give the report's text with --details or --details-file (one of them)")
    text = details if details is not None else _read_text(details_file, "--details-file")  # type: ignore[arg-type]
    at = parse_instant(received, "--received")
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        report, _created = rt.security.report(
            summary=summary,
            details=text,
            source=source,
            reporter=reporter,
            contact=contact,
            app_key=app,
            received_at=at,
            intake="cli",
            actor=staff,
        )
        draft = rt.security.draft(report.id, "ack")
    typer.echo(
        f"{report.id}: {report.state}; acknowledge by {when(report.ack_due_at)}, fix by {when(report.fix_due_at)}"
    )
    typer.echo("\n--- acknowledgement draft ---")
    typer.echo(draft)


@security_app.command("import")
def import_command(
    mailbox: Annotated[Path, typer.Argument(help="An mbox file or a Maildir directory.")],
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record a report for each message whose subject carries the charter's prefix (security.subject_prefix)."""
    from charter.security import MailboxError, import_mailbox

    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        prefix = rt.charter.security.subject_prefix or "[Security]"
        try:
            result = import_mailbox(mailbox, rt.security, prefix=prefix, actor=staff, now=rt.clock.now())
        except MailboxError as exc:
            die(str(exc))
    for report in result.created:
        typer.echo(f"{report.id}: received {when(report.received_at)}, acknowledge by {when(report.ack_due_at)}")
    for problem in result.refused:
        typer.echo(f"refused: {problem}", err=True)
    typer.echo(
        f"{len(result.created)} new report(s), {len(result.seen_before)} imported before, "
        f"{result.not_reports} message(s) without '{prefix}' in the subject left alone"
        + (f", {len(result.refused)} refused" if result.refused else "")
    )
    if result.refused:
        raise typer.Exit(1)


@security_app.command("list")
def list_command(
    all_reports: Annotated[bool, typer.Option("--all", help="Closed reports too.")] = False,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """List the open reports (oldest first)."""
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        reports = rt.security.reports(open_only=not all_reports)
    for report in reports:
        typer.echo(_summary_line(report))
    if not reports:
        typer.echo("No open reports." if not all_reports else "No reports.")


@security_app.command("show")
def show(
    report_id: ReportArgument,
    staff: Annotated[
        str | None, typer.Option("--staff", help="Also decrypt what the reporter wrote (audited read).")
    ] = None,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """A report's state, clocks and notifications; with --staff also its text."""
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        report = rt.security.get(report_id)
        now = rt.clock.now()
        typer.echo(_summary_line(report))
        rows = [
            ("app", report.app_key or "-"),
            ("affected versions", report.affected or "-"),
            ("fixed in", report.fixed_version or "-"),
            ("CVSS vector", report.cvss_vector or "-"),
            ("acknowledged", when(report.acknowledged_at)),
            ("triaged", when(report.triaged_at)),
            ("fixed", when(report.fixed_at)),
            ("released", when(report.released_at)),
            ("disclosed", when(report.disclosed_at)),
            ("breach aware", when(report.breach_aware_at)),
        ]
        if report.duplicate_of:
            rows.append(("duplicate of", report.duplicate_of))
        for name, value in rows:
            typer.echo(f"  {name:<18} {value}")
        for clock in report.clocks():
            typer.echo(f"  clock {_clock_line(clock, now)}")
        for sent in rt.security.notifications(report.id):
            typer.echo(f"  notified {sent['kind']} {sent['tenant']}: {sent['status']} {sent['at']}")
        if staff is not None:
            content = rt.security.read(report.id, staff_id=staff)
            typer.echo(f"\nReporter: {content.reporter or '-'} <{content.contact or '-'}>")
            typer.echo(f"Summary: {content.summary}\n\n{content.details}")


def _clock_line(clock: DeskClock, now: datetime) -> str:
    stage = clock.stage(now)
    note = f" ({clock.note})" if clock.note else ""
    return f"{clock.name:<17} due {when(clock.due_at)}  {time_left(clock.left(now))}  [{stage}]{note}"


def _transition(report_id: str, common: Common, action: str, **kwargs: object) -> None:
    with _desk(*common) as rt:
        report = getattr(rt.security, action)(report_id, **kwargs)
    running = any(clock.name == "fix" for clock in report.clocks())
    fix = f", fix due {when(report.fix_due_at)}" if running else ""
    typer.echo(f"{report.id}: {report.state}{fix}")


@security_app.command("ack")
def ack(
    report_id: ReportArgument,
    send: Annotated[bool, typer.Option("--send", help="E-mail the acknowledgement draft to the reporter.")] = False,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record that the reporter was acknowledged (stops the acknowledgement clock); with --send, e-mail them
    the acknowledgement draft first (CHARTER_SMTP_URL)."""
    if not send:
        _transition(report_id, (config, data_dir, database_url, keys_database_url), "acknowledge", actor=staff)
        return
    from charter.security import Mailer, MailError

    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        try:
            mailer = Mailer.from_env(rt.charter, os.environ)
        except MailError as exc:  # a setup mistake
            die(str(exc))
        if mailer is None:
            die("--send needs a mail server: set CHARTER_SMTP_URL")
        try:
            report = rt.security.send_acknowledgement(report_id, mailer=mailer, actor=staff)
        except MailError as exc:  # the server failed: nothing changed, try again later
            die(f"{exc}; the report stays received", 1)
    typer.echo(f"{report.id}: {report.state} (acknowledgement sent)")


@security_app.command("triage")
def triage(
    report_id: ReportArgument,
    cvss: Annotated[str, typer.Option("--cvss", help="CVSS v3.1 or v4.0 vector (CVSS:3.1/AV:N/...).")],
    app: Annotated[str | None, typer.Option("--app", help="The app concerned (its key).")] = None,
    affected: Annotated[str | None, typer.Option("--affected", help="Affected versions, e.g. '<2.3.1'.")] = None,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Score a report (or re-score it: the fix clock keeps its start)."""
    common = (config, data_dir, database_url, keys_database_url)
    _transition(report_id, common, "triage", cvss=cvss, app_key=app, affected=affected, actor=staff)


@security_app.command("start")
def start(
    report_id: ReportArgument,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record that work on a fix started."""
    _transition(report_id, (config, data_dir, database_url, keys_database_url), "start_fix", actor=staff)


@security_app.command("fixed")
def fixed(
    report_id: ReportArgument,
    version: Annotated[str, typer.Option("--version", help="The version that has the fix.")],
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record that the fix is ready (not yet released)."""
    common = (config, data_dir, database_url, keys_database_url)
    _transition(report_id, common, "fixed", version=version, actor=staff)


@security_app.command("release")
def release(
    report_id: ReportArgument,
    version: Annotated[
        str | None, typer.Option("--version", help="The released version, if not the fixed one.")
    ] = None,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record that the fix was released (stops the fix clock); then notify affected customers."""
    common = (config, data_dir, database_url, keys_database_url)
    _transition(report_id, common, "released", version=version, actor=staff)


@security_app.command("disclose")
def disclose(
    report_id: ReportArgument,
    title: Annotated[str, typer.Option("--title", help="The advisory's public title.")],
    text_file: Annotated[
        Path,
        typer.Option("--text-file", help="The advisory's text (Markdown); `security draft ID advisory` gives a start."),
    ],
    credit: Annotated[bool, typer.Option("--credit", help="Name the reporter (with their consent).")] = False,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Publish the advisory of a released fix on /trust/advisories."""
    text = _read_text(text_file, "--text-file")
    common = (config, data_dir, database_url, keys_database_url)
    _transition(report_id, common, "disclose", title=title, text=text, credit=credit, actor=staff)


@security_app.command("reject")
def reject(
    report_id: ReportArgument,
    duplicate_of: Annotated[
        str | None, typer.Option("--duplicate-of", help="Close as a duplicate of this report.")
    ] = None,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Close a report as not a vulnerability, or as a duplicate (--duplicate-of)."""
    common = (config, data_dir, database_url, keys_database_url)
    _transition(report_id, common, "reject", duplicate_of=duplicate_of, actor=staff)


@security_app.command("breach")
def breach(
    report_id: ReportArgument,
    aware_at: Annotated[
        str | None, typer.Option("--aware-at", help="When you became aware (ISO 8601 with a zone); default now.")
    ] = None,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Confirm a personal-data breach: starts the authority (72 h, GDPR Art. 33) and customer clocks."""
    at = parse_instant(aware_at, "--aware-at")
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        report = rt.security.confirm_breach(report_id, aware_at=at, actor=staff)
    typer.echo(
        f"{report.id}: breach confirmed; supervisory authority by {when(report.authority_due_at)}, "
        f"customers by {when(report.customers_due_at)}"
    )


@security_app.command("notified")
def notified(
    report_id: ReportArgument,
    authority: Annotated[bool, typer.Option("--authority", help="The supervisory authority was notified.")] = False,
    customers: Annotated[
        bool, typer.Option("--customers", help="Customers were told by other means than `notify`.")
    ] = False,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Record a breach notification made outside Charter (stops that clock)."""
    if authority == customers:
        die("give --authority or --customers (one of them)")
    whom: Literal["authority", "customers"] = "authority" if authority else "customers"
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        rt.security.breach_notified(report_id, whom=whom, actor=staff)
    typer.echo(f"{report_id}: {whom} notification recorded")


@security_app.command("contact")
def contact(
    tenant: Annotated[str, typer.Argument(help="The tenant id.")],
    email: Annotated[str, typer.Argument(help="The address its admins are notified at.")],
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Set the e-mail address a tenant is notified at (stored encrypted under the tenant's key)."""
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        rt.security.set_contact(tenant, email, actor=staff)
    typer.echo(f"contact of {tenant} set")


@security_app.command("affected")
def affected(
    report_id: ReportArgument,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """The tenants a report concerns (by app and affected versions; unknown versions count)."""
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        tenants = rt.security.affected(report_id)
    for item in tenants:
        typer.echo(f"{item.tenant_id}  {item.app_key} {item.app_version or '?'}  {item.reason}")
    typer.echo(f"{len(tenants)} affected tenant(s)")


@security_app.command("notify")
def notify(
    report_id: ReportArgument,
    breach_notice: Annotated[
        bool, typer.Option("--breach", help="The personal-data breach notice (else: the released fix).")
    ] = False,
    message_file: Annotated[
        Path | None, typer.Option("--message-file", help="Text added to the e-mail (what happened, what to do).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List who would be told; send nothing.")] = False,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """E-mail every affected tenant's contact over SMTP (CHARTER_SMTP_URL, CHARTER_SMTP_FROM); each send is
    recorded and a tenant told before is not told again. Exit 1 when a tenant could not be told."""
    from charter.security import Mailer, MailError

    message = _read_text(message_file, "--message-file") if message_file is not None else None
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        try:
            mailer = Mailer.from_env(rt.charter, os.environ)
        except MailError as exc:
            die(str(exc))
        kind: Literal["fix", "breach"] = "breach" if breach_notice else "fix"
        result = rt.security.notify(report_id, kind=kind, mailer=mailer, actor=staff, message=message, dry_run=dry_run)
    verb = "would send" if dry_run else "sent"
    for tenant in result.sent:
        typer.echo(f"{verb}: {tenant}")
    for tenant in result.already:
        typer.echo(f"told before: {tenant}")
    for tenant in result.no_contact:
        typer.echo(f"no contact: {tenant} (set one with `charter security contact`)", err=True)
    for tenant, reason in result.failed:
        typer.echo(f"failed: {tenant}: {reason}", err=True)
    typer.echo(
        f"{len(result.sent)} {verb}, {len(result.already)} told before, {len(result.no_contact)} without a contact, "
        f"{len(result.failed)} failed"
    )
    if not result.complete:
        raise typer.Exit(1)


@security_app.command("draft")
def draft(
    report_id: ReportArgument,
    what: Annotated[str, typer.Argument(help="ack, release-notes or advisory.")],
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Print a draft: the acknowledgement e-mail, release notes or the advisory."""
    if what not in ("ack", "release-notes", "advisory"):
        die(f"draft {what!r}: choose ack, release-notes or advisory")
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        typer.echo(rt.security.draft(report_id, what), nl=False)  # type: ignore[arg-type]


@security_app.command("status")
def status(
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Every running clock with the time left, breached first; security.txt expiry. Exit 1 when one is breached."""
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        now = rt.clock.now()
        clocks = rt.security.clocks()
        warnings = rt.security.warnings()
    clocks.sort(key=lambda c: (not c.breached(now), c.due_at))
    for warning in warnings:
        typer.echo(f"warning: {warning}")
    for clock in clocks:
        typer.echo(f"{clock.report_id}  {_clock_line(clock, now)}")
    breached = sum(1 for c in clocks if c.breached(now))
    typer.echo(f"{len(clocks)} running clock(s), {breached} breached" if clocks else "No running clocks.")
    if breached:
        raise typer.Exit(1)


@deps_app.command("audit")
def deps_audit(
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="A pip-audit or OSV-Scanner JSON report (offline); else pip-audit runs."),
    ] = None,
    staff: ActorOption = "cli",
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Check the installed dependencies for known vulnerabilities; each finding becomes a tracked item with a
    deadline. Exit 0: checked, none found; 1: vulnerabilities found; 2: nothing (or not everything) could be
    checked, which is never reported as "no vulnerabilities"."""
    from charter.security import AuditError, audit_dependencies, read_report_file, run_pip_audit

    try:
        text = read_report_file(input_file) if input_file is not None else run_pip_audit()
    except AuditError as exc:
        die(f"{exc}; nothing was checked")
    name = str(input_file) if input_file is not None else "pip-audit's report"
    with _desk(config, data_dir, database_url, keys_database_url) as rt:
        try:
            result = audit_dependencies(rt.security, text, actor=staff, name=name)
        except AuditError as exc:
            die(str(exc))
    for finding, report in result.opened:
        typer.echo(
            f"new: {report.id}  {finding.package} {finding.version} {finding.vuln_id}  fix by {when(report.fix_due_at)}"
        )
    for finding, report in result.tracked:
        typer.echo(f"tracked: {report.id}  {finding.package} {finding.version} {finding.vuln_id}  ({report.state})")
    typer.echo(
        f"{result.checked} package(s) checked, {len(result.findings)} known vulnerabilit"
        f"{'y' if len(result.findings) == 1 else 'ies'} ({len(result.opened)} new)"
    )
    if result.findings:
        raise typer.Exit(1)
