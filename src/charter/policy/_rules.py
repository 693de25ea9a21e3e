"""Promises that contradict each other or Atlassian's rules.

Each rule reads a structurally valid :class:`~charter.policy.Charter` and yields problems at the exact
TOML path to fix. Rules are plain functions registered in :data:`RULES`, each named by an id that
appears in its problems (``Problem.rule``) and documented with the source of the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import pairwise

from charter.policy._limits import (
    CLOUD_FIX_DEADLINES,
    DC_FIX_DEADLINES,
    GDPR_AUTHORITY_NOTICE,
    HSTS_MIN_MAX_AGE,
    SECURITY_TXT_WARN_BEFORE,
    SEVERITIES,
)
from charter.policy._locate import KeyPath
from charter.policy._problems import Problem
from charter.policy._schema import Charter, DataItem
from charter.policy._taxonomy import CATEGORIES, covers

__all__ = ["RULES", "Rule", "run_rules"]

Rule = Callable[[Charter, datetime], Iterator[Problem]]
RULES: dict[str, Rule] = {}

_APP_SOURCES = frozenset({"atlassian-lifecycle", "atlassian-api", "app-user"})


def _rule(rule_id: str) -> Callable[[Rule], Rule]:
    def register(func: Rule) -> Rule:
        RULES[rule_id] = func
        return func

    return register


def _error(rule: str, path: KeyPath, message: str) -> Problem:
    return Problem(None, path, message, "error", rule)


def _warning(rule: str, path: KeyPath, message: str) -> Problem:
    return Problem(None, path, message, "warning", rule)


def run_rules(charter: Charter, now: datetime) -> list[Problem]:
    """Run every rule against ``charter`` at instant ``now`` (aware UTC); problems have no line yet."""
    problems: list[Problem] = []
    for func in RULES.values():
        problems.extend(func(charter, now))
    return problems


def _item_apps(charter: Charter, item: DataItem) -> list[str]:
    """Keys of the apps an item is collected by (an empty list means every cloud app)."""
    return item.apps or [a.key for a in charter.cloud_apps]


# -- inventory ---------------------------------------------------------------------------------


@_rule("personal-data-declared")
def _personal_data(charter: Charter, now: datetime) -> Iterator[Problem]:
    """ "We store no personal data" must agree with the inventory, item by item."""
    inv = charter.inventory
    personal = [(i, item) for i, item in enumerate(inv.items) if item.personal]
    if not inv.stores_personal_data and personal:
        names = ", ".join(f"'{item.name}'" for _, item in personal)
        yield _error(
            "personal-data-declared",
            ("inventory", "stores_personal_data"),
            f"is false, but the inventory holds personal data: {names}",
        )
    if inv.stores_personal_data and not personal:
        yield _warning(
            "personal-data-declared",
            ("inventory", "stores_personal_data"),
            "is true, but no item of the inventory is personal; declare what is stored",
        )


@_rule("never-stored")
def _never_stored(charter: Charter, now: datetime) -> Iterator[Problem]:
    """A category listed under "we never store" may not appear in the inventory."""
    for i, item in enumerate(charter.inventory.items):
        for never in charter.inventory.never_stored:
            if covers(never, item.category) or covers(item.category, never):
                yield _error(
                    "never-stored",
                    ("inventory", "items", i, "category"),
                    f"'{item.category}' is stored, but inventory.never_stored promises never to store '{never}'",
                )


@_rule("app-keys")
def _app_keys_unique(charter: Charter, now: datetime) -> Iterator[Problem]:
    """Marketplace keys identify apps (items refer to them), so they are unique."""
    seen: set[str] = set()
    for i, app in enumerate(charter.apps):
        if app.key in seen:
            yield _error("app-keys", ("apps", i, "key"), f"'{app.key}' is used by two apps; keys must be unique")
        seen.add(app.key)


# -- hosting --------------------------------------------------------------------------------


@_rule("runs-on-atlassian")
def _runs_on_atlassian(charter: Charter, now: datetime) -> Iterator[Problem]:
    """A Runs-on-Atlassian app stores nothing on vendor hosts and egresses no end-user data.

    Source: Forge "Runs on Atlassian" eligibility: any remote or egress of in-scope End-User Data
    disqualifies an app; only analytics egress without in-scope EUD is allowed.
    """
    roa = {a.key for a in charter.apps if a.hosting == "forge-runs-on-atlassian"}
    if not roa:
        return
    stores = charter.inventory.stores_by_name
    for i, item in enumerate(charter.inventory.items):
        store = stores.get(item.store)
        if store is None or not store.vendor_hosted or item.source not in _APP_SOURCES:
            continue
        for key in _item_apps(charter, item):
            if key in roa:
                yield _error(
                    "runs-on-atlassian",
                    ("inventory", "items", i, "store"),
                    f"app '{key}' is forge-runs-on-atlassian, but '{item.name}' ({item.source}) is kept in the "
                    f"vendor-hosted store '{store.name}'",
                )
    for i, app in enumerate(charter.apps):
        if app.hosting != "forge-runs-on-atlassian":
            continue
        for j, egress in enumerate(app.egress):
            if egress.kind != "analytics" or egress.in_scope_eud:
                yield _error(
                    "runs-on-atlassian",
                    ("apps", i, "egress", j),
                    "a forge-runs-on-atlassian app may not send data out of Atlassian "
                    "(only analytics with in_scope_eud = false is allowed)",
                )


@_rule("tenant-inventory")
def _tenant_inventory(charter: Charter, now: datetime) -> Iterator[Problem]:
    """A vendor-hosted app stores its tenants' ids; a Connect app also their base URL and shared secret.

    Charter's tenant registry stores exactly these (Connect: the install payload's clientKey, baseUrl and
    sharedSecret; Forge: installationId and cloudId), so the inventory must declare them: "we store only
    the site id" is not true of a Connect app.
    """
    for i, app in enumerate(charter.apps):
        if app.hosting not in ("forge-remote", "connect"):
            continue
        needed = ["system.tenant.identifier"]
        if app.hosting == "connect":
            needed += ["system.tenant.url", "system.tenant.credentials"]
        for category in needed:
            declared = any(
                covers(category, item.category)
                and item.source == "atlassian-lifecycle"
                and (not item.apps or app.key in item.apps)
                for item in charter.inventory.items
            )
            if not declared:
                yield _error(
                    "tenant-inventory",
                    ("apps", i),
                    f"{app.hosting} app '{app.key}' stores {CATEGORIES[category].label} ('{category}'); "
                    'declare it in [[inventory.items]] with source = "atlassian-lifecycle"',
                )


# -- security ---------------------------------------------------------------------------------


@_rule("fix-deadlines")
def _fix_deadlines(charter: Charter, now: datetime) -> Iterator[Problem]:
    """Fix deadlines no looser than Atlassian's Security Bug Fix Policy, and ordered by severity."""
    fix = charter.security.fix_within
    if fix is None:
        return
    cloud = bool(charter.cloud_apps)
    limits = CLOUD_FIX_DEADLINES if cloud else DC_FIX_DEADLINES
    kind = "cloud" if cloud else "Data Center"
    for severity in SEVERITIES:
        promised = getattr(fix, severity)
        if promised > limits[severity]:
            yield _error(
                "fix-deadlines",
                ("security", "fix_within", severity),
                f"{promised} is longer than Atlassian's {kind} limit of {limits[severity]} "
                "(Marketplace Security Bug Fix Policy)",
            )
    for stricter, looser in pairwise(SEVERITIES):
        if getattr(fix, stricter) > getattr(fix, looser):
            yield _error(
                "fix-deadlines",
                ("security", "fix_within", stricter),
                f"a {stricter} fix ({getattr(fix, stricter)}) may not take longer than a {looser} one "
                f"({getattr(fix, looser)})",
            )


@_rule("security-txt-expiry")
def _security_txt_expiry(charter: Charter, now: datetime) -> Iterator[Problem]:
    """RFC 9116 2.5.5: Expires is required, should be less than a year ahead, and must not have passed."""
    expires = charter.security.security_txt.expires
    path = ("security", "security_txt", "expires")
    try:
        year_ahead = now.replace(year=now.year + 1)
    except ValueError:  # 29 February
        year_ahead = now.replace(year=now.year + 1, day=28)
    if expires <= now:
        yield _error("security-txt-expiry", path, f"{expires:%Y-%m-%dT%H:%M:%SZ} has passed; set a new date")
    elif expires > year_ahead:
        yield _error(
            "security-txt-expiry",
            path,
            f"{expires:%Y-%m-%dT%H:%M:%SZ} is more than a year ahead (RFC 9116 2.5.5 asks for less than a year)",
        )
    elif expires - now <= SECURITY_TXT_WARN_BEFORE.timedelta:
        days = (expires - now).days
        yield _warning("security-txt-expiry", path, f"expires in {days} day(s); renew it")


@_rule("breach-notice")
def _breach_notice(charter: Charter, now: datetime) -> Iterator[Problem]:
    """GDPR Art. 33(1): the authority is notified within 72 hours of awareness."""
    gdpr = {"gdpr", "uk-gdpr"} & set(charter.sharing.regulations)
    within = charter.security.breach.notify_authority_within
    if gdpr and charter.privacy.role in ("controller", "controller-and-processor"):
        if within is None:
            yield _error(
                "breach-notice",
                ("security", "breach", "notify_authority_within"),
                "the charter names GDPR and a controller role: the authority must be notified within 72h (Art. 33)",
            )
        elif within > GDPR_AUTHORITY_NOTICE:
            yield _error(
                "breach-notice",
                ("security", "breach", "notify_authority_within"),
                f"{within} is longer than the 72h GDPR Art. 33(1) allows",
            )
    customers = charter.security.breach.notify_customers_within
    if customers is not None and charter.security.breach.notify_customers is False:
        yield _error(
            "breach-notice",
            ("security", "breach", "notify_customers_within"),
            "is set, but notify_customers is false",
        )


# -- encryption and access ------------------------------------------------------------------


@_rule("transport")
def _transport(charter: Charter, now: datetime) -> Iterator[Problem]:
    """Atlassian security requirement 3: TLS >= 1.2 and HSTS max-age >= 1 year for vendor-hosted apps."""
    if not charter.vendor_hosted_apps:
        return
    transit = charter.encryption.in_transit
    if transit is None:
        yield _error(
            "transport",
            ("encryption", "in_transit"),
            "a vendor-hosted app (forge-remote or connect) must declare min_tls and hsts_max_age",
        )
        return
    if transit.min_tls < "1.2":
        yield _error(
            "transport",
            ("encryption", "in_transit", "min_tls"),
            f"TLS {transit.min_tls} is below Atlassian's minimum of TLS 1.2",
        )
    if transit.hsts_max_age < HSTS_MIN_MAX_AGE:
        yield _error(
            "transport",
            ("encryption", "in_transit", "hsts_max_age"),
            f"{transit.hsts_max_age} is shorter than Atlassian's minimum HSTS max-age of one year (365d)",
        )


@_rule("encryption-at-rest")
def _encryption_at_rest(charter: Charter, now: datetime) -> Iterator[Problem]:
    """Stored data is encrypted as the inventory says, and end-user data off Atlassian is encrypted.

    Sources: Atlassian security requirements 2 (full-disk encryption at rest for End-User Data stored
    outside Atlassian) and 5 (secrets stored securely).
    """
    stores = charter.inventory.stores_by_name
    at_rest = charter.encryption.at_rest
    for i, item in enumerate(charter.inventory.items):
        path = ("inventory", "items", i, "encryption")
        store = stores.get(item.store)
        if store is None:
            continue
        if item.encryption == "disk" and not store.encrypted_at_rest:
            yield _error(
                "encryption-at-rest",
                path,
                f"'disk' needs store '{store.name}' to have encrypted_at_rest = true",
            )
        if item.encryption == "envelope" and (at_rest is None or not at_rest.per_tenant_keys):
            yield _error(
                "encryption-at-rest",
                path,
                "'envelope' needs [encryption.at_rest] with per_tenant_keys = true",
            )
        secret = covers("system.tenant.credentials", item.category) or covers("user.credentials", item.category)
        if secret and item.encryption != "envelope" and store.vendor_hosted:
            yield _error(
                "encryption-at-rest",
                path,
                f"'{item.name}' holds credentials; they must be stored with 'envelope' encryption",
            )
        elif item.encryption in (None, "none") and store.vendor_hosted and item.source in _APP_SOURCES:
            yield _error(
                "encryption-at-rest",
                path,
                f"'{item.name}' is end-user data stored outside Atlassian; Atlassian requires encryption at rest",
            )


@_rule("support-access")
def _support_access(charter: Charter, now: datetime) -> Iterator[Problem]:
    """Staff reach customer data only on request, and every access records its reason."""
    access = charter.access
    if access.support_access in ("on-customer-request", "operations-and-customer-request") and not access.record_reason:
        yield _error(
            "support-access",
            ("access", "record_reason"),
            f"support_access is '{access.support_access}': every access must record its reason, so this must be true",
        )
    for i, role in enumerate(charter.access.roles):
        if role.tenant_data == "always":
            yield _error(
                "support-access",
                ("access", "roles", i, "tenant_data"),
                f"role '{role.name}' has standing access to tenant data; least privilege allows 'on-request' at most",
            )
        if role.tenant_data == "on-request" and charter.access.support_access == "never":
            yield _error(
                "support-access",
                ("access", "roles", i, "tenant_data"),
                "is 'on-request', but access.support_access is 'never'",
            )


# -- retention and backups -------------------------------------------------------------------


@_rule("retention-declared")
def _retention_declared(charter: Charter, now: datetime) -> Iterator[Problem]:
    """Every kind of stored data has a deletion rule."""
    inv = charter.inventory
    stores = inv.stores_by_name
    vendor_tenant = (
        [item for item in inv.items if item.source in _APP_SOURCES and stores[item.store].vendor_hosted]
        if all(item.store in stores for item in inv.items)
        else []
    )
    if vendor_tenant and charter.retention.tenant_data_after_uninstall is None:
        yield _error(
            "retention-declared",
            ("retention", "tenant_data_after_uninstall"),
            f"tenant data is stored ('{vendor_tenant[0].name}'); say how long it is kept after uninstall, e.g. '30d'",
        )
    if any(covers("user.content.support.attachment", i.category) for i in inv.items) and (
        charter.retention.support_attachments is None
    ):
        yield _error(
            "retention-declared",
            ("retention", "support_attachments"),
            "support attachments are stored; say when they are deleted",
        )
    marketplace = [i for i in inv.items if i.source == "marketplace"]
    if marketplace and charter.marketplace_contacts is None:
        yield _error(
            "retention-declared",
            ("marketplace_contacts",),
            f"'{marketplace[0].name}' comes from the Marketplace; "
            "declare [marketplace_contacts] (purposes, unsubscribe)",
        )
    if charter.marketplace_contacts is not None and not marketplace:
        yield _error(
            "retention-declared",
            ("marketplace_contacts",),
            'is declared, but no inventory item has source = "marketplace"; list the contact data stored',
        )


@_rule("backups")
def _backups(charter: Charter, now: datetime) -> Iterator[Problem]:
    """Backups kept at least as long as the RPO and the promised minimum, taken at least once per RPO."""
    backups = charter.backups
    if backups is None or not backups.enabled:
        return
    guaranteed = backups.keep.guaranteed
    if backups.rpo is not None and guaranteed < backups.rpo:
        yield _error(
            "backups",
            ("backups", "keep"),
            f"keeps backups for as little as {guaranteed}, less than the RPO of {backups.rpo}",
        )
    if backups.rpo is not None and backups.frequency > backups.rpo:
        yield _error(
            "backups",
            ("backups", "frequency"),
            f"a backup every {backups.frequency} cannot meet an RPO of {backups.rpo}",
        )
    if backups.minimum_retention is not None and guaranteed < backups.minimum_retention:
        yield _error(
            "backups",
            ("backups", "minimum_retention"),
            f"promises {backups.minimum_retention}, but [backups.keep] keeps a backup of each day for only "
            f"{guaranteed} (raise daily, or set within)",
        )
    if not backups.destinations:
        yield _error("backups", ("backups", "destinations"), "backups are enabled; name at least one destination")


# -- sharing and privacy ---------------------------------------------------------------------


@_rule("sharing")
def _sharing(charter: Charter, now: datetime) -> Iterator[Problem]:
    """ "We share with nobody" cannot list subprocessors; personal data of Atlassian accounts is reported."""
    sharing = charter.sharing
    if sharing.third_parties == "never" and sharing.subprocessors:
        yield _error(
            "sharing",
            ("sharing", "third_parties"),
            "is 'never', but subprocessors are listed; use 'subprocessors-only'",
        )
    if sharing.third_parties == "subprocessors-only" and not sharing.subprocessors:
        yield _error("sharing", ("sharing", "subprocessors"), "third_parties is 'subprocessors-only'; list them")
    stores = charter.inventory.stores_by_name
    for item in charter.inventory.items:
        store = stores.get(item.store)
        if (
            covers("user.account", item.category)
            and store is not None
            and store.vendor_hosted
            and item.source in _APP_SOURCES
            and charter.privacy.reports_personal_data_to_atlassian is not True
        ):
            yield _error(
                "sharing",
                ("privacy", "reports_personal_data_to_atlassian"),
                f"'{item.name}' stores Atlassian account data; Atlassian requires reporting it (personal-data "
                "reporting API), so this must be true",
            )
            break
    if sharing.data_portability == "no-data-held" and any(
        i.source in _APP_SOURCES for i in charter.inventory.items if i.category not in _SYSTEM_ONLY
    ):
        yield _error(
            "sharing",
            ("sharing", "data_portability"),
            "is 'no-data-held', but the inventory holds customer data collected by the apps",
        )


_SYSTEM_ONLY = frozenset(k for k in CATEGORIES if k.startswith("system.tenant"))
