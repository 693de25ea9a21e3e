"""``charter purge``, ``charter keys`` and ``charter audit``: maintenance on the running state."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from charter.cli._common import RUNNING_TOLERATES, ConfigOption, die, load_or_exit
from charter.clock import SystemClock
from charter.runtime import Runtime, SetupError, open_runtime

__all__ = ["audit_app", "keys_app", "purge", "records_app", "tenants_app"]

DataDirOption = Annotated[
    Path, typer.Option("--data-dir", envvar="CHARTER_DATA_DIR", help="Where Charter keeps its data.")
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="CHARTER_DATABASE_URL", help="PostgreSQL URL (default: SQLite in --data-dir)."
    ),
]
KeysDatabaseOption = Annotated[
    str | None,
    typer.Option("--keys-database-url", envvar="CHARTER_KEYS_DATABASE_URL", help="The key store (default: keys.db)."),
]


@contextmanager
def runtime(config: Path, data_dir: Path, database_url: str | None, keys_database_url: str | None) -> Iterator[Runtime]:
    charter = load_or_exit(config, tolerate=RUNNING_TOLERATES)
    if not data_dir.expanduser().exists():
        # A mistyped --data-dir must not quietly become a new, empty installation with a new key.
        die(f"data directory {data_dir} does not exist (check --data-dir; `charter serve` creates it)")
    try:
        opened = open_runtime(
            charter,
            data_dir=data_dir,
            clock=SystemClock(),
            database_url=database_url,
            keys_database_url=keys_database_url,
        )
    except SetupError as exc:
        die(str(exc))
    with opened:
        yield opened


def _progress() -> Progress:
    """A progress bar on stderr, shown only on a terminal (stdout stays the command's result)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
    )


def waiting(progress: Progress) -> Callable[[float], None]:
    """Wait (real time) with a line saying why: running processes drop old data keys within the cache TTL."""

    def wait(seconds: float) -> None:
        progress.console.print(
            f"waiting {seconds:.0f} s until running processes no longer use the old data keys (cache TTL) ..."
        )
        time.sleep(seconds)

    return wait


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def purge(
    config: ConfigOption = Path("charter.toml"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what is due and why; delete nothing.")] = False,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Purge every tenant whose retention has ended (crypto-shred, delete, receipt in the audit log)."""
    with runtime(config, data_dir, database_url, keys_database_url) as rt:
        due = rt.purger.due()
        if rt.charter.retention.tenant_data_after_uninstall is None:
            typer.echo("retention.tenant_data_after_uninstall is not set: no tenant is ever due.")
        if not due:
            typer.echo("Nothing is due.")
            return
        for item in due:
            typer.echo(
                f"{item.tenant_id}  {item.platform} {item.app_key}  {item.state} since {_when(item.clock_started_at)}"
                f"  due {_when(item.due_at)} by {item.rule}"
            )
        if dry_run:
            typer.echo(f"{len(due)} tenant(s) due; nothing was deleted (--dry-run).")
            return
        with _progress() as progress:
            task = progress.add_task("purging", total=len(due))
            receipts = rt.purger.run(actor="cli", progress=lambda done, total: progress.update(task, completed=done))
        from charter.jobs import save_key_backups

        if receipts:
            # the key-store backups must not keep the destroyed keys
            for failure in save_key_backups(rt, actor="cli"):
                typer.echo(f"warning: {failure}; the next backup run rewrites it", err=True)
        for receipt in receipts:
            keys = ", ".join(receipt.keys_destroyed) or "none"
            typer.echo(f"purged {receipt.tenant_id}: audit entry {receipt.audit_seq}, keys destroyed: {keys}")


keys_app = typer.Typer(help="Key-encryption and data keys: status and rotation.", no_args_is_help=True)


@keys_app.command("status")
def keys_status(
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Show the current KEK and how many data keys each KEK wraps."""
    with runtime(config, data_dir, database_url, keys_database_url) as rt:
        current = rt.keyring.kek_id
        typer.echo(f"current key-encryption key: {current}")
        for kek_id, count in sorted(rt.keyring.kek_usage().items()):
            marker = "" if kek_id == current else "   (re-wrap with: charter keys rotate --rewrap)"
            typer.echo(f"  {kek_id}: {count} data key(s){marker}")
        typer.echo("(data keys: each tenant's, one per version not yet retired, and the audit log's own key)")


@keys_app.command("rotate")
def keys_rotate(
    config: ConfigOption = Path("charter.toml"),
    kek: Annotated[
        bool, typer.Option("--kek", help="Make a new file KEK and re-wrap every data key under it.")
    ] = False,
    rewrap: Annotated[bool, typer.Option("--rewrap", help="Re-wrap data keys still under a previous KEK.")] = False,
    data_keys: Annotated[bool, typer.Option("--data-keys", help="Give every tenant a new data key version.")] = False,
    re_encrypt: Annotated[
        bool, typer.Option("--re-encrypt", help="Re-encrypt every value under the newest data key, retire the old.")
    ] = False,
    retire: Annotated[
        bool,
        typer.Option(
            "--retire",
            help="With --re-encrypt: destroy old data key versions even though backups taken before may need them.",
        ),
    ] = False,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Rotate keys without downtime: every value stays readable throughout."""
    from charter.rotation import KeyRotationError, reencrypt_all, rotate_data_keys, rotate_kek

    if not (kek or rewrap or data_keys or re_encrypt):
        die("say what to rotate: --kek, --rewrap, --data-keys and/or --re-encrypt")
    with runtime(config, data_dir, database_url, keys_database_url) as rt:
        try:
            with _progress() as progress:

                def step(name: str) -> Callable[[int, int], None]:
                    task = progress.add_task(name, total=None)
                    return lambda done, total: progress.update(task, completed=done, total=total)

                if kek or rewrap:
                    result = rotate_kek(rt, new_file_kek=kek, progress=step("re-wrapping data keys"))
                    typer.echo(result)
                if data_keys:
                    typer.echo(rotate_data_keys(rt, progress=step("new data key versions")))
                if re_encrypt:
                    typer.echo(
                        reencrypt_all(
                            rt, progress=step("re-encrypting"), wait=waiting(progress), retire=True if retire else None
                        )
                    )
        except KeyRotationError as exc:
            die(str(exc))
        from charter.jobs import save_key_backups

        if retire and re_encrypt:
            typer.echo(
                "warning: old data key versions were destroyed: values in snapshots taken before the re-encryption "
                "no longer open",
                err=True,
            )
        # the key-store backups must hold the keys as they are now (new versions, new KEK wrapping)
        for failure in save_key_backups(rt, actor="cli"):
            typer.echo(f"warning: {failure}; the next backup run rewrites it", err=True)


audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Check that no audit entry was edited, removed or reordered (exit 1 if one was)."""
    with runtime(config, data_dir, database_url, keys_database_url) as rt:
        report = rt.audit.verify()
    if report.ok:
        typer.echo(f"audit log intact: {report.entries} entries, head {report.head}")
        return
    for problem in report.problems:
        typer.echo(f"audit log: {problem}", err=True)
    typer.echo(f"audit log NOT intact: {len(report.problems)} problem(s) in {report.entries} entries", err=True)
    raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    config: ConfigOption = Path("charter.toml"),
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's entries.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only entries of this kind, e.g. tenant.purged.")] = None,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Print audit entries as JSON lines."""
    with runtime(config, data_dir, database_url, keys_database_url) as rt:
        for entry in rt.audit.entries(tenant_id=tenant, kind=kind):
            typer.echo(
                json.dumps(
                    {
                        "seq": entry.seq,
                        "at": entry.at.isoformat(),
                        "kind": entry.kind,
                        "actor": entry.actor,
                        "tenant": entry.tenant_id,
                        "payload": entry.payload,
                        "hash": entry.hash,
                    }
                )
            )


tenants_app = typer.Typer(help="The tenants Charter knows: ids and lifecycle states.", no_args_is_help=True)


@tenants_app.command("list")
def tenants_list(
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Print every tenant as a JSON line: Charter's id, the Atlassian ids (clientKey, cloudId, installationId),
    the state and since when, and when its purge is due (no secrets, no personal data)."""
    with runtime(config, data_dir, database_url, keys_database_url) as rt:
        for tenant in rt.registry.all():
            due = rt.purger.due_at(tenant)
            line = {
                "tenant": tenant.id,
                "platform": tenant.platform,
                "app": tenant.app_key,
                "client_key": tenant.client_key,
                "cloud_id": tenant.cloud_id,
                "installation_id": tenant.installation_id,
                "state": str(tenant.state),
                "since": tenant.state_since.isoformat(),
                "purge_due": due.isoformat() if due else None,
            }
            typer.echo(json.dumps(line))


records_app = typer.Typer(
    help="Read a tenant's records as staff: a reason is required and every read is audited.", no_args_is_help=True
)
StaffOption = Annotated[
    str, typer.Option("--staff", envvar="CHARTER_STAFF_ID", help="Your staff id (recorded in the audit log).")
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why you need this data, e.g. a support case id.")]


@contextmanager
def _staff_access(config: Path, data_dir: Path, database_url: str | None, keys_url: str | None) -> Iterator[Any]:
    from charter.access import StaffAccess

    with runtime(config, data_dir, database_url, keys_url) as rt:
        try:
            yield StaffAccess(rt.store, rt.registry, rt.audit)
        except ValueError as exc:  # AccessDeniedError, UndeclaredKindError, a bad key: the user's mistake
            die(str(exc))


@records_app.command("get")
def records_get(
    tenant: Annotated[str, typer.Argument(help="The tenant id (see `charter tenants list`).")],
    kind: Annotated[str, typer.Argument(help="The record kind (an inventory item).")],
    key: Annotated[str, typer.Argument(help="The record key.")],
    staff: StaffOption,
    reason: ReasonOption,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Print one record's value as JSON (exit 1 when there is none)."""
    with _staff_access(config, data_dir, database_url, keys_database_url) as access:
        value = access.get(tenant, kind, key, staff_id=staff, reason=reason)
    if value is None:
        typer.echo(f"charter: no {kind} record {key!r} for tenant {tenant}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@records_app.command("list")
def records_list(
    tenant: Annotated[str, typer.Argument(help="The tenant id (see `charter tenants list`).")],
    kind: Annotated[str, typer.Argument(help="The record kind (an inventory item).")],
    staff: StaffOption,
    reason: ReasonOption,
    prefix: Annotated[str, typer.Option("--prefix", help="Only keys starting with this.")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many records.")] = 100,
    config: ConfigOption = Path("charter.toml"),
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Print records of a kind, one JSON object per line with "key" and "value"."""
    with _staff_access(config, data_dir, database_url, keys_database_url) as access:
        rows = access.list(tenant, kind, prefix=prefix, limit=limit, staff_id=staff, reason=reason)
    for key, value in rows:
        typer.echo(json.dumps({"key": key, "value": value}, ensure_ascii=False))
