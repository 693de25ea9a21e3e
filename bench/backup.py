"""Backup and restore throughput (MB/s) and peak memory of Charter's encrypted snapshots of a ~1 GB SQLite data
database, against restic backing up a consistent copy of the same database and restoring it, in one run.

Usage::

    .venv/bin/python bench/backup.py [--size-mb 1024] [--tenants 3000] [--workdir /tmp/charter-bench-backup]
                                     [--repeat 1] [--profile] [--rebuild]

The database is built once per size and tenant count and cached in ``--workdir`` (with its key store and KEK
file, which its rows are sealed with): Connect tenants installed through the registry, then millions of small
JSON records of the charter's inventory kinds, each sealed under its tenant's data key by the keyring
(incompressible, as in production) and bulk-inserted with ``executemany`` in large transactions.

Each measured step runs in a fresh process, so its peak memory is that process's own (``ru_maxrss`` from
``os.wait4``, interpreter and imports included):

* **Charter backup**: ``BackupService.run(verify=False, destinations=["local"])`` (online backup API snapshot,
  zstd, streaming AES-256-GCM, write, fsync, put in the local destination);
* **Charter restore**: ``BackupService.restore(id, target)`` (decrypt, decompress, write, fsync, quick check,
  row counts, readability of every tenant);
* **copy + restic backup**: a consistent copy with Python's ``sqlite3`` online backup API (what an operator must
  do before restic may read a live SQLite file), then ``restic backup`` of the copy into a new repository;
* **restic restore**: ``restic restore latest --target DIR``.

MB/s is the database's size (10^6 bytes) over wall seconds. Both sides read the same database with the page
cache warm (it is read once before each backup; nobody drops caches), ``sync`` runs before every step, and the
two sides alternate which goes first. Charter's seconds are the service call; restic's are whole processes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHARTER_FILE = ROOT / "examples" / "forge-remote.toml"
APP = "com.example.issue-notes.connect"
RESTIC = "/usr/bin/restic"
RESTIC_PASSWORD = "fake-bench-restic-password"  # a fake password for a throw-away repository
RECORD_KINDS = {"note": 0.5, "note-author": 0.15, "support-message": 0.25, "support-attachment": 0.1}
MB = 1_000_000
DATA_VERSION = 2  # bump when the generated data changes: cached databases are keyed by it
MIB = 1 << 20
WORDS = (  # noqa: SIM905 - a word list reads better as one string
    "issue sprint board release customer deploy rollback review comment fixed blocked priority label story epic "
    "backlog owner pager incident latency database migration cache timeout queue retry install upgrade license "
    "marketplace invoice refund ticket reply attachment screenshot browser"
).split()


# -- building the database ---------------------------------------------------------------------------------


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def _value_pool(rng: random.Random, kind: str, count: int) -> list[bytes]:
    """Plaintext JSON values of about the size an app keeps per row (median ~170 bytes, a long tail)."""
    pool = []
    for i in range(count):
        size = int(min(2000, max(20, rng.lognormvariate(4.5, 0.7))))
        user = f"557058:fake-{rng.getrandbits(48):012x}"
        value: dict[str, Any]
        if kind == "note":
            value = {"issue": f"FAKE-{i}", "text": _text(rng, size), "author": user, "pinned": i % 7 == 0}
        elif kind == "note-author":
            value = {"accountId": user, "displayName": _text(rng, 18), "notes": rng.randrange(1, 200)}
        elif kind == "support-message":
            value = {"from": user, "subject": _text(rng, 40), "body": _text(rng, size), "status": "open"}
        else:
            value = {"name": f"screenshot-{i}.png", "size": rng.randrange(10**3, 10**7), "sha256": f"{i:064x}"}
        pool.append(json.dumps(value, separators=(",", ":")).encode())
    return pool


def _record_key(kind: str, n: int) -> str:
    if kind == "note":
        return f"FAKE-{n // 8}/{n:07d}"
    if kind == "note-author":
        return f"557058:fake-author-{n:07d}"
    if kind == "support-message":
        return f"ticket-{n // 5:06d}/{n:07d}"
    return f"ticket-{n // 3:06d}/attachment-{n:07d}"


def _install(rt: Any, n: int) -> str:
    from charter.atlassian import ConnectLifecycle

    payload = ConnectLifecycle.model_validate(
        {
            "key": APP,
            "clientKey": f"fake-client-key-{n:05d}",
            "sharedSecret": f"s1-fake-bench-secret-{n:05d}",
            "baseUrl": f"https://fake-bench-{n:05d}.atlassian.net",
            "productType": "jira",
            "eventType": "installed",
        }
    )
    return str(rt.registry.connect_installed(APP, payload, at=datetime.now(UTC)).id)


def _db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def build(data_dir: Path, size_mb: int, tenants: int) -> dict[str, Any]:
    """Fill a new data directory with ``tenants`` Connect tenants and sealed records up to ``size_mb``."""
    from charter.clock import SystemClock
    from charter.policy import load_charter
    from charter.runtime import open_runtime

    rng = random.Random(20261129)  # fake data, reproducible
    target = size_mb * MB
    started = time.perf_counter()
    charter = load_charter(CHARTER_FILE)
    with open_runtime(charter, data_dir=data_dir, clock=SystemClock(), environ={}) as rt:
        inventory = [item.name for item in charter.inventory.items]
        kinds = [k for k in RECORD_KINDS if k in inventory]
        weights = [RECORD_KINDS[k] for k in kinds]
        print(f"building: installing {tenants:,} Connect tenants ...", flush=True)
        ids = [_install(rt, n) for n in range(tenants)]
        installed = time.perf_counter()
        pools = {kind: _value_pool(rng, kind, 4000) for kind in kinds}
        now = datetime.now(UTC).replace(tzinfo=None)
        stamps = [
            (now - timedelta(seconds=rng.randrange(365 * 86400))).isoformat(" ", "microseconds") for _ in range(5000)
        ]
        # A few big tenants and a long tail of small ones, as on the Marketplace.
        share = [rng.lognormvariate(0, 1.3) for _ in ids]
        total_share = sum(share)
        counters = {(t, k): 0 for t in ids for k in kinds}
        path = data_dir / "charter.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous=OFF")
        seal = rt.keyring.seal
        insert = 'INSERT INTO records (tenant_id, kind, "key", value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'
        rows = 0
        batch = max(2_000, min(50_000, target // 600))  # about 500 bytes a row: the first round measures it
        while True:
            conn.execute("BEGIN")
            pending: list[tuple[str, str, str, bytes, str, str]] = []
            for tenant, part in zip(ids, share, strict=True):
                expected = batch * part / total_share
                count = int(expected) + (rng.random() < expected - int(expected))
                for _ in range(count):
                    kind = rng.choices(kinds, weights)[0]
                    n = counters[tenant, kind]
                    counters[tenant, kind] = n + 1
                    key = _record_key(kind, n)
                    plain = pools[kind][rng.randrange(len(pools[kind]))]
                    created = stamps[rng.randrange(len(stamps))]
                    sealed = seal(tenant, f"record:{kind}:{key}", plain)
                    pending.append((tenant, kind, key, sealed, created, created))
                if len(pending) >= 20_000:
                    conn.executemany(insert, pending)
                    rows += len(pending)
                    pending.clear()
            conn.executemany(insert, pending)
            rows += len(pending)
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = _db_bytes(path)
            print(f"  {rows:,} records, {size / MB:,.0f} MB", flush=True)
            if size >= target * 0.995:
                break
            per_row = size / rows
            remaining = int((target - size) / per_row)
            batch = max(2_000, min(remaining, 400_000))
        conn.close()
    built = time.perf_counter()
    return {
        "size_mb": size_mb,
        "tenants": tenants,
        "records": rows,
        "bytes": _db_bytes(path),
        "install_seconds": round(installed - started, 1),
        "build_seconds": round(built - started, 1),
        "built_at": datetime.now(UTC).isoformat(),
    }


def ensure_database(workdir: Path, size_mb: int, tenants: int, rebuild: bool) -> tuple[Path, dict[str, Any], bool]:
    cache = workdir / f"db-{size_mb}mb-{tenants}t-v{DATA_VERSION}"
    meta_file = cache / "meta.json"
    if meta_file.exists() and not rebuild:
        return cache / "data", json.loads(meta_file.read_text()), False
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    meta = build(cache / "data", size_mb, tenants)
    meta_file.write_text(json.dumps(meta, indent=2) + "\n")  # written last: the cache is complete
    return cache / "data", meta, True


# -- steps, each in a process of its own --------------------------------------------------------------------


def _rss_now() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Phases:
    """Wall time spent inside wrapped functions, and the first and last time each progress phase was seen."""

    def __init__(self) -> None:
        self.inside: dict[str, float] = {}
        self.seen: dict[str, list[float]] = {}
        self.start = time.perf_counter()

    def progress(self, phase: str, done: int, total: int) -> None:
        now = time.perf_counter() - self.start
        mark = self.seen.setdefault(phase, [now, now])
        mark[1] = now

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.inside[label] = self.inside.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, timed)

    def report(self) -> dict[str, Any]:
        return {"inside": self.inside, "seen": self.seen}


@contextlib.contextmanager
def _profiled(enabled: bool, out: dict[str, Any]) -> Iterator[None]:
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        text = io.StringIO()
        stats = pstats.Stats(profile, stream=text)
        stats.sort_stats("tottime").print_stats(14)
        stats.sort_stats("cumulative").print_stats(22)
        out["profile"] = text.getvalue()


def step_charter(action: str, data_dir: Path, args: dict[str, Any]) -> dict[str, Any]:
    from charter.backup import _destinations, _restore, _service, _sources
    from charter.clock import SystemClock
    from charter.logs import configure_logging
    from charter.policy import load_charter
    from charter.runtime import open_runtime

    configure_logging(level="warning")
    result: dict[str, Any] = {}
    with open_runtime(load_charter(CHARTER_FILE), data_dir=data_dir, clock=SystemClock(), environ={}) as rt:
        result["rss_before"] = _rss_now()
        phases = Phases()
        phases.wrap(os, "fsync", "fsync")
        if action == "backup":
            phases.wrap(_sources, "_count", "row counts")
            phases.wrap(_destinations.LocalDestination, "put", "put into the destination")
            started = time.perf_counter()
            phases.start = started
            with _profiled(args["profile"], result):
                manifest = rt.backups.run(verify=False, destinations=["local"], progress=phases.progress, actor="bench")
            result["seconds"] = time.perf_counter() - started
            result.update(snapshot=manifest.id, stored_bytes=manifest.stored_bytes, plain_bytes=manifest.plain_bytes)
        else:
            phases.wrap(_restore, "_write_chunks", "decrypt+decompress+write+fsync")
            phases.wrap(_restore, "check_sqlite_file", "open + row counts")
            phases.wrap(_service.BackupService, "readability", "readability of every tenant")
            phases.wrap(_service, "_table_counts", "row counts (again)")
            started = time.perf_counter()
            phases.start = started
            with _profiled(args["profile"], result):
                restored = rt.backups.restore(
                    args["snapshot"], args["target"], destination="local", actor="bench", progress=phases.progress
                )
            result["seconds"] = time.perf_counter() - started
            result.update(tenants_readable=len(restored.tenants_readable), records=restored.tables.get("records", 0))
        result["phases"] = phases.report()
    return result


def step_copy(source: Path, target: Path) -> dict[str, Any]:
    """A consistent copy of a live SQLite database, as an operator must make before restic may read it."""
    started = time.perf_counter()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    src.backup(dst)  # all pages in one step: one read transaction
    dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, as Charter's snapshot is
    dst.close()
    src.close()
    return {"seconds": time.perf_counter() - started}


def run_step(main_args: list[str]) -> None:
    args = json.loads(main_args[0])
    if args["action"] == "copy":
        result = step_copy(Path(args["source"]), Path(args["target"]))
    else:
        result = step_charter(args["action"], Path(args["data_dir"]), args)
    print("RESULT " + json.dumps(result))


# -- the parent: spawning and measuring ----------------------------------------------------------------------


# Runs a command as its own child and reports that child's wall time and peak RSS. The measured command is forked
# from this small process, not from the bench's: Linux counts the RSS a process had before exec in its peak.
WAIT4 = """
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
sys.stdout.flush()
print("WAIT4 " + json.dumps({"seconds": seconds, "maxrss": usage.ru_maxrss * 1024, "code": code}))
"""


def measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run ``cmd``; wall seconds, its peak RSS (bytes, ``ru_maxrss`` from ``os.wait4``) and its output.

    Dirty pages of earlier steps are written out first, so no step pays for another's writeback.
    """
    os.sync()
    with tempfile.TemporaryFile() as out:
        subprocess.run(
            [sys.executable, "-I", "-S", "-c", WAIT4, *cmd],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
        out.seek(0)
        output = out.read().decode(errors="replace")
    lines = [line for line in output.splitlines() if line.startswith("WAIT4 ")]
    result = json.loads(lines[-1][len("WAIT4 ") :]) if lines else {"code": -1}
    if result["code"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result['code']}):\n{output[-3000:]}")
    return float(result["seconds"]), int(result["maxrss"]), output


def python_step(**args: Any) -> dict[str, Any]:
    process_seconds, peak, output = measured([sys.executable, __file__, "--step", json.dumps(args)])
    line = next(line for line in reversed(output.splitlines()) if line.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    result.update(peak=peak, process_seconds=process_seconds)
    return result


def warm(path: Path) -> None:
    """Read the database once, so every reader finds it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def charter_round(data_dir: Path, run_dir: Path, profile: bool, meta: dict[str, Any]) -> dict[str, Any]:
    warm(data_dir / "charter.db")
    backup = python_step(action="backup", data_dir=str(data_dir), profile=profile)
    target = run_dir / "charter-restore" / "charter.db"
    shutil.rmtree(target.parent, ignore_errors=True)
    restore = python_step(
        action="restore", data_dir=str(data_dir), snapshot=backup["snapshot"], target=str(target), profile=profile
    )
    restored_bytes = target.stat().st_size
    shutil.rmtree(target.parent, ignore_errors=True)
    if restore["records"] != meta["records"] or restore["tenants_readable"] != meta["tenants"]:
        raise RuntimeError(f"Charter restored {restore['records']} records, {restore['tenants_readable']} tenants")
    for name in (f"{backup['snapshot']}.artifact", f"{backup['snapshot']}.manifest.json"):
        with contextlib.suppress(FileNotFoundError):
            (data_dir / "backups" / name).unlink()
    return {"backup": backup, "restore": restore, "restored_bytes": restored_bytes}


def restic_round(data_dir: Path, run_dir: Path) -> dict[str, Any]:
    repo, copy_dir, restore_dir = run_dir / "restic-repo", run_dir / "restic-source", run_dir / "restic-restore"
    for path in (repo, copy_dir, restore_dir):
        shutil.rmtree(path, ignore_errors=True)
    copy_dir.mkdir(parents=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(run_dir),
        "RESTIC_REPOSITORY": str(repo),
        "RESTIC_PASSWORD": RESTIC_PASSWORD,
        "RESTIC_CACHE_DIR": str(run_dir / "restic-cache"),
    }
    measured([RESTIC, "init", "--quiet"], env)
    warm(data_dir / "charter.db")
    copy = python_step(action="copy", source=str(data_dir / "charter.db"), target=str(copy_dir / "charter.db"))
    backup_s, backup_peak, _ = measured([RESTIC, "backup", "--quiet", "--host", "bench", str(copy_dir)], env)
    repo_bytes = du(repo)
    restore_s, restore_peak, _ = measured([RESTIC, "restore", "latest", "--quiet", "--target", str(restore_dir)], env)
    restored = restore_dir / str(copy_dir).lstrip("/") / "charter.db"
    restored_bytes = restored.stat().st_size
    if restored_bytes != (copy_dir / "charter.db").stat().st_size:
        raise RuntimeError("restic restored a file of another size")
    for path in (repo, copy_dir, restore_dir, run_dir / "restic-cache"):
        shutil.rmtree(path, ignore_errors=True)
    return {
        "copy": copy,
        "backup_seconds": backup_s,
        "backup_peak": backup_peak,
        "repo_bytes": repo_bytes,
        "restore_seconds": restore_s,
        "restore_peak": restore_peak,
        "restored_bytes": restored_bytes,
    }


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def machine() -> str:
    import zstandard

    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    restic = subprocess.run([RESTIC, "version"], capture_output=True, text=True, check=False).stdout.strip()
    return (
        f"cpu: {os.cpu_count()} x {model}; zstd level 1, one thread, "
        f"python-zstandard {zstandard.__version__}; SQLite {sqlite3.sqlite_version}; "
        f"Python {sys.version.split()[0]}; {restic}"
    )


def backup_phases(step: dict[str, Any]) -> list[tuple[str, float]]:
    """Where a Charter backup's wall time went, from its progress calls (no change to the service)."""
    seen, inside = step["phases"]["seen"], step["phases"]["inside"]
    s0, s1 = seen.get("snapshot", [0.0, 0.0])
    u0, u1 = seen.get("upload local", [s1, s1])
    return [
        ("online backup copy into scratch, row counts", s0),
        ("read the copy, SHA-256, zstd, AES-GCM, SHA-256, write the artifact", s1 - s0),
        ("finish, fsync, remove the copy, manifest", u0 - s1),
        ("put: copy the artifact into the local destination, fsync", u1 - u0),
        ("audit record", step["seconds"] - u1),
        ("(of all the above: os.fsync calls)", inside.get("fsync", 0.0)),
    ]


def restore_phases(step: dict[str, Any]) -> list[tuple[str, float]]:
    """Where a Charter restore's wall time went, from its progress calls and timers around its helpers."""
    seen, inside = step["phases"]["seen"], step["phases"]["inside"]
    first = seen.get("restore", [0.0, 0.0])[0]
    timed = [
        ("decrypt, zstd, write, fsync", inside.get("decrypt+decompress+write+fsync", 0.0)),
        ("open + row counts of the restored file", inside.get("open + row counts", 0.0)),
        ("readability of every tenant", inside.get("readability of every tenant", 0.0)),
        ("row counts again", inside.get("row counts (again)", 0.0)),
    ]
    rest = step["seconds"] - first - sum(seconds for _, seconds in timed)
    return [("list snapshots, unwrap the key, first chunk", first), *timed, ("other (open, audit)", rest)]


def print_phases(
    title: str, steps: list[dict[str, Any]], split: Callable[[dict[str, Any]], list[tuple[str, float]]]
) -> None:
    rows = [split(step) for step in steps]
    print(f"\n{title}, median of {len(steps)} round(s):")
    print("| phase | seconds |")
    print("|---|---:|")
    for i, (label, _) in enumerate(rows[0]):
        print(f"| {label} | {median([row[i][1] for row in rows]):.2f} |")
    if "profile" in steps[0]:
        print(steps[0]["profile"])


def report(meta: dict[str, Any], db_bytes: int, charter: list[dict[str, Any]], restic: list[dict[str, Any]]) -> None:
    mb = db_bytes / MB

    def rate(seconds: float) -> str:
        return f"{mb / seconds:,.0f}"

    cb = median([r["backup"]["seconds"] for r in charter])
    cr = median([r["restore"]["seconds"] for r in charter])
    copy_s = median([r["copy"]["seconds"] for r in restic])
    rb_only = median([r["backup_seconds"] for r in restic])
    rb = median([r["copy"]["seconds"] + r["backup_seconds"] for r in restic])
    rr = median([r["restore_seconds"] for r in restic])
    cb_peak = max(r["backup"]["peak"] for r in charter)
    cr_peak = max(r["restore"]["peak"] for r in charter)
    copy_peak = max(r["copy"]["peak"] for r in restic)
    rb_peak = max(max(r["backup_peak"], r["copy"]["peak"]) for r in restic)
    rb_only_peak = max(r["backup_peak"] for r in restic)
    rr_peak = max(r["restore_peak"] for r in restic)
    stored = charter[0]["backup"]["stored_bytes"]
    repo = restic[0]["repo_bytes"]
    base = charter[0]["backup"]["rss_before"]

    print()
    print(machine())
    print(
        f"database: {mb:,.0f} MB ({meta['tenants']:,} tenants, {meta['records']:,} sealed records); "
        f"{len(charter)} round(s), median seconds, highest peak"
    )
    print()
    print("| step | seconds | MB/s | peak MiB | stored MB | ratio vs restic |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| Charter backup (snapshot, zstd, AES-GCM, write, put) | {cb:.2f} | {rate(cb)} | {cb_peak / MIB:,.0f}"
        f" | {stored / MB:,.0f} | {rb / cb:.2f}x speed, {cb_peak / rb_peak:.2f}x memory |"
    )
    print(
        f"| copy (SQLite online backup) + restic backup | {rb:.2f} | {rate(rb)} | {rb_peak / MIB:,.0f}"
        f" | {repo / MB:,.0f} | |"
    )
    print(f"| of which: copy | {copy_s:.2f} | {rate(copy_s)} | {copy_peak / MIB:,.0f} | | |")
    print(f"| of which: restic backup | {rb_only:.2f} | {rate(rb_only)} | {rb_only_peak / MIB:,.0f} | | |")
    print(
        f"| Charter restore (decrypt, decompress, write, checks) | {cr:.2f} | {rate(cr)} | {cr_peak / MIB:,.0f} | |"
        f" {rr / cr:.2f}x speed, {cr_peak / rr_peak:.2f}x memory |"
    )
    print(f"| restic restore | {rr:.2f} | {rate(rr)} | {rr_peak / MIB:,.0f} | | |")
    print()
    print("| ratio | value | goal |")
    print("|---|---:|---:|")
    print(f"| Charter backup / (copy + restic backup), MB/s | {rb / cb:.2f}x | >= 1.2x |")
    print(f"| Charter restore / restic restore, MB/s | {rr / cr:.2f}x | >= 1.0x |")
    print(f"| Charter backup peak / restic backup peak | {cb_peak / rb_peak:.2f}x | <= 1.0x |")
    print(f"| Charter restore peak / restic restore peak | {cr_peak / rr_peak:.2f}x | <= 1.0x |")
    print()
    print(f"Charter process RSS before the step (interpreter, imports, runtime open): {base / MIB:,.0f} MiB")
    print_phases("Charter backup phases", [r["backup"] for r in charter], backup_phases)
    print_phases("Charter restore phases", [r["restore"] for r in charter], restore_phases)
    print(
        "\nEach round, seconds: Charter backup / restore (whole process, with start-up, imports and runtime open);"
        " copy + restic backup / restic restore (whole processes)"
    )
    for n, (c, r) in enumerate(zip(charter, restic, strict=True), 1):
        cb_, cr_ = c["backup"], c["restore"]
        print(
            f"  {n}: {cb_['seconds']:.2f} ({cb_['process_seconds']:.2f})"
            f" / {cr_['seconds']:.2f} ({cr_['process_seconds']:.2f});"
            f" {r['copy']['seconds']:.2f} + {r['backup_seconds']:.2f} / {r['restore_seconds']:.2f};"
            f" ratios {(r['copy']['seconds'] + r['backup_seconds']) / cb_['seconds']:.2f}x"
            f" / {r['restore_seconds'] / cr_['seconds']:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the database to build (MB)")
    parser.add_argument("--tenants", type=int, default=3000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/charter-bench-backup"))
    parser.add_argument("--repeat", type=int, default=1, help="rounds of each side (order alternates)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the Charter steps (slows them: to find where time goes, not for the figures)",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the database again even if cached")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        run_step([args.step])
        return
    if not Path(RESTIC).exists():
        sys.exit(f"{RESTIC} is missing: apt-get install restic")
    print("command: .venv/bin/python bench/backup.py " + " ".join(sys.argv[1:]), flush=True)
    data_dir, meta, fresh = ensure_database(args.workdir, args.size_mb, args.tenants, args.rebuild)
    print(
        f"database {'built' if fresh else 'cached'}: {meta['records']:,} records, {meta['tenants']:,} tenants; "
        f"build took {meta['build_seconds']:,.0f} s (of which tenant installs {meta['install_seconds']:,.0f} s)"
        f"{'' if fresh else ' when it was built'}",
        flush=True,
    )
    db = data_dir / "charter.db"
    checkpoint(db)
    db_bytes = db.stat().st_size
    run_dir = args.workdir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    charter: list[dict[str, Any]] = []
    restic: list[dict[str, Any]] = []
    sides: list[tuple[str, Callable[[], None]]] = [
        ("Charter", lambda: charter.append(charter_round(data_dir, run_dir, args.profile, meta))),
        ("restic", lambda: restic.append(restic_round(data_dir, run_dir))),
    ]
    try:
        for n in range(args.repeat):
            for name, side in sides if n % 2 == 0 else sides[::-1]:
                print(f"round {n + 1}: {name} ...", flush=True)
                side()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    report(meta, db_bytes, charter, restic)


if __name__ == "__main__":
    main()
