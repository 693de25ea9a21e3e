"""``charter backup``: run, list, verify, restore, prune and drill (thin shell over :mod:`charter.backup`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import Progress, TaskID

from charter.backup import BackupError, BackupService, PartialBackupError
from charter.cli._common import ConfigOption, die
from charter.cli._maintenance import DatabaseOption, DataDirOption, KeysDatabaseOption, _progress, runtime
from charter.jobs import RunnerLock
from charter.runtime import Runtime

__all__ = ["backup_app"]

backup_app = typer.Typer(
    help="Encrypted snapshots of the data, calendar retention, verification, restore and drills.",
    no_args_is_help=True,
)

DestinationOption = Annotated[
    str | None, typer.Option("--destination", "-d", help="A destination of [backups] (default: the first).")
]


@contextmanager
def _backups(config: Path, data_dir: Path, database_url: str | None, keys_url: str | None) -> Iterator[BackupService]:
    with runtime(config, data_dir, database_url, keys_url) as rt:
        try:
            rt.backups.policy  # noqa: B018 - fail early, with the reason, when the charter has no backups
            yield rt.backups
        except BackupError as exc:
            die(str(exc))


def _bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def _bar(progress: Progress) -> Callable[[str, int, int], None]:
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(phase, total=total or None)
        progress.update(tasks[phase], completed=done, total=total or None)

    return update


@backup_app.command("run")
def backup_run(
    config: ConfigOption = Path("charter.toml"),
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Verify the new snapshot in the first destination.")
    ] = True,
    destination: Annotated[
        list[str] | None, typer.Option("--destination", "-d", help="Only this destination (repeatable).")
    ] = None,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Take a snapshot now and write it to every destination of the charter."""
    with runtime(config, data_dir, database_url, keys_database_url) as rt, RunnerLock(rt, "backup") as acquired:
        if not acquired:
            die("another backup is running (charter serve or another charter backup); try again later")
        partial: PartialBackupError | None = None
        try:
            with _progress() as progress:
                manifest = rt.backups.run(verify=verify, progress=_bar(progress), destinations=destination or None)
        except PartialBackupError as exc:
            partial, manifest = exc, exc.manifest
        except BackupError as exc:
            die(str(exc))
    where = f" in {', '.join(partial.written)}" if partial else ""
    typer.echo(
        f"snapshot {manifest.id}{where}: {sum(manifest.tables.values())} rows, {_bytes(manifest.plain_bytes)} "
        f"-> {_bytes(manifest.stored_bytes)} encrypted (key {manifest.kek_id})"
        + (", verified" if verify else ", not verified (--no-verify)")
    )
    if partial:
        typer.echo(f"charter: error: {partial}", err=True)
        raise typer.Exit(1)


@backup_app.command("list")
def backup_list(
    config: ConfigOption = Path("charter.toml"),
    destination: DestinationOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """List the complete snapshots of a destination, newest first (times in UTC and the charter's zone)."""
    with _backups(config, data_dir, database_url, keys_database_url) as backups:
        snapshots = backups.snapshots(destination)
        zone = ZoneInfo(backups.policy.time_zone)
    if not snapshots:
        typer.echo("No snapshot yet." if not as_json else "", nl=not as_json)
        return
    for snap in snapshots:
        m = snap.manifest
        if as_json:
            line = {
                "id": snap.id,
                "destination": snap.destination,
                "taken_at": m.taken_at.isoformat() if m else None,
                "stored_bytes": m.stored_bytes if m else None,
                "rows": sum(m.tables.values()) if m else None,
                "kek_id": m.kek_id if m else None,
                "verified_at": snap.verified_at.isoformat() if snap.verified_at else None,
                "failed_at": snap.failed_at.isoformat() if snap.failed_at else None,
                "problem": snap.problem,
            }
            typer.echo(json.dumps(line))
        elif m is None:
            typer.echo(f"{snap.id}  DAMAGED: {snap.problem}")
        else:
            local = m.taken_at.astimezone(zone)
            if snap.verified_at:
                verified = f"verified {snap.verified_at:%Y-%m-%d %H:%MZ}"
            elif snap.failed_at:
                verified = f"FAILED verification {snap.failed_at:%Y-%m-%d %H:%MZ}"
            else:
                verified = "not verified"
            typer.echo(
                f"{snap.id}  {m.taken_at:%Y-%m-%d %H:%M:%SZ} ({local:%Y-%m-%d %H:%M %Z})  "
                f"{_bytes(m.stored_bytes):>9}  {sum(m.tables.values())} rows  {verified}"
            )


@backup_app.command("verify")
def backup_verify(
    snapshot: Annotated[str, typer.Argument(help="A snapshot id, or 'latest'.")] = "latest",
    config: ConfigOption = Path("charter.toml"),
    destination: DestinationOption = None,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Decrypt, decompress and open a snapshot; check integrity and row counts (exit 1 if it fails)."""
    with _backups(config, data_dir, database_url, keys_database_url) as backups, _progress() as progress:
        try:
            result = backups.verify(snapshot, destination=destination, progress=_bar(progress))
        except BackupError as exc:
            die(str(exc))
    if result.ok:
        typer.echo(f"snapshot {result.snapshot_id} in '{result.destination}' verified ({result.seconds:.1f} s)")
        return
    for problem in result.problems:
        typer.echo(
            problem if problem.startswith("snapshot ") else f"snapshot {result.snapshot_id}: {problem}", err=True
        )
    typer.echo(f"snapshot {result.snapshot_id} in '{result.destination}' FAILED verification", err=True)
    raise typer.Exit(1)


@backup_app.command("restore")
def backup_restore(
    snapshot: Annotated[str, typer.Argument(help="A snapshot id, or 'latest'.")],
    to: Annotated[
        str, typer.Option("--to", help="SQLite: the database file to create. PostgreSQL: an empty database's URL.")
    ],
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace an existing file (moved aside, not deleted). Stop serve first."),
    ] = False,
    config: ConfigOption = Path("charter.toml"),
    destination: DestinationOption = None,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Restore a snapshot. Data of tenants purged since it was taken stays unreadable (keys destroyed)."""
    with runtime(config, data_dir, database_url, keys_database_url) as rt:
        try:
            with _progress() as progress:
                result = rt.backups.restore(
                    snapshot, to, destination=destination, replace=replace, progress=_bar(progress)
                )
        except BackupError as exc:
            die(str(exc))
        reapplied = 0
        live = rt.database.url.database
        if replace and live and Path(live).resolve() == Path(to).expanduser().resolve():
            # the live database is the snapshot now: tenants purged since must not come back, even unreadable
            reapplied = _reapply_purges(rt, result.tenants_key_destroyed)
    if result.moved_aside:
        typer.echo(f"the previous database was moved to {result.moved_aside}")
    deleted = f", their rows deleted again ({reapplied} receipt(s))" if reapplied else ""
    typer.echo(
        f"restored {result.snapshot_id} to {result.target} in {result.seconds:.1f} s: "
        f"{sum(result.tables.values())} rows; {len(result.tenants_readable)} tenant(s) readable, "
        f"{len(result.tenants_key_destroyed)} purged since (keys destroyed, unreadable){deleted}"
    )
    if result.tenants_unreadable:
        typer.echo(
            f"charter: error: {len(result.tenants_unreadable)} tenant(s) have keys but their values do not open "
            "(key versions retired after this snapshot): their data is not recoverable from it",
            err=True,
        )
        raise typer.Exit(1)


@backup_app.command("prune")
def backup_prune(
    config: ConfigOption = Path("charter.toml"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what is kept and why; delete nothing.")] = False,
    destination: DestinationOption = None,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Apply [backups.keep] (calendar periods in backups.time_zone): print each snapshot kept, with its reasons."""
    with runtime(config, data_dir, database_url, keys_database_url) as rt, RunnerLock(rt, "backup") as acquired:
        if not acquired and not dry_run:
            die("a backup is running (charter serve or another charter backup); try again later")
        try:
            with _progress() as progress:
                plan = rt.backups.prune(destination=destination, dry_run=dry_run, progress=_bar(progress))
        except BackupError as exc:
            die(str(exc))
    for decision in plan.decisions:
        if decision.keep:
            typer.echo(f"keep    {decision.snapshot_id}  {', '.join(decision.reasons)}")
    for decision in plan.decisions:
        if not decision.keep:
            typer.echo(f"{'would remove' if dry_run else 'removed'} {decision.snapshot_id}")
    for name in plan.orphans:
        typer.echo(f"{'would remove' if dry_run else 'removed'} {name} (left by an interrupted run)")
    for snapshot_id in plan.damaged:
        typer.echo(f"left    {snapshot_id}  (damaged manifest or failed verification: not removed; look at it)")
    kept = sum(1 for d in plan.decisions if d.keep)
    verb = "would be removed (--dry-run: nothing deleted)" if dry_run else "removed"
    typer.echo(f"{kept} kept, {len(plan.removed)} {verb} in '{plan.destination}'")


@backup_app.command("drill")
def backup_drill(
    config: ConfigOption = Path("charter.toml"),
    destination: DestinationOption = None,
    scratch_url: Annotated[
        str | None, typer.Option("--scratch-url", help="PostgreSQL: an empty database to restore into.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Restore the latest snapshot to a scratch place; measure RTO and RPO against the charter (exit 1 if missed)."""
    with _backups(config, data_dir, database_url, keys_database_url) as backups, _progress() as progress:
        try:
            drill = backups.drill(destination=destination, scratch_url=scratch_url, progress=_bar(progress))
        except BackupError as exc:
            die(str(exc))
    if as_json:
        typer.echo(json.dumps(drill.as_dict(), indent=2))
    else:
        rto = f"RTO {drill.rto_seconds / 3600:g} h" if drill.rto_seconds is not None else "no RTO promised"
        rpo = f"RPO {drill.rpo_seconds / 3600:g} h" if drill.rpo_seconds is not None else "no RPO promised"
        restored = drill.tenants_readable + drill.tenants_key_destroyed > 0 or not drill.problems
        typer.echo(
            f"drill of {drill.snapshot_id} from '{drill.destination}': "
            + (f"restored in {drill.restore_seconds:.1f} s " if restored else "restore FAILED ")
            + f"({rto}); newest data {drill.data_age_seconds / 3600:.2f} h old ({rpo}); "
            f"{drill.tenants_readable} tenant(s) readable, {drill.tenants_key_destroyed} purged"
        )
        typer.echo("drill passed" if drill.ok else "drill FAILED: " + "; ".join(drill.problems))
    if not drill.ok:
        raise typer.Exit(1)


@backup_app.command("recover")
def backup_recover(
    config: ConfigOption = Path("charter.toml"),
    snapshot: Annotated[str, typer.Option("--snapshot", help="A data snapshot id, or 'latest'.")] = "latest",
    destination: DestinationOption = None,
    data_dir: DataDirOption = Path(".charter"),
    database_url: DatabaseOption = None,
    keys_database_url: KeysDatabaseOption = None,
) -> None:
    """Disaster recovery: rebuild the key store and the data from a destination, with only the KEK at hand.

    Put the KEK back first (the key file in <data dir>/keys/kek.key, or CHARTER_KEK, or the KMS settings).
    The data directory must not hold Charter's databases yet (PostgreSQL: empty databases).
    """
    import os

    from charter.backup import recover
    from charter.cli._common import load_or_exit
    from charter.clock import SystemClock
    from charter.runtime import SetupError, kek_ring, open_runtime

    charter = load_or_exit(config)
    try:
        ring = kek_ring(charter, data_dir.expanduser(), os.environ, new=False)
    except SetupError as exc:
        die(f"{exc}. Recovery needs the key-encryption key the backups were made with.")
    try:
        result = recover(
            charter,
            data_dir=data_dir.expanduser(),
            kek=ring,
            clock=SystemClock(),
            environ=dict(os.environ),
            database_url=database_url,
            keys_database_url=keys_database_url,
            snapshot=snapshot,
            destination=destination,
        )
    except BackupError as exc:
        die(str(exc))
    typer.echo(
        f"recovered snapshot {result.snapshot_id} ({result.rows} rows) into {result.database} and key-store "
        f"backup {result.key_backup_id} ({result.keys} keys) into {result.key_database}"
    )
    try:
        with open_runtime(
            charter,
            data_dir=data_dir.expanduser(),
            clock=SystemClock(),
            database_url=database_url,
            keys_database_url=keys_database_url,
        ) as rt:
            readable, purged, unreadable = rt.backups.readability(rt.database)
            report = rt.audit.verify()
            rt.audit.record(
                "backup.recovered",
                actor="cli",
                payload={"snapshot": result.snapshot_id, "key_backup": result.key_backup_id},
            )
            reapplied = _reapply_purges(rt, purged)
    except SetupError as exc:
        die(str(exc))
    typer.echo(
        f"{len(readable)} tenant(s) readable; {len(purged)} purged after the snapshot, their rows deleted again "
        f"({reapplied} receipt(s)); audit log {'intact' if report.ok else 'NOT intact'} ({report.entries} entries)"
    )
    if unreadable:
        typer.echo(
            f"charter: error: {len(unreadable)} tenant(s) have keys but their values do not open "
            "(key versions retired after the snapshot): their data is lost in this recovery",
            err=True,
        )
    if not report.ok or unreadable:
        raise typer.Exit(1)


def _reapply_purges(rt: Runtime, tenants: list[str]) -> int:
    """Delete again, with receipts, the rows of tenants purged after the snapshot (their keys are destroyed),
    and the support attachments and communications deleted after it."""
    purged = sum(1 for tenant_id in tenants if rt.purger.reapply(tenant_id, actor="cli") is not None)
    return purged + len(rt.support.reconcile(actor="cli"))
