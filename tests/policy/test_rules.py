"""Each rule that rejects contradicting promises, with the exact message it prints."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from charter.clock import FrozenClock
from charter.policy import RULES, check_text, starter_charter
from tests.conftest import NOW
from tests.policy.test_load import BASE, edit, line_no, lines_of

QUOTE = '"'
ROA = starter_charter("forge-runs-on-atlassian", FrozenClock(NOW))


def test_every_rule_is_tested_here() -> None:
    source = Path(__file__).read_text("utf-8")
    for rule in RULES:
        assert f"rule: {rule}" in source, f"rule {rule} has no test in this file"


# rule: personal-data-declared
def test_no_personal_data_promise_contradicting_the_inventory() -> None:
    text = edit("stores_personal_data = true", "stores_personal_data = false")
    assert lines_of(text) == [
        f"charter.toml:{line_no('stores_personal_data', text)}: error: inventory.stores_personal_data: is false, "
        "but the inventory holds personal data: 'note', 'note-author', 'support-attachment', 'support-message'"
    ]


def test_personal_data_promised_but_none_declared_is_a_warning() -> None:
    text = edit("stores_personal_data = false", "stores_personal_data = true", ROA)
    result = check_text(text, clock=FrozenClock(NOW))
    assert result.ok
    assert [p.format("c") for p in result.problems] == [
        f"c:{line_no('stores_personal_data', text)}: warning: inventory.stores_personal_data: is true, but no item "
        "of the inventory is personal; declare what is stored"
    ]


# rule: never-stored
def test_never_stored_category_in_inventory() -> None:
    GENERATED = line_no("category = " + QUOTE + "user.content.generated", BASE)
    text = edit(
        'never_stored = ["customer.content", "user.credentials", "user.contact", "user.financial"]',
        'never_stored = ["customer.content", "user.content"]',
    )
    assert lines_of(text) == [
        f"charter.toml:{GENERATED}: error: "
        "inventory.items[3].category: 'user.content.generated' is stored, but inventory.never_stored promises "
        "never to store 'user.content'",
        f"charter.toml:{line_no('user.content.support.attachment', text)}: error: inventory.items[5].category: "
        "'user.content.support.attachment' is stored, but inventory.never_stored promises never to store "
        "'user.content'",
        f"charter.toml:{line_no('user.content.support.communication', text)}: error: inventory.items[6].category: "
        "'user.content.support.communication' is stored, but inventory.never_stored promises never to store "
        "'user.content'",
    ]


# rule: app-keys
def test_app_keys_are_unique() -> None:
    text = edit('key = "com.example.issue-notes.connect"', 'key = "com.example.issue-notes"')
    text = edit('apps = ["com.example.issue-notes.connect"]', 'apps = ["com.example.issue-notes"]', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('Issue Notes (Connect)', text) + 1}: error: apps[1].key: 'com.example.issue-notes' "
        "is used by two apps; keys must be unique"
    ]


# rule: runs-on-atlassian
def test_runs_on_atlassian_with_a_vendor_hosted_store() -> None:
    text = ROA + (
        '\n[[inventory.stores]]\nname = "db"\nkind = "database"\nprovider = "aws"\nregions = ["eu-west-1"]\n'
        "encrypted_at_rest = true\n"
        '\n[[inventory.items]]\nname = "site"\ndescription = "the site id"\ncategory = "system.tenant.identifier"\n'
        'personal = false\nstore = "db"\nencryption = "disk"\nsource = "atlassian-lifecycle"\npurpose = "know it"\n'
    )
    text = edit("[privacy]", '[retention]\ntenant_data_after_uninstall = "30d"\n\n[privacy]', text)
    db_line = line_no("store = " + QUOTE + "db", text)
    assert lines_of(text) == [
        f"charter.toml:{db_line}: error: inventory.items[0].store: app 'com.example.app' is "
        "forge-runs-on-atlassian, but 'site' (atlassian-lifecycle) is kept in the vendor-hosted store 'db'"
    ]


def test_runs_on_atlassian_with_egress() -> None:
    egress = '\n[[apps.egress]]\ndestination = "Sentry"\npurpose = "error reports"\nkind = "logging"\n'
    text = edit('products = ["jira"]\n', 'products = ["jira"]\n' + egress, ROA)
    assert lines_of(text) == [
        f"charter.toml:{line_no('[[apps.egress]]', text)}: error: apps[0].egress[0]: a forge-runs-on-atlassian app "
        "may not send data out of Atlassian (only analytics with in_scope_eud = false is allowed)"
    ]
    analytics = egress.replace('"logging"', '"analytics"') + "in_scope_eud = false\n"
    assert lines_of(edit('products = ["jira"]\n', 'products = ["jira"]\n' + analytics, ROA)) == []
    analytics_eud = egress.replace('"logging"', '"analytics"')
    assert len(lines_of(edit('products = ["jira"]\n', 'products = ["jira"]\n' + analytics_eud, ROA))) == 1


# rule: fix-deadlines
def test_fix_deadlines_longer_than_atlassian_allows() -> None:
    text = edit('critical = "2w"', 'critical = "5w"')
    text = edit('low = "25w"', 'low = "26w"', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('critical =', text)}: error: security.fix_within.critical: 5w is longer than "
        "Atlassian's cloud limit of 4w (Marketplace Security Bug Fix Policy)",
        f"charter.toml:{line_no('critical =', text)}: error: security.fix_within.critical: a critical fix (5w) may "
        "not take longer than a high one (4w)",
        f"charter.toml:{line_no('low =', text)}: error: security.fix_within.low: 26w is longer than Atlassian's "
        "cloud limit of 25w (Marketplace Security Bug Fix Policy)",
    ]


def test_data_center_only_vendors_get_the_data_center_limits() -> None:
    dc = starter_charter("data-center", FrozenClock(NOW))
    for severity in ("critical", "high", "medium"):
        dc = dc.replace(f'{severity} = "', f'{severity} = "90d" # was "', 1)
    dc = dc.replace('low = "', 'low = "180d" # was "', 1)
    assert lines_of(dc) == []
    assert lines_of(edit('low = "180d"', 'low = "181d"', dc)) == [
        f"charter.toml:{line_no('low =', dc)}: error: security.fix_within.low: 181d is longer than "
        "Atlassian's Data Center limit of 180d (Marketplace Security Bug Fix Policy)"
    ]


# rule: security-txt-expiry
@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        (
            "2027-11-29T12:00:01Z",
            "2027-11-29T12:00:01Z is more than a year ahead (RFC 9116 2.5.5 asks for less than a year)",
        ),
        ("2026-11-29T12:00:00Z", "2026-11-29T12:00:00Z has passed; set a new date"),
        ("2020-01-01", "2020-01-01T00:00:00Z has passed; set a new date"),
    ],
)
def test_security_txt_expiry(expires: str, expected: str) -> None:
    text = edit("expires = 2027-09-30T00:00:00Z", f"expires = {expires}")
    assert lines_of(text) == [
        f"charter.toml:{line_no('expires', text)}: error: security.security_txt.expires: {expected}"
    ]


def test_security_txt_expiry_edges_and_warning() -> None:
    year = edit("expires = 2027-09-30T00:00:00Z", "expires = 2027-11-29T12:00:00Z")
    assert lines_of(year) == []
    soon = edit("expires = 2027-09-30T00:00:00Z", "expires = 2026-12-20T00:00:00Z")
    result = check_text(soon, clock=FrozenClock(NOW))
    assert result.ok
    assert [p.format("c") for p in result.problems] == [
        f"c:{line_no('expires', soon)}: warning: security.security_txt.expires: expires in 20 day(s); renew it"
    ]
    # The rule reads the injected clock, not the host's: a year later the same file is expired.
    later = FrozenClock(NOW + timedelta(days=400))
    assert not check_text(BASE, clock=later).ok


# rule: breach-notice
def test_controller_must_notify_the_authority_within_72_hours() -> None:
    text = edit('role = "processor"', 'role = "controller"')
    text = edit('notify_authority_within = "72h"', 'notify_authority_within = "4d"', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('notify_authority_within', text)}: error: security.breach.notify_authority_within: "
        "4d is longer than the 72h GDPR Art. 33(1) allows"
    ]


def test_customers_deadline_without_notifying_customers() -> None:
    text = edit("notify_customers = true", "notify_customers = false")
    assert lines_of(text) == [
        f"charter.toml:{line_no('notify_customers_within', text)}: error: security.breach.notify_customers_within: "
        "is set, but notify_customers is false"
    ]


# rule: transport
def test_transport_minimums() -> None:
    text = edit('min_tls = "1.2"', 'min_tls = "1.1"')
    text = edit('hsts_max_age = "365d"', 'hsts_max_age = "180d"', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('min_tls', text)}: error: encryption.in_transit.min_tls: TLS 1.1 is below "
        "Atlassian's minimum of TLS 1.2",
        f"charter.toml:{line_no('hsts_max_age', text)}: error: encryption.in_transit.hsts_max_age: 180d is shorter "
        "than Atlassian's minimum HSTS max-age of one year (365d)",
    ]


# rule: encryption-at-rest
def test_secrets_need_envelope_encryption_and_disk_needs_an_encrypted_store() -> None:
    shared = BASE.index('name = "tenant-shared-secret"')
    text = BASE[:shared] + BASE[shared:].replace('encryption = "envelope"', 'encryption = "disk"', 1)
    text = edit(
        'kind = "file-storage"\nprovider = "aws"\nregions = ["eu-central-1"]\nencrypted_at_rest = true',
        'kind = "file-storage"\nprovider = "aws"\nregions = ["eu-central-1"]\nencrypted_at_rest = false',
        text,
    )
    note = text.index('name = "note"\n')
    text = text[:note] + text[note:].replace('encryption = "envelope"', 'encryption = "none"', 1)
    problems = lines_of(text)
    note_line = _line_after(text, "name = " + QUOTE + "note" + QUOTE, "encryption")
    assert problems == [
        f"charter.toml:{_line_after(text, 'tenant-shared-secret', 'encryption')}: error: "
        "inventory.items[2].encryption: 'tenant-shared-secret' holds credentials; they must be stored with "
        "'envelope' encryption",
        f"charter.toml:{note_line}: error: inventory.items[3].encryption: "
        "'note' is end-user data stored outside Atlassian; Atlassian requires encryption at rest",
    ]
    text = text.replace('name = "support-attachment"', 'name = "support-attachment"', 1)
    attachment = text.index('name = "support-attachment"')
    text = text[:attachment] + text[attachment:].replace('encryption = "envelope"', 'encryption = "disk"', 1)
    assert (
        f"charter.toml:{_line_after(text, 'support-attachment', 'encryption')}: error: inventory.items[5].encryption: "
        "'disk' needs store 'support-vault' to have encrypted_at_rest = true"
    ) in lines_of(text)


def test_envelope_encryption_needs_per_tenant_keys() -> None:
    text = edit("per_tenant_keys = true", "per_tenant_keys = false")
    problems = lines_of(text)
    assert len(problems) == 6
    assert problems[0] == (
        f"charter.toml:{_line_after(text, 'tenant-base-url', 'encryption')}: error: inventory.items[1].encryption: "
        "'envelope' needs [encryption.at_rest] with per_tenant_keys = true"
    )


def _line_after(text: str, anchor: str, needle: str) -> int:
    start = text.index(anchor)
    return text[: text.index(needle, start)].count("\n") + 1


# rule: support-access
def test_support_access_needs_a_recorded_reason_and_no_standing_access() -> None:
    text = edit("record_reason = true", "record_reason = false")
    text = edit(
        'tenant_data = "on-request"\nproduction_systems = true',
        'tenant_data = "always"\nproduction_systems = true',
        text,
    )
    assert lines_of(text) == [
        f"charter.toml:{line_no('record_reason', text)}: error: access.record_reason: support_access is "
        "'on-customer-request': every access must record its reason, so this must be true",
        f"charter.toml:{line_no('always', text)}: error: access.roles[0].tenant_data: role "
        "'engineer' has standing access to tenant data; least privilege allows 'on-request' at most",
    ]


def test_role_on_request_while_support_access_is_never() -> None:
    text = edit('support_access = "on-customer-request"', 'support_access = "never"')
    assert lines_of(text) == [
        f"charter.toml:{_line_after(text, 'engineer', 'tenant_data')}: error: access.roles[0].tenant_data: is "
        "'on-request', but access.support_access is 'never'",
        f"charter.toml:{_line_after(text, 'answers support', 'tenant_data')}: error: access.roles[1].tenant_data: is "
        "'on-request', but access.support_access is 'never'",
    ]


# rule: retention-declared
def test_stored_data_needs_a_deletion_rule() -> None:
    text = edit('tenant_data_after_uninstall = "30d"\n', "")
    start = text.index("[retention.support_attachments]")
    text = text[:start] + text[text.index("[backups]") :]
    assert lines_of(text) == [
        f"charter.toml:{line_no('[retention]', text)}: error: retention.support_attachments: support attachments "
        "are stored; say when they are deleted",
        f"charter.toml:{line_no('[retention]', text)}: error: retention.tenant_data_after_uninstall: tenant data is "
        "stored ('tenant-id'); say how long it is kept after uninstall, e.g. '30d'",
    ]


def test_marketplace_contacts_need_their_section_and_an_item() -> None:
    section = '\n[marketplace_contacts]\npurposes = ["support"]\nunsubscribe = "info@vendor.example.com"\n'
    assert lines_of(ROA + section) == [
        f"charter.toml:{line_no('[marketplace_contacts]', ROA + section)}: error: marketplace_contacts: is declared, "
        'but no inventory item has source = "marketplace"; list the contact data stored'
    ]


# rule: backups
def test_backups_shorter_than_rpo_and_rarer_than_rpo() -> None:
    text = edit("daily = 31\nmonthly = 12", 'within = "12h"')
    text = edit('frequency = "24h"', 'frequency = "48h"', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('frequency', text)}: error: backups.frequency: a backup every 2d cannot meet an RPO "
        "of 1d",
        f"charter.toml:{line_no('minimum_retention', text)}: error: backups.minimum_retention: promises 30d, but "
        "[backups.keep] keeps a backup of each day for only 12h (raise daily, or set within)",
        f"charter.toml:{line_no('[backups.keep]', text)}: error: backups.keep: keeps backups for as little as 12h, "
        "less than the RPO of 1d",
    ]


def test_enabled_backups_need_a_destination() -> None:
    start = BASE.index("[[backups.destinations]]")
    text = BASE[:start] + BASE[BASE.index("[encryption.at_rest]") :]
    assert lines_of(text) == [
        f"charter.toml:{line_no('[backups]', text)}: error: backups.destinations: backups are enabled; name at least "
        "one destination"
    ]


# rule: sharing
def test_sharing_contradictions() -> None:
    text = edit('third_parties = "subprocessors-only"', 'third_parties = "never"')
    text = edit("reports_personal_data_to_atlassian = true", "reports_personal_data_to_atlassian = false", text)
    text = edit('data_portability = "self-service-export"', 'data_portability = "no-data-held"', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('third_parties', text)}: error: sharing.third_parties: is 'never', but subprocessors "
        "are listed; use 'subprocessors-only'",
        f"charter.toml:{line_no('data_portability', text)}: error: sharing.data_portability: is 'no-data-held', but "
        "the inventory holds customer data collected by the apps",
        f"charter.toml:{line_no('reports_personal_data', text)}: error: privacy.reports_personal_data_to_atlassian: "
        "'note-author' stores Atlassian account data; Atlassian requires reporting it (personal-data reporting API), "
        "so this must be true",
    ]


# rule: tenant-inventory
def test_vendor_hosted_apps_declare_what_the_tenant_registry_stores() -> None:
    start = BASE.index('[[inventory.items]]\nname = "tenant-shared-secret"')
    end = BASE.index('[[inventory.items]]\nname = "note"\n')
    text = BASE[:start] + BASE[end:]
    connect = line_no("Issue Notes (Connect)", text) - 1
    assert lines_of(text) == [
        f"charter.toml:{connect}: error: apps[1]: connect app 'com.example.issue-notes.connect' stores the access "
        "keys for your Atlassian site ('system.tenant.credentials'); declare it in [[inventory.items]] with "
        'source = "atlassian-lifecycle"'
    ]
    # An item limited to another app does not count.
    only_forge = edit('apps = ["com.example.issue-notes.connect"]', 'apps = ["com.example.issue-notes"]')
    assert len(lines_of(only_forge)) == 1
