"""The evidence checks: one named check per promise, each reading the running system's real state.

A check covers charter fields (the ``sources`` of the statement's sentences, indices written ``[]``). Every
field the statement says must be covered by a check or be a plain fact (:data:`FACTS`: names, addresses,
versions); :func:`coverage_problems` lists those that are neither, and ``charter check`` fails on them.

Each check returns :class:`Evidence`: ``pass`` (the promise holds, with what was measured), ``fail`` (it is
broken, with what was found), or ``unknown`` (nothing to measure yet, or the promise is organisational and
Charter cannot observe it: then the evidence says so rather than pretending).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select

from charter.store import AccountRefRow, RecordRow, TenantRow, blob_version

if TYPE_CHECKING:
    from charter.runtime import Runtime

__all__ = ["CHECKS", "FACTS", "Check", "Evidence", "Status", "coverage_problems", "normalise"]

Status = Literal["pass", "fail", "unknown"]

#: Fields the statement states as facts, not promises about how data is handled: nothing to measure.
FACTS: tuple[str, ...] = (
    "apps",
    "apps[].name",
    "vendor.*",
    "statement.*",
    "inventory.items",
    "inventory.items[].description",
    "inventory.items[].purpose",
    "inventory.items[].store",
    "security.safe_harbour",
    "security.subject_prefix",
    "marketplace_contacts.unsubscribe",
    "support.third_party_portal",
    "sharing.subprocessors",
    "sharing.subprocessors[]",
    "sharing.regulations",
    "privacy.role",
)

#: A deadline kept by a scheduled job is "late" only after this much slack (the purge runs daily).
DAILY_SLACK = timedelta(hours=25)
JOB_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class Evidence:
    """The outcome of one check: status, a one-line summary, what was measured, and when (aware UTC)."""

    check: str
    status: Status
    summary: str
    at: datetime
    measured: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "summary": self.summary,
            "at": self.at.isoformat(),
            "measured": self.measured,
        }


@dataclass(frozen=True)
class Check:
    """A named check of one promise.

    Attributes:
        name: stable id (``backups.rpo``).
        promise: the promise in words.
        covers: charter field patterns it proves (normalised paths, ``[]`` for indices, ``*`` for any text).
        run: reads the runtime's state and returns the evidence.
    """

    name: str
    promise: str
    covers: tuple[str, ...]
    run: Callable[[Runtime], tuple[Status, str, dict[str, Any]]]

    def applies(self, path: str) -> bool:
        """Whether this check covers the (normalised) field ``path``."""
        return any(matches(path, pattern) for pattern in self.covers)


def matches(path: str, pattern: str) -> bool:
    """``pattern`` matches ``path``: literal text (``[]`` included) where ``*`` stands for any run of characters."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), path) is not None


def normalise(path: str) -> str:
    """``apps.0.regions`` and ``apps[0].regions`` -> ``apps[].regions``."""
    path = re.sub(r"\[\d+\]", "[]", path)
    return re.sub(r"\.(\d+)(?=\.|$)", "[]", path)


def coverage_problems(sources: Iterable[str], checks: Iterable[Check] | None = None) -> list[str]:
    """The statement's fields that are neither covered by a check nor a fact, sorted."""
    checks = list(CHECKS if checks is None else checks)
    missing = set()
    for source in sources:
        path = normalise(source)
        if any(matches(path, fact) for fact in FACTS):
            continue
        if not any(check.applies(path) for check in checks):
            missing.add(path)
    return sorted(missing)


# -- the checks ------------------------------------------------------------------------------------------

Result = tuple[Status, str, dict[str, Any]]


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def _backup_rpo(rt: Runtime) -> Result:
    """Every destination holds a backup younger than the RPO; the first one's newest is verified (``backup
    run`` verifies there). A destination that cannot be read, or holds nothing recent, breaks the promise."""
    policy = rt.charter.backups
    if policy is None or not policy.enabled or not policy.destinations:
        return "unknown", "the charter makes no backup promise", {}
    from charter.backup import BackupError

    rpo = timedelta(seconds=(policy.rpo or policy.frequency).seconds)
    now = rt.clock.now()
    measured: dict[str, Any] = {"rpo_hours": _hours(rpo), "destinations": {}}
    problems: list[str] = []
    for index, config in enumerate(policy.destinations):
        try:
            snapshots = rt.backups.snapshots(config.name)
        except BackupError as exc:
            problems.append(f"destination '{config.name}' cannot be read ({exc})")
            measured["destinations"][config.name] = None
            continue
        usable = [s for s in snapshots if s.manifest is not None and (index > 0 or s.verified_at is not None)]
        if not usable:
            problems.append(f"destination '{config.name}' holds no {'verified ' if index == 0 else ''}backup")
            measured["destinations"][config.name] = None
            continue
        manifest = usable[0].manifest
        assert manifest is not None
        age = now - manifest.taken_at
        measured["destinations"][config.name] = _hours(age)
        if age > rpo:
            problems.append(f"the newest backup in '{config.name}' is {_hours(age)} h old (RPO {_hours(rpo)} h)")
    if problems:
        return "fail", "; ".join(problems), measured
    ages = measured["destinations"].values()
    return "pass", f"every destination holds a backup at most {max(ages)} h old (RPO {_hours(rpo)} h)", measured


def _backup_rto(rt: Runtime) -> Result:
    policy = rt.charter.backups
    if policy is None or not policy.enabled or not policy.destinations:
        return "unknown", "the charter makes no backup promise", {}
    drill = rt.backups.last_drill()
    if drill is None:
        return "unknown", "no restore drill has run yet", {}
    measured = {
        "drill_at": drill.at.isoformat(),
        "restore_seconds": round(drill.restore_seconds, 3),
        "rto_seconds": drill.rto_seconds,
    }
    if not drill.ok:
        return "fail", "the last restore drill failed or missed the RTO/RPO", measured
    every = policy.restore_drills
    if every is not None and rt.clock.now() - drill.at > timedelta(seconds=every.seconds) + DAILY_SLACK:
        return "fail", f"the last restore drill is older than the promised interval ({every})", measured
    return "pass", f"restored in {drill.restore_seconds:.1f} s at the last drill", measured


def _purge(rt: Runtime) -> Result:
    if rt.charter.retention.tenant_data_after_uninstall is None:
        return "unknown", "the charter sets no retention after uninstall", {}
    now = rt.clock.now()
    late = [d for d in rt.purger.due(now) if now - d.due_at > DAILY_SLACK]
    measured = {"late_tenants": [d.tenant_id for d in late], "due_now": len(rt.purger.due(now))}
    if late:
        worst = max(now - d.due_at for d in late)
        return "fail", f"{len(late)} tenant(s) past their purge time (up to {_hours(worst)} h late)", measured
    return "pass", "no tenant is past its purge time", measured


def _support(rt: Runtime) -> Result:
    now = rt.clock.now()
    late = [(case, what) for case, what, due in rt.support.due(now) if now - due > JOB_SLACK]
    measured = {"late": [f"{case}:{what}" for case, what in late]}
    if late:
        return "fail", f"{len(late)} support deletion(s) overdue (e.g. {late[0][0]} {late[0][1]})", measured
    return "pass", "no support attachment or communication is kept past its rule", measured


def _redaction(rt: Runtime) -> Result:
    if rt.support.redacts_at_intake:
        return "pass", "support attachments are redacted at intake", {}
    return "fail", "support.redact_at_intake is false: attachments are stored as received", {}


def _security_clocks(rt: Runtime) -> Result:
    now = rt.clock.now()
    clocks = rt.security.clocks()
    breached = [c for c in clocks if c.breached(now)]
    measured = {"running": len(clocks), "breached": [f"{c.report_id}:{c.name}" for c in breached]}
    if breached:
        first = breached[0]
        return "fail", f"{len(breached)} security deadline(s) missed (e.g. {first.report_id} {first.name})", measured
    return "pass", f"{len(clocks)} running security clock(s), none missed", measured


def _security_txt(rt: Runtime) -> Result:
    expires = rt.charter.security.security_txt.expires
    left = expires - rt.clock.now()
    measured = {"expires": expires.isoformat(), "days_left": left.days}
    if left <= timedelta(days=30):
        word = "expired" if left <= timedelta(0) else f"expires in {left.days} days"
        return "fail", f"security.txt {word} ({expires:%Y-%m-%d})", measured
    return "pass", f"security.txt valid until {expires:%Y-%m-%d}", measured


def _audit_chain(rt: Runtime) -> Result:
    report = rt.audit.verify()
    measured = {"entries": report.entries, "head": report.head[:16]}
    if not report.ok:
        return "fail", f"the audit log is damaged: {report.problems[0]}", measured
    return "pass", f"{report.entries} audit entries, chain intact", measured


#: The smallest blob ``Keyring.seal`` makes: a 4-byte key version, a 12-byte nonce and a 16-byte tag.
_SEALED_MIN = 4 + 12 + 16


def _sealed(blob: bytes) -> bool:
    """Whether ``blob`` has the shape of a ``Keyring.seal`` blob (a key version, then ciphertext), not plaintext."""
    return len(blob) >= _SEALED_MIN and 1 <= blob_version(blob) < 1 << 16 and not _looks_plain(blob)


def _at_rest(rt: Runtime) -> Result:
    """A sampling scan of the raw database: stored values and secrets must be sealed blobs, never plaintext."""
    sample = 200
    problems: list[str] = []
    with rt.database.session() as session:
        values = session.execute(select(RecordRow.tenant_id, RecordRow.kind, RecordRow.value).limit(sample)).all()
        secrets = session.execute(select(TenantRow.id, TenantRow.shared_secret, TenantRow.base_url).limit(sample)).all()
    for tenant_id, kind, value in values:
        if not _sealed(value):
            problems.append(f"record {tenant_id}/{kind} is not sealed")
    for tenant_id, secret, base_url in secrets:
        for blob in (secret, base_url):
            if blob is not None and not _sealed(blob):
                problems.append(f"tenant {tenant_id} holds an unsealed secret or URL")
    key_file = rt.data_dir / "keys" / "kek.key"
    if key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) & 0o077:
        problems.append("the key-encryption key file is readable by others")
    measured = {"values_sampled": len(values), "tenants_sampled": len(secrets), "problems": problems[:10]}
    if problems:
        return "fail", problems[0], measured
    if not values and not secrets:
        return "unknown", "nothing is stored yet to sample", measured
    return "pass", f"{len(values)} stored value(s) and {len(secrets)} tenant secret(s) sampled: all sealed", measured


def _looks_plain(blob: bytes) -> bool:
    try:
        json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def _transport(rt: Runtime) -> Result:
    """HSTS and TLS as promised. With ``CHARTER_PUBLIC_URL`` (the https address customers use) the served app
    is asked: its TLS version and certificate, and the ``Strict-Transport-Security`` it sends. Without it, the
    header the app is configured to send is reported and TLS (terminated in front of Charter) is not measured."""
    transit = rt.charter.encryption.in_transit
    if transit is None:
        return "unknown", "the charter makes no in-transit promise", {}
    measured: dict[str, Any] = {"promised_hsts": transit.hsts_header, "min_tls": transit.min_tls}
    url = os.environ.get("CHARTER_PUBLIC_URL", "").strip()
    if not url:
        summary = f"the app is set to send Strict-Transport-Security {transit.hsts_header!r}"
        return (
            "unknown",
            summary + "; TLS is not measured (set CHARTER_PUBLIC_URL to the public https address)",
            measured,
        )
    return _tls_check(url, transit, measured)


def _tls_check(url: str, transit: Any, measured: dict[str, Any]) -> Result:
    import socket
    import ssl
    from urllib.parse import urlsplit

    import httpx

    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        context = ssl.create_default_context()
        with (
            socket.create_connection((host, port), timeout=10) as sock,
            context.wrap_socket(sock, server_hostname=host) as tls,
        ):
            version = tls.version() or "?"
    except (OSError, ssl.SSLError) as exc:
        return "fail", f"{host}:{port} could not be reached over TLS ({type(exc).__name__})", measured
    measured["negotiated"] = version
    order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    wanted = "TLSv" + str(transit.min_tls) if transit.min_tls != "1.0" else "TLSv1"
    if version in order and wanted in order and order.index(version) < order.index(wanted):
        return "fail", f"{host} negotiated {version}; promised at least {wanted}", measured
    try:
        header = httpx.get(url.rstrip("/") + "/healthz", timeout=10).headers.get("strict-transport-security")
    except httpx.HTTPError as exc:
        return "fail", f"{url} did not answer ({type(exc).__name__})", measured
    measured["served_hsts"] = header
    match = re.search(r"max-age=(\d+)", header or "")
    if match is None or int(match.group(1)) < transit.hsts_max_age.seconds:
        return "fail", f"{host} serves Strict-Transport-Security {header!r}; promised {transit.hsts_header!r}", measured
    return "pass", f"{host} negotiated {version} with a valid certificate and sends HSTS as promised", measured


def _inventory(rt: Runtime) -> Result:
    declared = set(rt.store.kinds)
    with rt.database.session() as session:
        kinds = set(session.scalars(select(RecordRow.kind).distinct()))
        holders = session.scalar(select(func.count()).select_from(AccountRefRow)) or 0
    undeclared = sorted(kinds - declared)
    measured = {"kinds_stored": sorted(kinds), "undeclared": undeclared}
    if undeclared:
        return "fail", f"record kind(s) not in the inventory are stored: {', '.join(undeclared)}", measured
    if not rt.charter.inventory.stores_personal_data and holders:
        return "fail", "the charter says no personal data is stored, but records hold account data", measured
    return "pass", f"every stored kind is declared ({len(kinds)} in use)", measured


def _hosting(rt: Runtime) -> Result:
    """Where data is kept. When every cloud app runs on Atlassian (Forge, no remote), customer data stays in
    Atlassian: Charter's own stores must hold no tenant and no record (support material and Data Center apps
    may still use the vendor's stores)."""
    charter = rt.charter
    cloud = charter.cloud_apps
    if cloud and all(app.hosting == "forge-runs-on-atlassian" for app in cloud):
        with rt.database.session() as session:
            tenants = session.scalar(select(func.count()).select_from(TenantRow)) or 0
            records = session.scalar(select(func.count()).select_from(RecordRow)) or 0
        measured = {"tenants": tenants, "records": records}
        if tenants or records:
            return "fail", "the cloud apps run on Atlassian, yet a vendor-hosted store holds tenant data", measured
        return "pass", "the cloud apps run on Atlassian; no vendor-hosted store holds tenant data", measured
    regions = sorted({r for app in charter.vendor_hosted_apps for r in app.regions})
    return "pass", f"vendor-hosted apps declare their provider and regions ({', '.join(regions)})", {"regions": regions}


def _reporting(rt: Runtime) -> Result:
    from charter.privacy import cycle_period, held_accounts

    now, allowed = rt.clock.now(), cycle_period(rt.database) + DAILY_SLACK
    held = held_accounts(rt.database, rt.keyring)
    if not held:
        return "pass", "no Atlassian account data is stored: nothing to report", {"accounts": 0}
    late = sum(1 for a in held if now - (a.last_reported_at or a.retrieved_at) > allowed)
    measured = {"accounts": len(held), "overdue": late, "cycle_days": round(allowed.total_seconds() / 86400, 2)}
    if late:
        return "fail", f"{late} of {len(held)} account(s) not reported within the cycle", measured
    return "pass", f"{len(held)} account(s) reported within the cycle", measured


def _dsr(rt: Runtime) -> Result:
    now = rt.clock.now()
    late = [
        r.id
        for r in rt.dsr.requests(open_only=True)
        if now > r.due_at and r.erased_at is None and not (r.kind == "access" and r.exported_at is not None)
    ]
    if late:
        return "fail", f"{len(late)} data subject request(s) past due ({late[0]})", {"late": late}
    return "pass", "no data subject request is past due", {"late": []}


def _dependencies(rt: Runtime) -> Result:
    entries = rt.audit.entries(kind="deps.audited")
    if not entries:
        return "fail", "no dependency audit has run (charter deps audit)", {}
    age = rt.clock.now() - entries[-1].at
    measured = {"last": entries[-1].at.isoformat(), "checked": entries[-1].payload.get("checked")}
    if age > timedelta(days=7) + DAILY_SLACK:
        return "fail", f"the last dependency audit is {age.days} days old", measured
    return "pass", f"dependencies audited {_hours(age)} h ago", measured


def _contacts(rt: Runtime) -> Result:
    from charter.store import ContactSuppressionRow, MarketplaceContactRow

    with rt.database.session() as session:
        suppressed = set(session.scalars(select(ContactSuppressionRow.email_digest)))
        held = set(session.scalars(select(MarketplaceContactRow.email_digest)))
    kept = held & suppressed
    if kept:
        return "fail", f"{len(kept)} unsubscribed or deleted contact(s) are still held", {"kept": len(kept)}
    return "pass", f"{len(held)} contact(s) held, none unsubscribed or deleted", {"held": len(held)}


def _logs(rt: Runtime) -> Result:
    from charter.logs import scrub

    probe = scrub(None, "info", {"event": "probe", "email": "probe.fake@example.com", "token": "Bearer fake-probe"})
    leaked = "probe.fake@example.com" in str(probe) or "fake-probe" in str(probe)
    if leaked:
        return "fail", "the log scrubber let an e-mail address or token through", {}
    return "pass", "the log scrubber removes e-mail addresses and tokens (probed)", {}


def _attested(what: str) -> Callable[[Runtime], Result]:
    def run(rt: Runtime) -> Result:
        return "unknown", f"{what}: an organisational promise Charter cannot observe (attested by the vendor)", {}

    return run


CHECKS: tuple[Check, ...] = (
    Check(
        "backups.rpo",
        "A verified backup is never older than the RPO",
        (
            "backups.frequency",
            "backups.rpo",
            "backups.destinations",
            "backups.encrypted",
            "backups.keep",
            "backups.minimum_retention",
            "backups.time_zone",
        ),
        _backup_rpo,
    ),
    Check(
        "backups.rto",
        "Restore drills run as promised, within the RTO",
        ("backups.rto", "backups.restore_drills"),
        _backup_rto,
    ),
    Check(
        "retention.purge",
        "Tenant data is deleted when its retention ends",
        ("retention.tenant_data_after_uninstall", "retention.logs"),
        _purge,
    ),
    Check(
        "retention.support",
        "Support attachments and communications are deleted by their rule",
        ("retention.support_*", "marketplace_contacts.kept_until"),
        _support,
    ),
    Check(
        "support.redaction",
        "Support data is obfuscated at intake",
        ("support.*",),
        _redaction,
    ),
    Check(
        "security.deadlines",
        "Reports are acknowledged and fixed on time; breaches notified on time",
        (
            "security.acknowledge_within_business_days",
            "security.fix_within",
            "security.breach.*",
            "security.notify_affected_customers",
            "security.publish_advisories",
            "security.release_fix_when_ready",
        ),
        _security_clocks,
    ),
    Check("security.txt", "security.txt is valid and not about to expire", ("security.security_txt",), _security_txt),
    Check(
        "audit.chain",
        "Every staff access and deletion is recorded in an intact audit log",
        ("access.record_reason", "access.support_access"),
        _audit_chain,
    ),
    Check(
        "encryption.at_rest",
        "Stored values and secrets are encrypted at rest",
        ("encryption.at_rest", "encryption.at_rest.*", "inventory.items[].encryption"),
        _at_rest,
    ),
    Check("encryption.in_transit", "HTTPS with HSTS as promised", ("encryption.in_transit.*",), _transport),
    Check(
        "inventory.declared",
        "Only the data in the inventory is stored",
        ("inventory.stores_personal_data", "inventory.never_stored"),
        _inventory,
    ),
    Check(
        "hosting.where",
        "Data stays where the charter says it is hosted",
        (
            "apps[].hosting",
            "apps[].provider",
            "apps[].regions",
            "apps[].egress[]",
            "inventory.stores",
            "inventory.stores[]",
        ),
        _hosting,
    ),
    Check(
        "privacy.reporting",
        "Stored Atlassian account ids are reported on the personal-data reporting cycle",
        ("privacy.reports_personal_data_to_atlassian",),
        _reporting,
    ),
    Check(
        "privacy.dsr",
        "Data subject requests are answered within their deadline",
        ("privacy.deletion_on_request", "sharing.data_portability", "sharing.migration_between_cloud_and_dc"),
        _dsr,
    ),
    Check(
        "security.dependencies",
        "Dependencies are checked for disclosed vulnerabilities",
        ("security.dependency_monitoring",),
        _dependencies,
    ),
    Check(
        "contacts.purposes",
        "Unsubscribed technical contacts are not kept",
        ("marketplace_contacts.purposes",),
        _contacts,
    ),
    Check(
        "logging.redaction",
        "Logs hold no secrets or e-mail addresses",
        ("logging.*",),
        _logs,
    ),
    Check(
        "access.staff",
        "Staff access is limited and protected",
        ("access.staff_2fa", "access.least_privilege", "access.app_scopes_minimal", "access.roles", "access.roles[]"),
        _attested("staff two-factor authentication and least privilege"),
    ),
    Check(
        "security.practices",
        "Code review and security testing",
        ("security.code_review", "security.security_testing", "sharing.production_data_in_testing"),
        _attested("code review and security testing"),
    ),
    Check(
        "sharing.third_parties",
        "Data is not sold or shared beyond the listed subprocessors",
        ("sharing.sells_data", "sharing.third_parties", "sharing.infrastructure_access_by_third_parties"),
        _attested("no sale of data and no sharing beyond subprocessors"),
    ),
)
