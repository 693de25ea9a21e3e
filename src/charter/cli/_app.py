"""The ``charter`` command line: a thin shell over the library API."""

from __future__ import annotations

import errno
import json
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from charter import __version__
from charter.cli._backup import backup_app
from charter.cli._common import (
    EXIT_PROBLEM,
    RUNNING_TOLERATES,
    ConfigOption,
    die,
    load_or_exit,
    print_problems,
    stdout_bytes,
    write_atomically,
)
from charter.cli._evidence import verify
from charter.cli._maintenance import audit_app, keys_app, purge, records_app, tenants_app
from charter.cli._privacy import contacts_app, dsr_app, privacy_app
from charter.cli._redact import redact
from charter.cli._security import deps_app, security_app
from charter.cli._support import support_app
from charter.clock import SystemClock
from charter.policy import (
    CATEGORIES,
    HOSTING_MODELS,
    CheckResult,
    check_file,
    is_personal,
    schema_reference,
    starter_charter,
)

app = typer.Typer(
    name="charter",
    help="Charter: every promise of your Data Security & Privacy Statement, enforced and published.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DEFAULT_CONFIG = Path("charter.toml")

app.command()(purge)
app.command()(verify)
app.command()(redact)
app.add_typer(backup_app, name="backup")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(tenants_app, name="tenants")
app.add_typer(records_app, name="records")
app.add_typer(support_app, name="support")
app.add_typer(security_app, name="security")
app.add_typer(deps_app, name="deps")
app.add_typer(privacy_app, name="privacy")
app.add_typer(dsr_app, name="dsr")
app.add_typer(contacts_app, name="contacts")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"charter {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Charter: every promise of your Data Security & Privacy Statement, enforced and published."""
    from charter.logs import configure_logging

    # Commands print their result on stdout; log lines (warnings and errors only) go to stderr.
    # `charter serve` configures its own level.
    configure_logging(level="warning")


@app.command()
def check(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON.")] = False,
) -> None:
    """Validate the charter: report every problem with its TOML path and line (exit 2 if any error)."""
    result = check_file(config, clock=SystemClock())
    if result.charter is not None:
        result = _with_coverage(result)
    errors = [p for p in result.problems if p.severity == "error"]
    if as_json:
        payload = {
            "file": str(config),
            "ok": result.ok,
            "problems": [
                {
                    "line": p.line,
                    "path": p.where,
                    "severity": p.severity,
                    "rule": p.rule,
                    "message": p.message,
                }
                for p in result.problems
            ],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        print_problems(str(config), result.problems)
    if errors:
        if not as_json:
            typer.echo(f"{config}: {len(errors)} error{'s' if len(errors) != 1 else ''}", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    if not as_json:
        warnings = len(result.problems)
        suffix = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        typer.echo(f"{config}: OK{suffix}")


def _with_coverage(result: CheckResult) -> CheckResult:
    """Add a problem for every promise of the statement that no evidence check covers."""
    from charter.evidence import coverage_problems
    from charter.policy import Problem
    from charter.statement import build_statement

    assert result.charter is not None
    statement = build_statement(result.charter)
    sources = [source for section in statement.sections for s in section.sentences for source in s.sources]
    missing = [
        Problem(
            line=None,
            path=(),
            message=f"the statement's promise `{path}` has no evidence check, so `charter verify` could not prove it",
            rule="evidence-coverage",
        )
        for path in coverage_problems(sources)
    ]
    return CheckResult(result.charter, [*result.problems, *missing])


class StatementFormat(StrEnum):
    md = "md"
    html = "html"
    txt = "txt"
    security_txt = "security.txt"
    marketplace_json = "marketplace.json"


@app.command()
def statement(
    config: ConfigOption = DEFAULT_CONFIG,
    fmt: Annotated[
        StatementFormat, typer.Option("--format", "-f", help="What to render.", case_sensitive=False)
    ] = StatementFormat.md,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file (atomically) instead of stdout.")
    ] = None,
) -> None:
    """Render the published statement (md, html, txt), security.txt or the Marketplace answers."""
    from charter.statement import build_statement, marketplace_answers, render, render_security_txt

    charter = load_or_exit(config)
    if fmt is StatementFormat.security_txt:
        text = render_security_txt(charter)
    elif fmt is StatementFormat.marketplace_json:
        text = json.dumps(marketplace_answers(charter), indent=2) + "\n"
    else:
        text = render(build_statement(charter), fmt.value)  # type: ignore[arg-type]
    data = text.encode("utf-8")
    if out is None:
        stdout_bytes(data)
        return
    if out.is_dir():
        die(f"--out {out} is a directory; give a file name")
    if not out.parent.is_dir():
        die(f"--out {out}: directory {out.parent} does not exist")
    try:
        write_atomically(out, data)
    except OSError as exc:
        die(f"--out {out}: cannot write there ({exc.strerror})")
    typer.echo(f"wrote {out}", err=True)


@app.command()
def init(
    hosting: Annotated[
        str,
        typer.Option("--hosting", help=f"Hosting model: {', '.join(HOSTING_MODELS)}."),
    ] = "forge-remote",
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the starter charter.")] = DEFAULT_CONFIG,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter charter for a hosting model."""
    if hosting not in HOSTING_MODELS:
        die(f"--hosting '{hosting}' is not a hosting model; use one of: {', '.join(HOSTING_MODELS)}")
    if out.is_dir():
        die(f"{out} is a directory; give a file name")
    if out.exists() and not force:
        die(f"{out} already exists; nothing was written (use --force to overwrite it)")
    if not out.parent.is_dir():
        die(f"directory {out.parent} does not exist")
    text = starter_charter(hosting, SystemClock())
    try:
        write_atomically(out, text.encode("utf-8"))
    except OSError as exc:
        die(f"cannot write {out} ({exc.strerror})")
    typer.echo(f"wrote {out} ({hosting}); edit it, then run: charter check --config {out}")


@app.command()
def categories() -> None:
    """List the data categories an inventory item may use."""
    width = max(len(k) for k in CATEGORIES)
    for key, category in CATEGORIES.items():
        mark = "personal" if is_personal(key) else "        "
        typer.echo(f"{key:<{width}}  {mark}  {category.description}")


@app.command()
def reference() -> None:
    """Print the reference of every table and key of charter.toml (Markdown)."""
    typer.echo(schema_reference(), nl=False)


@app.command()
def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", envvar="CHARTER_DATA_DIR", help="Where Charter keeps its data.")
    ] = Path(".charter"),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="CHARTER_DATABASE_URL",
            help="PostgreSQL URL to share one database between replicas (default: SQLite in --data-dir).",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", envvar="CHARTER_HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", envvar="CHARTER_PORT", min=1, max=65535, help="Port to listen on.")
    ] = 8000,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
    keys_database_url: Annotated[
        str | None,
        typer.Option(
            "--keys-database-url", envvar="CHARTER_KEYS_DATABASE_URL", help="The key store (default: keys.db)."
        ),
    ] = None,
    vendor_app: Annotated[
        str | None,
        typer.Option(
            "--app",
            envvar="CHARTER_APP",
            help="Your app's routes: path/to/app.py or package.module (optionally :attribute, default routes).",
        ),
    ] = None,
) -> None:
    """Serve the trust pages, security.txt, health check, the Forge/Connect endpoints and your app's routes."""
    import uvicorn

    from charter.logs import configure_logging, uvicorn_log_config
    from charter.server import ServeError, Settings, load_routes, prepare

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        die(f"--log-level '{log_level}' is not one of debug, info, warning, error")
    charter = load_or_exit(config, tolerate=RUNNING_TOLERATES)
    try:
        settings = Settings.from_env()
        routes = load_routes(vendor_app) if vendor_app else None
    except ServeError as exc:
        die(str(exc))
    if routes is not None and not charter.vendor_hosted_apps:
        die("--app needs a forge-remote or connect app in the charter to serve its routes")
    _check_port(host, port)
    configure_logging(level=log_level.lower())
    try:
        application, where = prepare(
            charter,
            data_dir=data_dir,
            database_url=database_url,
            keys_database_url=keys_database_url,
            clock=SystemClock(),
            routes=routes,
            settings=settings,
            scheduler=True,
        )
    except ServeError as exc:
        die(str(exc))
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"Charter {__version__} serving {config} at http://{shown}:{port}/trust (data: {where})")
    typer.echo("Press Ctrl-C to stop.")
    # uvicorn's access log would write client IP addresses (personal data) and query strings (which can
    # carry tokens); Charter's own access log in charter.web writes neither.
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level=log_level.lower(),
        log_config=uvicorn_log_config(level=log_level.lower()),
        server_header=False,
        access_log=False,
    )


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        die(f"--host {host!r} is not an address this machine can listen on")
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            hint = "choose another --port" if exc.errno == errno.EADDRINUSE else "check --host"
            die(f"cannot listen on {host}:{port}: {exc.strerror or exc}; {hint}")
