"""The charter schema: every promise a Data Security & Privacy Statement makes, typed.

The models mirror the sections of ``charter.toml``. Validation here is *structural* (types, allowed
values, formats, references inside one section); promises that contradict each other or Atlassian's
rules are checked afterwards by :mod:`charter.policy._rules`, on a structurally valid charter.

Rules of the schema:

* unknown keys are errors (``extra="forbid"``), so a misspelt promise is never silently dropped;
* strict types: ``"3"`` is not a number and ``"true"`` is not a boolean;
* durations are typed (:class:`Duration`), never free text; dates are TOML dates;
* free text appears only where prose belongs (an overview, a purpose, a safe-harbour sentence).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays
import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from charter.policy._duration import Duration
from charter.policy._regions import PROVIDERS, known_regions
from charter.policy._suggest import did_you_mean
from charter.policy._taxonomy import CATEGORIES, is_personal

__all__ = [
    "Access",
    "App",
    "AtRest",
    "BackupDestination",
    "Backups",
    "Breach",
    "Charter",
    "Contacts",
    "DataItem",
    "Egress",
    "Encryption",
    "FixWithin",
    "InTransit",
    "Inventory",
    "KeepPolicy",
    "Logging",
    "MarketplaceContacts",
    "Privacy",
    "Retention",
    "Role",
    "Security",
    "SecurityTxt",
    "Sharing",
    "StatementInfo",
    "Store",
    "Subprocessor",
    "Support",
    "SupportAttachments",
    "Vendor",
]


def _fail(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, ctx)


FIELD_PROBLEMS = "charter_fields"


def _field_problems(items: list[tuple[str, str]]) -> PydanticCustomError:
    """One error carrying several problems, each for a named field of the model being validated.

    Pydantic reports a model validator's error at the model's own location; the loader expands this
    error into one problem per field so that each is reported at its own TOML path and line.
    """
    summary = "; ".join(f"{field}: {message}" for field, message in items)
    return PydanticCustomError(FIELD_PROBLEMS, "{summary}", {"summary": summary, "items": items})


# -- small validated types ---------------------------------------------------------------------


def _non_blank(value: str) -> str:
    if not value.strip():
        raise _fail("blank", "must not be empty")
    return value.strip()


Text = Annotated[str, AfterValidator(_non_blank)]

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


def _contact(value: str) -> str:
    """An e-mail address, ``mailto:``, ``https://`` or ``tel:`` URI; e-mail becomes ``mailto:``."""
    value = value.strip()
    if _EMAIL.match(value):
        return "mailto:" + value
    if value.startswith("mailto:") and _EMAIL.match(value[7:]):
        return value
    if value.startswith("https://") and len(value) > 8 and " " not in value:
        return value
    if re.fullmatch(r"tel:\+[0-9-]{6,20}", value):
        return value
    raise _fail(
        "contact",
        "'{value}' is not a contact: give an e-mail address, or a mailto:, https:// or tel:+ URI",
        value=value,
    )


Contact = Annotated[str, AfterValidator(_contact)]


def _https_url(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?", value):
        raise _fail("https_url", "'{value}' is not an https:// URL", value=value)
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]

_COUNTRIES = {c.alpha_2 for c in pycountry.countries}


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in _COUNTRIES:
        hint = did_you_mean(code, _COUNTRIES)
        raise _fail("country", "'{value}' is not an ISO 3166-1 alpha-2 country code{hint}", value=value, hint=hint)
    return code


CountryCode = Annotated[str, AfterValidator(_country)]


def _category(value: str) -> str:
    if value not in CATEGORIES:
        hint = did_you_mean(value, CATEGORIES)
        raise _fail(
            "category",
            "'{value}' is not a data category{hint} (see `charter categories`)",
            value=value,
            hint=hint,
        )
    return value


CategoryKey = Annotated[str, AfterValidator(_category)]

_ZONES: frozenset[str] | None = None


def _time_zone(value: str) -> str:
    global _ZONES
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        if _ZONES is None:
            _ZONES = frozenset(available_timezones())
        hint = did_you_mean(value, _ZONES)
        raise _fail("time_zone", "'{value}' is not an IANA time zone{hint}", value=value, hint=hint) from None
    return value


TimeZone = Annotated[str, AfterValidator(_time_zone)]

_IDENT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


def _identifier(value: str) -> str:
    if not _IDENT.match(value):
        raise _fail(
            "identifier",
            "'{value}' is not a name Charter can refer to: use lower-case letters, digits, '-', '_' or '.'",
            value=value,
        )
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]


def _app_key_ref(value: str, info: ValidationInfo) -> str:
    apps = (info.context or {}).get("apps")
    if apps is not None and value not in apps:
        raise _fail("unknown_app", "no app with key '{key}'{hint}", key=value, hint=did_you_mean(value, apps))
    return value


AppKeyRef = Annotated[str, AfterValidator(_app_key_ref)]


def _aware_instant(value: Any) -> Any:
    # TOML gives a date (local date) or a datetime (offset or local). A date means 00:00 UTC.
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _fail(
                "naive_datetime",
                "'{value}' has no UTC offset; write e.g. {value}Z",
                value=value.isoformat(),
            )
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    return value


Instant = Annotated[datetime, BeforeValidator(_aware_instant)]


# A promise the statement makes only when the charter states it: ``None`` (absent) means "not stated",
# and then no sentence is rendered. Defaults never put words in the vendor's mouth.
Stated = bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# -- vendor and statement ---------------------------------------------------------------------


class Contacts(_Model):
    """Where customers reach the vendor. Each is an e-mail address or a mailto:/https:/tel: URI."""

    privacy: Contact = Field(description="Privacy and data-protection questions, data subject requests.")
    security: Contact = Field(description="Security reports and incidents.")
    support: Contact = Field(description="Product support.")


class Vendor(_Model):
    """Who makes the promises."""

    legal_name: Text = Field(description="Legal name of the company, e.g. 'Example Apps Ltd'.")
    short_name: Text | None = Field(None, description="Name used in running text; defaults to legal_name.")
    country: CountryCode = Field(description="ISO 3166-1 alpha-2 code of the country of incorporation.")
    address: Text | None = Field(None, description="Postal address, as published.")
    website: HttpsUrl | None = None
    about: Text | None = Field(None, description="One paragraph introducing the vendor (prose).")
    contacts: Contacts

    @property
    def name(self) -> str:
        """The name to use in running text."""
        return self.short_name or self.legal_name


class StatementInfo(_Model):
    """Identity of the published statement."""

    title: Text = "Data Security & Privacy Statement"
    effective: date = Field(description="Date from which this version applies (TOML date, e.g. 2026-04-28).")
    version: Annotated[str, AfterValidator(_non_blank)] = Field(description="Version label, e.g. '2.1'.")
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")] = "en"
    url: HttpsUrl | None = Field(
        None, description="Public URL of the trust page; security.txt's Canonical and Policy derive from it."
    )


# -- apps -----------------------------------------------------------------------------------

HostingModel = Literal["forge-runs-on-atlassian", "forge-remote", "connect", "data-center"]
Product = Literal["jira", "jira-service-management", "confluence", "bitbucket", "compass", "trello"]
Provider = Literal["atlassian", "aws", "azure", "gcp", "hetzner", "digitalocean", "ovh", "on-premises", "other"]

_ARI_APP = re.compile(r"^ari:cloud:ecosystem::app/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Egress(_Model):
    """Data leaving Atlassian (or the customer's host) for a destination outside it."""

    destination: Text = Field(description="Who receives it, e.g. 'our backend on AWS' or 'Sentry'.")
    purpose: Text
    kind: Literal["storage", "compute", "analytics", "logging", "other"] = Field(
        description="What the destination does with the data (Forge remote operations)."
    )
    in_scope_eud: bool = Field(True, description="Whether in-scope End-User Data leaves (Forge defaults this to true).")
    data: list[CategoryKey] = Field(default_factory=list, description="Categories of the data that leaves.")


class App(_Model):
    """One Marketplace app and how it is hosted."""

    name: Text
    key: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")] = Field(
        description="The Marketplace app key."
    )
    hosting: HostingModel
    products: list[Product] = Field(min_length=1)
    provider: Provider | None = Field(None, description="Who hosts the vendor's backend (not for data-center).")
    regions: list[Text] = Field(default_factory=list, description="Provider region codes, e.g. 'us-west-2'.")
    app_id: str | None = Field(None, description="Forge app id ARI (forge-remote): the FIT audience.")
    base_url: HttpsUrl | None = Field(None, description="Connect descriptor baseUrl, or the Forge remote's baseUrl.")
    data_residency: bool = Field(False, description="Whether the app supports Atlassian data residency pinning.")
    egress: list[Egress] = Field(default_factory=list)

    @model_validator(mode="after")
    def _hosting_fields(self) -> App:
        problems: list[tuple[str, str]] = []
        vendor_hosted = self.hosting in ("forge-remote", "connect")
        if self.hosting == "forge-remote":
            if self.app_id is None:
                problems.append(("app_id", "a forge-remote app needs its app id (ari:cloud:ecosystem::app/<uuid>)"))
            if self.base_url is None:
                problems.append(("base_url", "a forge-remote app needs the remote's baseUrl"))
        if self.hosting == "connect" and self.base_url is None:
            problems.append(("base_url", "a connect app needs the descriptor's baseUrl"))
        if self.app_id is not None and not _ARI_APP.match(self.app_id):
            problems.append(("app_id", f"'{self.app_id}' is not a Forge app id (ari:cloud:ecosystem::app/<uuid>)"))
        if vendor_hosted and self.provider is None:
            problems.append(("provider", f"a {self.hosting} app is hosted by the vendor; name the provider"))
        if vendor_hosted and self.provider == "atlassian":
            problems.append(("provider", f"a {self.hosting} app's backend is not hosted by Atlassian"))
        if vendor_hosted and not self.regions:
            problems.append(("regions", f"a {self.hosting} app is hosted by the vendor; name its regions"))
        if not vendor_hosted:
            allowed = "atlassian" if self.hosting.startswith("forge") else "on-premises"
            if self.base_url is not None:
                problems.append(("base_url", f"a {self.hosting} app has no vendor backend"))
            if self.provider not in (None, allowed):
                problems.append(("provider", f"a {self.hosting} app runs on no vendor-chosen provider"))
            if self.regions:
                problems.append(("regions", f"a {self.hosting} app runs where the customer's product runs"))
        if self.provider is not None:
            table = known_regions(self.provider)
            for index, region in enumerate(self.regions):
                if table is not None and region not in table:
                    problems.append(
                        (
                            f"regions.{index}",
                            f"'{region}' is not a region of {PROVIDERS[self.provider]}" + did_you_mean(region, table),
                        )
                    )
        if problems:
            raise _field_problems(problems)
        return self


# -- data inventory --------------------------------------------------------------------------

StoreKind = Literal[
    "database",
    "object-storage",
    "file-storage",
    "cache",
    "backup-storage",
    "support-desk",
    "email",
    "crm",
    "forge-hosted-storage",
    "atlassian-product",
    "customer-host",
]
_NOT_VENDOR_HOSTED = frozenset({"forge-hosted-storage", "atlassian-product", "customer-host"})


class Store(_Model):
    """A place where data is kept."""

    name: Identifier
    kind: StoreKind
    provider: Provider
    regions: list[Text] = Field(default_factory=list)
    encrypted_at_rest: Stated = Field(None, description="Full-disk or storage-level encryption of the whole store.")
    operated_by: Text | None = Field(None, description="A third party operating it (e.g. a help-desk SaaS).")
    description: Text | None = Field(
        None, description="How the statement names it, e.g. 'our support system' (the name stays internal)."
    )

    @property
    def vendor_hosted(self) -> bool:
        """Whether the vendor (or its provider), rather than Atlassian or the customer, holds the data."""
        return self.kind not in _NOT_VENDOR_HOSTED


Source = Literal[
    "atlassian-lifecycle",  # install payloads: ids, base URL, shared secret
    "atlassian-api",  # read from the product REST APIs by the app
    "app-user",  # typed into the app by its users
    "support",  # sent to the vendor's support by the customer
    "marketplace",  # Marketplace licence exports: technical contacts
    "direct",  # sent to the vendor by e-mail or web form
]
Encryption_ = Literal["none", "disk", "envelope"]


class DataItem(_Model):
    """One kind of data the vendor stores: what the statement's "what we store" list is made of."""

    name: Identifier = Field(description="Record kind; the tenant store refuses kinds not declared here.")
    description: Text = Field(description="What it is, as a noun phrase for the statement.")
    category: CategoryKey
    personal: bool
    store: Identifier = Field(description="Name of the store in [[inventory.stores]] that holds it.")
    encryption: Encryption_ | None = Field(
        None,
        description="'envelope': per-tenant key (crypto-shredding); 'disk': the store's encryption; 'none'. "
        "Absent: not stated.",
    )
    source: Source
    purpose: Text
    apps: list[AppKeyRef] = Field(default_factory=list, description="Keys of the apps that collect it (empty: all).")

    @field_validator("store")
    @classmethod
    def _store_declared(cls, value: str, info: ValidationInfo) -> str:
        stores = (info.context or {}).get("stores")
        if stores is not None and value not in stores:
            hint = did_you_mean(value, stores) if stores else " ([[inventory.stores]] is empty)"
            raise _fail("unknown_store", "no store named '{value}'{hint}", value=value, hint=hint)
        return value

    @model_validator(mode="after")
    def _personal_matches_category(self) -> DataItem:
        if is_personal(self.category) != self.personal:
            word = "personal" if is_personal(self.category) else "not personal"
            given = str(self.personal).lower()
            raise _field_problems(
                [
                    (
                        "personal",
                        f"personal = {given} contradicts category '{self.category}', which is {word} data",
                    )
                ]
            )
        return self


class Inventory(_Model):
    """What the vendor stores, where, and what it never stores."""

    stores_personal_data: bool
    never_stored: list[CategoryKey] = Field(default_factory=list)
    stores: list[Store] = Field(default_factory=list)
    items: list[DataItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Inventory:
        problems: list[tuple[str, str]] = []
        for field, names in (
            ("stores", [s.name for s in self.stores]),
            ("items", [i.name for i in self.items]),
        ):
            seen: set[str] = set()
            for index, name in enumerate(names):
                if name in seen:
                    problems.append((f"{field}.{index}.name", f"'{name}' is used twice; names must be unique"))
                seen.add(name)
        if problems:
            raise _field_problems(problems)
        return self

    @cached_property
    def stores_by_name(self) -> dict[str, Store]:
        """The stores keyed by name."""
        return {s.name: s for s in self.stores}


# -- retention -------------------------------------------------------------------------------


class SupportAttachments(_Model):
    """When files sent to support are deleted."""

    after_close: Duration = Field(Duration(0), description="Delay after the case closes ('0s': at close, e.g. '7d').")
    max_age: Duration | None = Field(None, description="Deleted at the latest this long after receipt, even if open.")


class Retention(_Model):
    """How long each kind of data is kept. Durations are exact (multiples of 24 h in UTC for days)."""

    tenant_data_after_uninstall: Duration | None = Field(
        None, description="Tenant data is purged this long after uninstall or lost access, e.g. '30d'."
    )
    support_attachments: SupportAttachments | None = None
    support_communications: Duration | None = Field(None, description="Kept this long after the case closes.")
    support_deletion_on_request: Stated = Field(
        None, description="Customers may ask for their support data to be deleted before that."
    )
    logs: Duration | None = Field(None, description="Service logs are kept this long.")


# -- backups -----------------------------------------------------------------------------------


class KeepPolicy(_Model):
    """Calendar retention: the newest snapshot of each of the N most recent periods is kept."""

    daily: Annotated[int, Field(ge=0, le=10000)] = 0
    weekly: Annotated[int, Field(ge=0, le=10000)] = 0
    monthly: Annotated[int, Field(ge=0, le=10000)] = 0
    yearly: Annotated[int, Field(ge=0, le=1000)] = 0
    within: Duration | None = Field(None, description="Also keep everything this close to the newest snapshot.")

    @model_validator(mode="after")
    def _not_empty(self) -> KeepPolicy:
        if not (self.daily or self.weekly or self.monthly or self.yearly or self.within):
            raise _fail("keep_empty", "keeps nothing: set at least one of daily, weekly, monthly, yearly, within")
        return self

    @property
    def guaranteed(self) -> Duration:
        """How long a backup of every day is certainly kept: the ``daily`` rule (the newest backup of each of the
        last N days) or ``within``. Weekly, monthly and yearly rules keep one backup per period, not every
        day's, so they do not count here (a statement saying "every backup is kept 30 days" from ``monthly``
        would be false: prune removes the other days' backups of that month)."""
        return Duration(max(self.daily * 86400, self.within.seconds if self.within else 0))

    @property
    def longest(self) -> Duration:
        """The longest a snapshot can be kept (upper bound: months of 31 days, years of 366)."""
        spans = [
            (self.daily + 1) * 86400 if self.daily else 0,
            (self.weekly + 1) * 7 * 86400 if self.weekly else 0,
            (self.monthly + 1) * 31 * 86400 if self.monthly else 0,
            (self.yearly + 1) * 366 * 86400 if self.yearly else 0,
            self.within.seconds if self.within else 0,
        ]
        return Duration(max(spans))


class BackupDestination(_Model):
    """Where snapshots are written."""

    name: Identifier
    kind: Literal["local", "s3"]
    path: Text | None = Field(None, description="Directory for 'local' (relative to the data directory).")
    bucket: Text | None = Field(None, description="Bucket for 's3'.")
    prefix: str = ""
    endpoint_url: HttpsUrl | None = Field(None, description="S3-compatible endpoint; AWS when absent.")
    provider: Provider
    region: Text | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> BackupDestination:
        problems: list[tuple[str, str]] = []
        if self.kind == "local":
            if self.path is None:
                problems.append(("path", "a local destination needs a path"))
            elif ".." in self.path.replace("\\", "/").split("/"):
                problems.append(("path", f"'{self.path}' leaves its directory ('..' is not allowed)"))
            for field in ("bucket", "endpoint_url"):
                if getattr(self, field) is not None:
                    problems.append((field, "only an s3 destination has this"))
            if self.prefix:
                problems.append(("prefix", "only an s3 destination has this"))
        if self.kind == "s3":
            if self.bucket is None:
                problems.append(("bucket", "an s3 destination needs a bucket"))
            if self.path is not None:
                problems.append(("path", "an s3 destination has a bucket and prefix, not a path"))
        if problems:
            raise _field_problems(problems)
        return self


class Backups(_Model):
    """Backup promises: how often, how long, where, and how fast data comes back."""

    enabled: bool = True
    frequency: Duration = Field(description="A snapshot at least this often, e.g. '24h'.")
    time_zone: TimeZone = Field(description="Zone in which days, weeks, months and years are counted.")
    keep: KeepPolicy
    minimum_retention: Duration | None = Field(
        None, description="Promised: a backup of each day is kept at least this long (needs daily or within)."
    )
    destinations: list[BackupDestination] = Field(default_factory=list)
    encrypted: Stated = None
    rpo: Duration | None = Field(None, description="Recovery point objective: at most this much recent data is lost.")
    rto: Duration | None = Field(None, description="Recovery time objective: service restored within this long.")
    restore_drills: Duration | None = Field(None, description="A restore drill at least this often.")


# -- encryption and access -------------------------------------------------------------------


class AtRest(_Model):
    """Encryption of stored data."""

    algorithm: Literal["AES-256-GCM"] | None = Field(None, description="The cipher, when the statement names it.")
    per_tenant_keys: bool = Field(description="Each tenant's data under its own key (crypto-shredding).")
    key_provider: Literal["file", "env", "aws-kms"] | None = Field(
        None, description="Where the key-encryption key is held (Charter uses 'file' when absent)."
    )
    disk_encryption: Stated = Field(None, description="The vendor's disks and volumes are encrypted too.")


class InTransit(_Model):
    """Encryption of data on the network."""

    min_tls: Literal["1.0", "1.1", "1.2", "1.3"]
    hsts_max_age: Duration
    hsts_include_subdomains: Stated = None
    https_only: Stated = Field(None, description="Plain HTTP is refused (redirected), not only upgraded by HSTS.")

    @property
    def hsts_header(self) -> str:
        """The ``Strict-Transport-Security`` value these promises mean (RFC 6797 6.1), as the web app sends it."""
        return f"max-age={self.hsts_max_age.seconds}" + ("; includeSubDomains" if self.hsts_include_subdomains else "")


class Encryption(_Model):
    at_rest: AtRest | None = None
    in_transit: InTransit | None = None


class Role(_Model):
    """A staff role and what it may reach."""

    name: Identifier
    description: Text
    tenant_data: Literal["none", "on-request", "always"] = "none"
    production_systems: bool = False


class Access(_Model):
    """Who among the vendor's staff may access what."""

    staff_2fa: Stated = Field(None, description="Staff sign in with two-factor authentication.")
    least_privilege: Stated = Field(None, description="Staff get only the access their role needs.")
    roles: list[Role] = Field(default_factory=list)
    support_access: Literal["never", "on-customer-request", "operations-and-customer-request"] | None = Field(
        None,
        description="When staff reach customer data: never; only on the customer's request; or also to monitor "
        "and maintain the service.",
    )
    record_reason: Stated = Field(None, description="Every staff access to tenant data records a reason.")
    app_scopes_minimal: Stated = Field(None, description="The apps request only the scopes they need.")


# -- security -------------------------------------------------------------------------------


class FixWithin(_Model):
    """Fix deadline per severity (CVSS v3.1/v4.0 bands). Defaults: Atlassian's cloud maxima."""

    critical: Duration = Duration.of(weeks=4)
    high: Duration = Duration.of(weeks=6)
    medium: Duration = Duration.of(weeks=8)
    low: Duration = Duration.of(weeks=25)


class Breach(_Model):
    """Personal-data breach notification (GDPR Art. 33 and 34)."""

    notify_customers: Stated = Field(None, description="Affected customers are told without undue delay.")
    notify_customers_within: Duration | None = Field(None, description="... and at the latest within this.")
    notify_authority_within: Duration | None = Field(
        None, description="Supervisory authority, when the vendor is controller (GDPR Art. 33: at most 72h)."
    )


class SecurityTxt(_Model):
    """The /.well-known/security.txt file (RFC 9116)."""

    expires: Instant = Field(description="RFC 9116 Expires; at most a year ahead.")
    preferred_languages: list[Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]] = Field(
        default_factory=lambda: ["en"]
    )
    policy: HttpsUrl | None = None
    acknowledgments: HttpsUrl | None = None
    hiring: HttpsUrl | None = None
    encryption: HttpsUrl | None = Field(None, description="URL of the OpenPGP key for encrypted reports.")


class Security(_Model):
    """Vulnerability handling, incidents and disclosure."""

    acknowledge_within_business_days: Annotated[int, Field(ge=1, le=30)] | None = Field(
        None, description="Every security report is acknowledged within this many business days."
    )
    holiday_country: CountryCode | None = Field(None, description="Calendar for business days; vendor.country.")
    report_to: Contact | None = Field(None, description="Where to send reports; vendor.contacts.security.")
    subject_prefix: Text | None = Field(None, description="E.g. '[Security]'.")
    safe_harbour: Text | None = Field(None, description="The promise not to take legal action (prose).")
    fix_within: FixWithin | None = Field(
        None, description="Promised fix deadlines; Atlassian's maxima apply when absent."
    )
    release_fix_when_ready: Stated = None
    notify_affected_customers: Literal["email", "release-notes", "email-or-release-notes"] | None = None
    publish_advisories: Stated = None
    advisories_url: HttpsUrl | None = Field(None, description="Where advisories are published.")
    dependency_monitoring: Stated = None
    code_review: Stated = None
    security_testing: Stated = None
    bug_bounty: Stated = None
    breach: Breach = Breach()
    security_txt: SecurityTxt

    @model_validator(mode="after")
    def _holiday_calendar(self) -> Security:
        if self.holiday_country is not None and self.holiday_country not in holidays.list_supported_countries():
            raise _field_problems(
                [
                    (
                        "holiday_country",
                        f"'{self.holiday_country}' has no public-holiday calendar in `holidays`",
                    )
                ]
            )
        return self

    @property
    def effective_fix_within(self) -> FixWithin:
        """The deadlines the security desk keeps: the promised ones, else Atlassian's cloud maxima."""
        return self.fix_within or FixWithin()


# -- sharing, logging, privacy, support ------------------------------------------------------


class Subprocessor(_Model):
    """A third party that processes data on the vendor's behalf."""

    name: Text
    purpose: Text
    location: CountryCode | Literal["EU", "global"]
    data: list[CategoryKey] = Field(default_factory=list)
    url: HttpsUrl | None = None


Regulation = Literal["gdpr", "uk-gdpr", "ccpa", "au-privacy-act", "pipeda", "lgpd", "swiss-fadp"]


class Sharing(_Model):
    """Whom data is shared with."""

    sells_data: Stated = None
    third_parties: (
        Literal["never", "only-if-required-by-law", "only-if-permitted-by-law", "subprocessors-only"] | None
    ) = None
    subprocessors: list[Subprocessor] = Field(default_factory=list)
    infrastructure_access_by_third_parties: Stated = None
    regulations: list[Regulation] = Field(default_factory=list)
    data_portability: Literal["not-supported", "export-on-request", "self-service-export", "no-data-held"] | None = None
    migration_between_cloud_and_dc: Stated = None
    production_data_in_testing: Stated = None


class Logging(_Model):
    """What the vendor's logs hold (the Marketplace Privacy & Security tab asks)."""

    end_user_data_in_logs: bool
    logs_shared_with_third_parties: Stated = None
    secrets_redacted: Stated = None


class Privacy(_Model):
    """The vendor's role under data-protection law and how people exercise their rights."""

    role: Literal["processor", "controller", "controller-and-processor"] | None = None
    deletion_on_request: Stated = None
    dsr_contact: Contact | None = Field(None, description="Where to send requests; vendor.contacts.privacy.")
    reports_personal_data_to_atlassian: Stated = Field(
        None, description="Stored Atlassian account ids are reported to the personal-data reporting API."
    )


class MarketplaceContacts(_Model):
    """Technical contacts Atlassian passes on for paid apps."""

    purposes: list[Literal["support", "product-feedback", "feature-announcements", "billing", "security-notices"]] = (
        Field(min_length=1)
    )
    unsubscribe: Contact = Field(description="How to unsubscribe (e-mail or URL).")
    kept_until: Literal["unsubscribe-or-deletion-request"] = "unsubscribe-or-deletion-request"


class Support(_Model):
    """What happens to data customers give support."""

    ask_for_obfuscated_data: Stated = None
    redact_at_intake: Stated = None
    troubleshooting_only: Stated = Field(None, description="Support data is used only to troubleshoot.")
    reproduce_without_customer_data_first: Stated = None
    third_party_portal: Text | None = Field(
        None, description="A help desk run by a third party, where closed tickets stay (name it)."
    )


# -- the charter --------------------------------------------------------------------------------


class Charter(_Model):
    """A vendor's whole charter: the root of ``charter.toml``."""

    charter: Literal[1] = Field(description="Version of the charter file format.")
    vendor: Vendor
    statement: StatementInfo
    apps: list[App] = Field(min_length=1)
    inventory: Inventory
    retention: Retention = Retention()
    backups: Backups | None = None
    encryption: Encryption = Encryption()
    access: Access = Access()
    security: Security
    sharing: Sharing = Sharing()
    logging: Logging | None = None
    privacy: Privacy = Privacy()
    marketplace_contacts: MarketplaceContacts | None = None
    support: Support | None = None

    @property
    def cloud_apps(self) -> list[App]:
        """Apps that run in Atlassian's cloud (every hosting model but data-center)."""
        return [a for a in self.apps if a.hosting != "data-center"]

    @property
    def vendor_hosted_apps(self) -> list[App]:
        """Apps with a vendor-hosted backend (forge-remote and connect)."""
        return [a for a in self.apps if a.hosting in ("forge-remote", "connect")]

    @property
    def holiday_country(self) -> str:
        """Country whose public holidays are not business days."""
        return self.security.holiday_country or self.vendor.country
