"""From a charter to a :class:`Statement`: plain-English sentences, each made from charter fields.

No field, no sentence: every sentence below is emitted only when the field it states is set, and names
that field as its source. Sections with nothing to say are left out. Section order follows the way
Marketplace vendors publish their statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import pycountry

from charter.policy import CATEGORIES, PROVIDERS, Charter, Duration, region_name
from charter.policy._schema import App, DataItem, Store
from charter.statement._model import Block, Bullets, Paragraph, Section, Sentence, Statement

__all__ = ["SECTION_TITLES", "build_statement", "contact_text", "country_name", "long_date"]

SECTION_TITLES: dict[str, str] = {
    "overview": "Overview",
    "data-we-store": "Data we store and what we never store",
    "hosting": "Hosting and location",
    "encryption": "Encryption",
    "backups": "Backups and recovery",
    "retention": "Retention and deletion",
    "portability": "Data portability",
    "access": "Access by our staff and support",
    "support-data": "Support data",
    "security-practices": "Security practices and vulnerability management",
    "incidents": "Incident handling and breach notification",
    "responsible-disclosure": "Responsible disclosure",
    "third-parties": "Third parties",
    "your-rights": "Your rights and contact",
    "effective": "Effective date and version",
}

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_HOSTING = {
    "forge-runs-on-atlassian": "built on Atlassian Forge and runs entirely on Atlassian's infrastructure",
    "forge-remote": "built on Atlassian Forge, with a backend that we host",
    "connect": "an Atlassian Connect app served from our backend",
    "data-center": "a Data Center app that runs entirely on your own servers",
}

_PRODUCTS = {
    "jira": "Jira",
    "jira-service-management": "Jira Service Management",
    "confluence": "Confluence",
    "bitbucket": "Bitbucket",
    "compass": "Compass",
    "trello": "Trello",
}

_STORE_KINDS = {
    "database": "a database",
    "object-storage": "object storage",
    "file-storage": "file storage",
    "cache": "a cache",
    "backup-storage": "backup storage",
    "support-desk": "our support desk",
    "email": "our e-mail system",
    "crm": "our customer-relationship system",
    "forge-hosted-storage": "Forge hosted storage on Atlassian's infrastructure",
    "atlassian-product": "your Atlassian product itself",
    "customer-host": "your own servers",
}

_REGULATIONS = {
    "gdpr": "the EU General Data Protection Regulation (GDPR)",
    "uk-gdpr": "the UK GDPR",
    "ccpa": "the California Consumer Privacy Act (CCPA)",
    "au-privacy-act": "the Australian Privacy Act",
    "pipeda": "Canada's PIPEDA",
    "lgpd": "Brazil's LGPD",
    "swiss-fadp": "the Swiss Federal Act on Data Protection",
}

_PURPOSES = {
    "support": "support",
    "product-feedback": "asking about your experience and feature ideas",
    "feature-announcements": "news about our apps",
    "billing": "billing",
    "security-notices": "security notices",
}


# -- wording helpers ----------------------------------------------------------------------------


def _join(items: Sequence[str], word: str = "and") -> str:
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def long_date(value: date) -> str:
    """``2026-04-28`` -> ``28 April 2026`` (no locale involved)."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def country_name(code: str) -> str:
    """ISO 3166-1 alpha-2 code -> its common English name (``DE`` -> ``Germany``)."""
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)


_THE = (
    "United ",
    "Netherlands",
    "Philippines",
    "Bahamas",
    "Gambia",
    "Maldives",
    "Czech",
    "Dominican Republic",
    "Central African Republic",
    "Marshall Islands",
    "Solomon Islands",
    "Comoros",
    "Seychelles",
    "Cayman Islands",
    "Isle of Man",
    "Faroe Islands",
    "Falkland Islands",
    "Virgin Islands",
    "Holy See",
    "Republic of",
)


def country_phrase(code: str) -> str:
    """The country as it follows "in": ``GB`` -> ``the United Kingdom``, ``DE`` -> ``Germany``."""
    name = country_name(code)
    return f"the {name}" if name.startswith(_THE) else name


def contact_text(uri: str) -> str:
    """A contact URI as a reader writes it: ``mailto:a@b`` -> ``a@b``; URLs and numbers unchanged."""
    if uri.startswith("mailto:"):
        return uri[7:]
    if uri.startswith("tel:"):
        return uri[4:]
    return uri


def _labels(keys: Iterable[str]) -> list[str]:
    return [CATEGORIES[k].label for k in keys]


def _s(text: str, *sources: str) -> Sentence:
    return Sentence(text, tuple(sources))


def _products(app: App) -> str:
    return _join([_PRODUCTS[p] for p in app.products])


def _store_text(store: Store, *, regions: bool = True) -> str:
    text = _STORE_KINDS[store.kind]
    if store.operated_by:
        text += f" operated by {store.operated_by}"
    if store.vendor_hosted and store.provider not in ("atlassian", "other"):
        where = ""
        if regions and store.regions:
            where = f" in {_join([region_name(store.provider, r) for r in store.regions])}"
        text += f" at {PROVIDERS[store.provider]}{where}"
    return text


def _section(section_id: str, blocks: Iterable[Block | None]) -> Section | None:
    kept = tuple(b for b in blocks if b is not None and (not isinstance(b, Paragraph) or b.sentences))
    if not kept:
        return None
    return Section(section_id, SECTION_TITLES[section_id], kept)


def _para(*sentences: Sentence | None) -> Paragraph:
    return Paragraph(tuple(s for s in sentences if s is not None))


# -- sections -------------------------------------------------------------------------------------


def _overview(c: Charter) -> Section | None:
    v = c.vendor
    about = _s(v.about, "vendor.about") if v.about else None
    intro = _s(
        f"This statement describes how {v.legal_name}, a company based in {country_phrase(v.country)}, "
        f"collects, stores, protects and deletes data when you use our apps for Atlassian products.",
        "vendor.legal_name",
        "vendor.country",
    )
    apps = tuple(
        _s(
            f"{app.name}, for {_products(app)}: {_HOSTING[app.hosting]}.",
            f"apps[{i}].name",
            f"apps[{i}].hosting",
        )
        for i, app in enumerate(c.apps)
    )
    lead = _s("It covers these apps:", "apps")
    return _section("overview", [_para(about, intro), Bullets(apps, lead)])


def _item_sentence(c: Charter, i: int, item: DataItem) -> Sentence:
    store = c.inventory.stores_by_name[item.store]
    protection = {
        "envelope": ", encrypted with a key of its own for each customer site"
        if c.encryption.at_rest is not None and c.encryption.at_rest.per_tenant_keys
        else ", encrypted",
        "disk": ", on encrypted storage",
        "none": ", not encrypted",
        None: "",
    }[item.encryption]
    kept_in = store.description or _store_text(store, regions=False)
    text = f"{_capital(item.description)}: kept in {kept_in}{protection}, to {item.purpose}."
    base = f"inventory.items[{i}]"
    return _s(text, f"{base}.description", f"{base}.store", f"{base}.encryption", f"{base}.purpose")


def _data_we_store(c: Charter) -> Section | None:
    inv = c.inventory
    blocks: list[Block | None] = []
    if not inv.stores_personal_data:
        blocks.append(_para(_s("We do not store personal data.", "inventory.stores_personal_data")))
    if inv.items:
        only = "only " if len(inv.items) <= 3 else ""
        lead = _s(f"We store {only}the following data:", "inventory.items")
        blocks.append(Bullets(tuple(_item_sentence(c, i, item) for i, item in enumerate(inv.items)), lead))
    else:
        blocks.append(_para(_s("We store no data from your Atlassian sites.", "inventory.items")))
    if inv.never_stored:
        support = [i for i in inv.items if i.source == "support"]
        apart = "Apart from what you choose to send to our support, we" if support else "We"
        blocks.append(
            _para(_s(f"{apart} never store {_join(_labels(inv.never_stored), 'or')}.", "inventory.never_stored"))
        )
    return _section("data-we-store", blocks)


def _hosting(c: Charter) -> Section | None:
    apps: list[Sentence] = []
    for i, app in enumerate(c.apps):
        base = f"apps[{i}]"
        parts: list[str] = []
        sources = [f"{base}.hosting"]
        if app.hosting in ("forge-remote", "connect") and app.provider is not None:
            regions = _join([region_name(app.provider, r) for r in app.regions])
            parts.append(f"hosted on {PROVIDERS[app.provider]} in {regions}")
            sources += [f"{base}.provider", f"{base}.regions"]
        elif app.hosting == "forge-runs-on-atlassian":
            parts.append(
                "runs entirely on Atlassian's infrastructure; we operate no servers for it, and data from your "
                "site stays within Atlassian's cloud"
            )
        else:
            parts.append("runs entirely inside your own environment and sends no data to us")
        for j, egress in enumerate(app.egress):
            what = _join(_labels(egress.data)) if egress.data else "data"
            parts.append(f"sends {what} to {egress.destination}, to {egress.purpose}")
            sources.append(f"{base}.egress[{j}]")
        if app.data_residency:
            parts.append("supports Atlassian data residency, so its data stays in the location you choose")
            sources.append(f"{base}.data_residency")
        apps.append(_s(f"{app.name}: {'; '.join(parts)}.", *sources))
    stores = [
        _s(f"{_capital(s.description or _store_text(s))}{_store_where(s)}.", f"inventory.stores[{i}]")
        for i, s in enumerate(c.inventory.stores)
        if s.vendor_hosted
    ]
    lead = _s("We keep data in these places:", "inventory.stores") if stores else None
    return _section("hosting", [Bullets(tuple(apps)), Bullets(tuple(stores), lead) if stores else None])


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _store_where(store: Store) -> str:
    if store.description is None:
        return ""  # _store_text already says where
    if store.vendor_hosted and store.provider not in ("atlassian", "other") and store.regions:
        return f", at {PROVIDERS[store.provider]} in {_join([region_name(store.provider, r) for r in store.regions])}"
    return ""


def _encryption(c: Charter) -> Section | None:
    sentences: list[Sentence | None] = []
    rest = c.encryption.at_rest
    if rest is not None:
        if rest.algorithm is not None:
            sentences.append(
                _s(f"Data we store is encrypted at rest with {rest.algorithm}.", "encryption.at_rest.algorithm")
            )
        else:
            sentences.append(_s("Data we store is encrypted at rest.", "encryption.at_rest"))
        if rest.per_tenant_keys:
            sentences.append(
                _s(
                    "Data marked above as encrypted with a key of its own for each customer site can be made "
                    "unreadable everywhere it was copied, backups included, by destroying that one key.",
                    "encryption.at_rest.per_tenant_keys",
                )
            )
        if rest.key_provider is not None:
            provider = {
                "file": "a key file that only our service can read",
                "env": "our deployment's secret configuration",
                "aws-kms": "AWS Key Management Service (KMS)",
            }[rest.key_provider]
            sentences.append(
                _s(
                    f"Those keys are themselves encrypted by a master key held in {provider}.",
                    "encryption.at_rest.key_provider",
                )
            )
        if rest.disk_encryption:
            sentences.append(
                _s("Our disks and storage volumes are encrypted as well.", "encryption.at_rest.disk_encryption")
            )
    transit = c.encryption.in_transit
    if transit is not None:
        sentences.append(
            _s(
                f"Data in transit is protected with TLS {transit.min_tls} or newer; older protocols are refused.",
                "encryption.in_transit.min_tls",
            )
        )
        sub = " for our domain and its subdomains" if transit.hsts_include_subdomains else ""
        https_only = "are HTTPS-only and " if transit.https_only else ""
        sentences.append(
            _s(
                f"Our web endpoints {https_only}send HTTP Strict Transport Security (HSTS){sub} with a "
                f"max-age of {transit.hsts_max_age.humanize()}.",
                "encryption.in_transit.hsts_max_age",
            )
        )
    return _section("encryption", [_para(*sentences)])


def _backups(c: Charter) -> Section | None:
    b = c.backups
    if b is None:
        return None
    if not b.enabled:
        return _section("backups", [_para(_s("We keep no backups.", "backups.enabled"))])
    keep = b.keep
    parts = []
    for count, unit in ((keep.daily, "day"), (keep.weekly, "week"), (keep.monthly, "month"), (keep.yearly, "year")):
        if count:
            parts.append(f"each of the last {count} {unit}s" if count > 1 else f"the last {unit}")
    sentences: list[Sentence | None] = [
        _s(f"We back up our data at least once every {b.frequency.humanize()}.", "backups.frequency"),
        _s("Backups are encrypted.", "backups.encrypted") if b.encrypted else None,
    ]
    if parts:
        sentences.append(_s(f"We keep the newest backup of {_join(parts)}.", "backups.keep"))
    if keep.within:
        sentences.append(
            _s(
                f"We also keep every backup made in the {keep.within.humanize()} before the newest one.",
                "backups.keep.within",
            )
        )
    if b.minimum_retention:
        sentences.append(
            _s(
                f"A backup of each day is kept for at least {b.minimum_retention.humanize()}.",
                "backups.minimum_retention",
            )
        )
    sentences.append(_s(f"No backup is kept longer than about {_rough(keep.longest)}.", "backups.keep"))
    sentences.append(
        _s(f"Days, weeks, months and years are counted in the {b.time_zone} time zone.", "backups.time_zone")
    )
    if b.destinations:
        places = []
        for d in b.destinations:
            where = PROVIDERS[d.provider] + (f" in {region_name(d.provider, d.region)}" if d.region else "")
            places.append(f"on {where}" if d.kind == "local" else f"in object storage on {where}")
        sentences.append(_s(f"Backups are stored {_join(places)}.", "backups.destinations"))
    if b.rpo is not None:
        sentences.append(
            _s(
                f"Our recovery point objective (RPO) is {b.rpo.humanize()}: an outage loses at most the last "
                f"{b.rpo.humanize()} of data.",
                "backups.rpo",
            )
        )
    if b.rto is not None:
        sentences.append(
            _s(
                f"Our recovery time objective (RTO) is {b.rto.humanize()}: service is restored within that time.",
                "backups.rto",
            )
        )
    if b.restore_drills:
        sentences.append(
            _s(
                f"We rehearse a full restore at least every {b.restore_drills.humanize()} and measure how long it "
                "takes and how recent the restored data is.",
                "backups.restore_drills",
            )
        )
    return _section("backups", [_para(*sentences)])


def _rough(d: Duration) -> str:
    days = d.seconds // 86400
    if days >= 365:
        years = days // 365
        return f"{years} year{'s' if years > 1 else ''}" if days % 365 < 60 else f"{days // 30} months"
    if days >= 60:
        return f"{days // 30} months"
    return d.humanize()


def _tenant_items(c: Charter) -> tuple[list[DataItem], list[DataItem]]:
    """Tenant data kept by the vendor: (under per-tenant keys, not under them)."""
    stores = c.inventory.stores_by_name
    kept = [
        i
        for i in c.inventory.items
        if i.source in ("atlassian-lifecycle", "atlassian-api", "app-user") and stores[i.store].vendor_hosted
    ]
    per_tenant = c.encryption.at_rest is not None and c.encryption.at_rest.per_tenant_keys
    shredded = [i for i in kept if per_tenant and i.encryption == "envelope"]
    return shredded, [i for i in kept if i not in shredded]


def _retention(c: Charter) -> Section | None:
    r = c.retention
    sentences: list[Sentence | None] = []
    if r.tenant_data_after_uninstall is not None:
        if r.tenant_data_after_uninstall.seconds == 0:
            text = "When you uninstall an app, or we lose access to your site, we delete all data of that site at once."
        else:
            text = (
                "When you uninstall an app, or we lose access to your site, we delete all data of that site "
                f"{r.tenant_data_after_uninstall.humanize()} later; if you reinstall before then, it is kept."
            )
        sentences.append(_s(text, "retention.tenant_data_after_uninstall"))
        rest = c.encryption.at_rest
        shredded, expiring = _tenant_items(c)
        if rest is not None and rest.per_tenant_keys and shredded:
            sentences.append(
                _s(
                    "Deletion destroys the site's encryption key first, so "
                    f"{_join([i.description for i in shredded])} become unrecoverable at once, including "
                    "every copy in our backups.",
                    "retention.tenant_data_after_uninstall",
                    "encryption.at_rest.per_tenant_keys",
                    *(f"inventory.items[{c.inventory.items.index(i)}].encryption" for i in shredded),
                )
            )
        if expiring and c.backups is not None and c.backups.enabled:
            sentences.append(
                _s(
                    f"Copies of {_join([i.description for i in expiring])} in our backups disappear when those "
                    f"backups expire, at most about {_rough(c.backups.keep.longest)} after the deletion.",
                    "retention.tenant_data_after_uninstall",
                    "backups.keep",
                )
            )
    a = r.support_attachments
    if a is not None:
        when = (
            "when your support case is closed"
            if a.after_close.seconds == 0
            else (f"{a.after_close.humanize()} after your support case is closed")
        )
        text = f"Files you send to our support are deleted permanently {when}"
        if a.max_age is not None:
            text += f", and at the latest {a.max_age.humanize()} after we receive them"
        sentences.append(_s(text + ".", "retention.support_attachments"))
    if r.support_communications is not None:
        kept = (
            "Support communications are deleted when the case is closed."
            if r.support_communications.seconds == 0
            else f"Support communications are kept for {r.support_communications.humanize()} after the case is "
            "closed, then deleted."
        )
        sentences.append(_s(kept, "retention.support_communications"))
    if r.support_deletion_on_request:
        contact = contact_text(c.privacy.dsr_contact or c.vendor.contacts.privacy)
        sooner = " sooner" if r.support_communications is not None else ""
        sentences.append(
            _s(
                f"You may ask us at {contact} to delete your support communications{sooner}, unless the law "
                "requires us to keep them.",
                "retention.support_deletion_on_request",
            )
        )
    if r.logs is not None:
        logs = (
            "We keep no service logs." if r.logs.seconds == 0 else f"Our service logs are kept for {r.logs.humanize()}."
        )
        sentences.append(_s(logs, "retention.logs"))
    if c.marketplace_contacts is not None:
        sentences.append(
            _s(
                "Contact details we receive from the Atlassian Marketplace are kept until you unsubscribe or ask "
                "us to delete them.",
                "marketplace_contacts.kept_until",
            )
        )
    return _section("retention", [_para(*sentences)])


def _portability(c: Charter) -> Section | None:
    s = c.sharing
    sentences: list[Sentence | None] = []
    if s.data_portability is not None:
        text = {
            "not-supported": "We do not offer an export of app data.",
            "export-on-request": "On request, we export all data we hold for your site as JSON.",
            "self-service-export": "Your site's administrators can export all data we hold for the site as JSON at "
            "any time.",
            "no-data-held": "We hold no content of yours, so there is nothing to export.",
        }[s.data_portability]
        sentences.append(_s(text, "sharing.data_portability"))
    if s.migration_between_cloud_and_dc is not None:
        sentences.append(
            _s(
                "Migrating app data between Cloud and Data Center is supported."
                if s.migration_between_cloud_and_dc
                else "Migrating app data between Cloud and Data Center is not supported.",
                "sharing.migration_between_cloud_and_dc",
            )
        )
    return _section("portability", [_para(*sentences)])


def _access(c: Charter) -> Section | None:
    a = c.access
    sentences: list[Sentence | None] = []
    reason = ", and every access is recorded with its reason" if a.record_reason else ""
    reason_source = ("access.record_reason",) if a.record_reason else ()
    if a.support_access == "never":
        sentences.append(_s("Our staff never access your data or your Atlassian site.", "access.support_access"))
    elif a.support_access == "on-customer-request":
        sentences.append(
            _s(
                f"Our staff access your site's data only when you ask us to, for support{reason}.",
                "access.support_access",
                *reason_source,
            )
        )
    elif a.support_access == "operations-and-customer-request":
        sentences.append(
            _s(
                "Our staff access app data only to monitor the service's health and maintain it, and for support "
                f"when you ask us to{reason}.",
                "access.support_access",
                *reason_source,
            )
        )
    elif a.record_reason:
        sentences.append(
            _s("Every access by our staff to your data is recorded with its reason.", "access.record_reason")
        )
    if a.staff_2fa:
        sentences.append(_s("Our staff sign in to our systems with two-factor authentication.", "access.staff_2fa"))
    if a.least_privilege:
        sentences.append(
            _s("Each person gets only the access their role needs (least privilege).", "access.least_privilege")
        )
    if a.app_scopes_minimal:
        sentences.append(
            _s("Our apps request only the Atlassian permissions (scopes) they need.", "access.app_scopes_minimal")
        )
    roles = tuple(
        _s(
            f"{role.name.capitalize()}: {role.description}; "
            + {
                "none": "no access to your data",
                "on-request": "access to your data only on your request",
                "always": "standing access to your data",
            }[role.tenant_data]
            + ("; access to production systems" if role.production_systems else "")
            + ".",
            f"access.roles[{i}]",
        )
        for i, role in enumerate(a.roles)
    )
    lead = _s("Staff roles:", "access.roles") if roles else None
    return _section("access", [_para(*sentences), Bullets(roles, lead) if roles else None])


def _support_data(c: Charter) -> Section | None:
    s = c.support
    if s is None:
        return None
    sentences: list[Sentence | None] = []
    if s.reproduce_without_customer_data_first:
        sentences.append(
            _s(
                "We first try to reproduce a reported problem without your data.",
                "support.reproduce_without_customer_data_first",
            )
        )
    if s.ask_for_obfuscated_data:
        sentences.append(
            _s(
                "If we need data from you, please send only obfuscated data, without personal or sensitive "
                "information.",
                "support.ask_for_obfuscated_data",
            )
        )
    if s.troubleshooting_only:
        sentences.append(
            _s("We use what you send us only to troubleshoot your request.", "support.troubleshooting_only")
        )
    if s.redact_at_intake:
        sentences.append(
            _s(
                "Files you send to support are redacted when we receive them: e-mail addresses, IP addresses, "
                "account ids, tokens, cookies and passwords are removed before anyone reads them.",
                "support.redact_at_intake",
            )
        )
    if s.third_party_portal:
        sentences.append(
            _s(
                f"If you raise a ticket in {s.third_party_portal}, which a third party runs, what you send stays in "
                "that ticket after it is closed, visible to you and the people you involved.",
                "support.third_party_portal",
            )
        )
    return _section("support-data", [_para(*sentences)])


def _security_practices(c: Charter) -> Section | None:
    sec = c.security
    fix = sec.fix_within
    sentences: list[Sentence | None] = [
        _s("We review our code for security regularly.", "security.code_review") if sec.code_review else None,
        _s(
            "We test for common weaknesses, such as injection flaws and broken access control, before each release.",
            "security.security_testing",
        )
        if sec.security_testing
        else None,
        _s(
            "We monitor publicly disclosed vulnerabilities in the libraries our apps depend on.",
            "security.dependency_monitoring",
        )
        if sec.dependency_monitoring
        else None,
        _s("We never use production data for testing.", "sharing.production_data_in_testing")
        if c.sharing.production_data_in_testing is False
        else None,
        _s(
            "We fix vulnerabilities, rated by their CVSS score, within "
            f"{fix.critical.humanize()} if critical, {fix.high.humanize()} if high, "
            f"{fix.medium.humanize()} if medium and {fix.low.humanize()} if low, counted from the report.",
            "security.fix_within",
        )
        if fix is not None
        else None,
        _s("We release a fixed version as soon as the fix is ready.", "security.release_fix_when_ready")
        if sec.release_fix_when_ready
        else None,
        _s("Our apps take part in the Atlassian Marketplace bug bounty programme.", "security.bug_bounty")
        if sec.bug_bounty
        else None,
    ]
    return _section("security-practices", [_para(*sentences)])


def _incidents(c: Charter) -> Section | None:
    sec = c.security
    b = sec.breach
    sentences: list[Sentence | None] = []
    days = sec.acknowledge_within_business_days
    if days is not None:
        sentences.append(
            _s(
                f"We acknowledge every security report within {days} business day{'s' if days > 1 else ''} "
                f"(working days in {country_phrase(c.holiday_country)}).",
                "security.acknowledge_within_business_days",
            )
        )
    how = {
        "email": "by e-mail",
        "release-notes": "in the release notes on the Atlassian Marketplace",
        "email-or-release-notes": "by e-mail or in the release notes on the Atlassian Marketplace, depending on "
        "severity",
    }
    if sec.notify_affected_customers is not None:
        sentences.append(
            _s(
                f"For a confirmed vulnerability we develop and test a fix and tell affected customers "
                f"{how[sec.notify_affected_customers]}.",
                "security.notify_affected_customers",
            )
        )
    if sec.publish_advisories:
        where = f" at {sec.advisories_url}" if sec.advisories_url else ""
        sources = (
            ("security.publish_advisories", "security.advisories_url") if where else ("security.publish_advisories",)
        )
        sentences.append(_s(f"We publish an advisory for each fixed vulnerability{where}.", *sources))
    if b.notify_customers:
        within = (
            f", and at the latest within {b.notify_customers_within.humanize()}" if b.notify_customers_within else ""
        )
        sentences.append(
            _s(
                f"If a security incident affects your data, we notify you without undue delay{within}, with the "
                "relevant details we have.",
                "security.breach.notify_customers",
                *(("security.breach.notify_customers_within",) if within else ()),
            )
        )
    if b.notify_authority_within is not None:
        sentences.append(
            _s(
                "Where we are the controller of personal data, we notify the competent supervisory authority "
                f"within {b.notify_authority_within.humanize()} of becoming aware of a breach (GDPR Article 33).",
                "security.breach.notify_authority_within",
            )
        )
    return _section("incidents", [_para(*sentences)])


def _disclosure(c: Charter) -> Section | None:
    sec = c.security
    contact = contact_text(sec.report_to or c.vendor.contacts.security)
    prefix = f", with {sec.subject_prefix} in the subject line" if sec.subject_prefix else ""
    sentences: list[Sentence | None] = [
        _s(
            f"If you find a vulnerability in one of our apps, please report it to {contact}{prefix}.",
            "security.report_to" if sec.report_to else "vendor.contacts.security",
            "security.subject_prefix",
        ),
        _s(sec.safe_harbour, "security.safe_harbour") if sec.safe_harbour else None,
        _s(
            "Our security contact is also published in machine-readable form at /.well-known/security.txt (RFC 9116).",
            "security.security_txt",
        ),
    ]
    return _section("responsible-disclosure", [_para(*sentences)])


def _third_parties(c: Charter) -> Section | None:
    s = c.sharing
    sentences: list[Sentence | None] = [
        _s("We do not sell your data.", "sharing.sells_data") if s.sells_data is False else None,
        _s(
            {
                "never": "We do not share your data with any third party.",
                "only-if-required-by-law": "We do not share your data with third parties, except where the law "
                "requires it.",
                "only-if-permitted-by-law": "We do not share your data with third parties unless applicable law "
                "explicitly permits it.",
                "subprocessors-only": "We share your data only with the subprocessors listed below, for the "
                "purposes given.",
            }[s.third_parties],
            "sharing.third_parties",
        )
        if s.third_parties is not None
        else None,
        _s("No third party has access to our infrastructure.", "sharing.infrastructure_access_by_third_parties")
        if s.infrastructure_access_by_third_parties is False
        else None,
    ]
    if c.logging is not None:
        log = c.logging
        sentences.append(
            _s(
                "Our logs contain no end-user data."
                if not log.end_user_data_in_logs
                else "Our logs may contain end-user data.",
                "logging.end_user_data_in_logs",
            )
        )
        if log.logs_shared_with_third_parties is False:
            sentences.append(
                _s("Our logs are not shared with third parties.", "logging.logs_shared_with_third_parties")
            )
        if log.secrets_redacted:
            sentences.append(
                _s("Tokens, keys and passwords are never written to our logs.", "logging.secrets_redacted")
            )
    subs = tuple(
        _s(
            f"{p.name}: {p.purpose} ({_location(p.location)})"
            + (f"; data: {_join(_labels(p.data))}" if p.data else "")
            + ".",
            f"sharing.subprocessors[{i}]",
        )
        for i, p in enumerate(s.subprocessors)
    )
    lead = _s("Subprocessors:", "sharing.subprocessors") if subs else None
    return _section("third-parties", [_para(*sentences), Bullets(subs, lead) if subs else None])


def _location(code: str) -> str:
    return {"global": "worldwide", "EU": "European Union"}.get(code) or country_name(code)


def _your_rights(c: Charter) -> Section | None:
    p = c.privacy
    contacts = c.vendor.contacts
    sentences: list[Sentence | None] = []
    if c.sharing.regulations:
        sentences.append(
            _s(
                f"We handle personal data in line with {_join([_REGULATIONS[r] for r in c.sharing.regulations])}.",
                "sharing.regulations",
            )
        )
    if p.role is not None:
        role = {
            "processor": "For the data in our apps we act as a processor on behalf of your organisation.",
            "controller": "We act as the controller of the personal data we hold.",
            "controller-and-processor": "We act as a processor for the data in our apps and as the controller of "
            "our own customer records.",
        }[p.role]
        sentences.append(_s(role, "privacy.role"))
    if p.deletion_on_request:
        deadline = (
            " We answer within one month, as GDPR Article 12(3) requires."
            if {"gdpr", "uk-gdpr"} & set(c.sharing.regulations)
            else ""
        )
        sentences.append(
            _s(
                "You may ask us for a copy of the personal data we hold about you, or for its deletion, by writing to "
                f"{contact_text(p.dsr_contact or contacts.privacy)}.{deadline}",
                "privacy.deletion_on_request",
                "privacy.dsr_contact" if p.dsr_contact else "vendor.contacts.privacy",
            )
        )
    if p.reports_personal_data_to_atlassian:
        sentences.append(
            _s(
                "We report the Atlassian account ids we store to Atlassian's personal-data reporting API and erase "
                "the data of accounts that have been closed.",
                "privacy.reports_personal_data_to_atlassian",
            )
        )
    mc = c.marketplace_contacts
    if mc is not None:
        sentences.append(
            _s(
                "When you install a paid app, Atlassian gives us the name, e-mail address and company of your "
                f"technical contact. We use them only for {_join([_PURPOSES[x] for x in mc.purposes])}; you can "
                f"unsubscribe at any time at {contact_text(mc.unsubscribe)}.",
                "marketplace_contacts.purposes",
                "marketplace_contacts.unsubscribe",
            )
        )
    lines = (
        _s(f"Privacy questions: {contact_text(contacts.privacy)}.", "vendor.contacts.privacy"),
        _s(f"Security reports: {contact_text(contacts.security)}.", "vendor.contacts.security"),
        _s(f"Support: {contact_text(contacts.support)}.", "vendor.contacts.support"),
    )
    postal = (
        _para(_s(f"{c.vendor.legal_name}, {c.vendor.address}.", "vendor.legal_name", "vendor.address"))
        if c.vendor.address
        else _para(
            _s(f"{c.vendor.legal_name}, {country_name(c.vendor.country)}.", "vendor.legal_name", "vendor.country")
        )
    )
    return _section("your-rights", [_para(*sentences), Bullets(lines, _s("Contact us:", "vendor.contacts")), postal])


def _effective(c: Charter) -> Section | None:
    st = c.statement
    return _section(
        "effective",
        [
            _para(
                _s(
                    f"This is version {st.version} of this statement, effective from {long_date(st.effective)}.",
                    "statement.version",
                    "statement.effective",
                )
            )
        ],
    )


_BUILDERS = (
    _overview,
    _data_we_store,
    _hosting,
    _encryption,
    _backups,
    _retention,
    _portability,
    _access,
    _support_data,
    _security_practices,
    _incidents,
    _disclosure,
    _third_parties,
    _your_rights,
    _effective,
)


def build_statement(charter: Charter) -> Statement:
    """Build the statement of ``charter``: its sections, in published order, each sentence with its sources."""
    sections = tuple(s for s in (build(charter) for build in _BUILDERS) if s is not None)
    st = charter.statement
    return Statement(
        title=st.title,
        vendor=charter.vendor.legal_name,
        version=st.version,
        effective=st.effective,
        language=st.language,
        sections=sections,
    )
