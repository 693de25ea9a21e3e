"""Answers for the Marketplace listing's Privacy & Security tab, as JSON.

The field names follow the excerpt of Atlassian's REST resource
``/marketplace/rest/3/privacy-and-security/products/{productId}`` (``dataAccessAndStorage``,
``dataStorage.dataRetentionPeriod``, ``thirdPartyInformation``, ``logDetails`` ...). Atlassian's full
schema is not public in the sources Charter was built from, so the document is a draft to copy from or
map onto the live API: its ``format`` names this version of the mapping.
"""

from __future__ import annotations

from typing import Any

from charter.__about__ import __version__
from charter.policy import Charter, Duration
from charter.policy._schema import App
from charter.statement._securitytxt import canonical_url, policy_url

__all__ = ["FORMAT", "marketplace_answers"]

FORMAT = "charter-marketplace-answers/1"

_APP_SOURCES = frozenset({"atlassian-lifecycle", "atlassian-api", "app-user"})


def _iso(d: Duration | None) -> str | None:
    """ISO 8601 duration (``P30D``, ``PT24H``), or ``None``."""
    if d is None:
        return None
    days, rest = divmod(d.seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if seconds else "")
    return text + ("T" + clock if clock else "") if (days or clock) else "PT0S"


def _app_answers(charter: Charter, app: App) -> dict[str, Any]:
    inv = charter.inventory
    stores = inv.stores_by_name
    items = [i for i in inv.items if i.source in _APP_SOURCES and (not i.apps or app.key in i.apps)]
    outside = [i for i in items if stores[i.store].vendor_hosted]
    in_scope_egress = [e for e in app.egress if e.in_scope_eud]
    locations = sorted(
        {f"{stores[i.store].provider}:{r}" for i in outside for r in stores[i.store].regions}
        | {f"{app.provider}:{r}" for r in app.regions if app.provider}
    )
    retention = charter.retention.tenant_data_after_uninstall
    return {
        "appKey": app.key,
        "name": app.name,
        "hosting": app.hosting,
        "dataAccessAndStorage": {
            "dataAccess": {
                "accessesEndUserData": bool(items) or bool(in_scope_egress),
                "dataAccessTypes": sorted({i.category for i in items}),
            },
            "dataStorage": {
                "storesEndUserDataOutsideAtlassian": bool(outside) or any(e.kind == "storage" for e in in_scope_egress),
                "storedDataTypes": sorted({i.category for i in outside}),
                "storageLocations": locations,
                "dataRetentionPeriod": _iso(retention),
                "dataDeletionPolicy": (
                    f"All data of a site is deleted {retention.humanize()} after uninstall or loss of access."
                    if retention
                    else None
                ),
                "encryptedAtRest": all(i.encryption in ("disk", "envelope") for i in outside) if outside else None,
            },
            "dataResidency": {
                "supported": app.data_residency,
                "migrationBetweenLocationsSupported": False,
            },
            "egress": [
                {
                    "destination": e.destination,
                    "purpose": e.purpose,
                    "kind": e.kind,
                    "inScopeEndUserData": e.in_scope_eud,
                }
                for e in app.egress
            ],
        },
    }


def marketplace_answers(charter: Charter) -> dict[str, Any]:
    """The Privacy & Security tab answers of every cloud app in ``charter`` (data-center apps have no tab)."""
    sharing = charter.sharing
    sec = charter.security
    transit = charter.encryption.in_transit
    logging = charter.logging
    return {
        "format": FORMAT,
        "generator": f"charter {__version__}",
        "vendor": charter.vendor.legal_name,
        "statementVersion": charter.statement.version,
        "statementEffective": charter.statement.effective.isoformat(),
        "privacyPolicyUrl": charter.statement.url,
        "apps": [_app_answers(charter, app) for app in charter.cloud_apps],
        "thirdPartyInformation": {
            "dataSharing": sharing.third_parties,
            "sellsData": sharing.sells_data,
            "thirdPartyServices": [
                {"name": p.name, "purpose": p.purpose, "location": p.location, "dataTypes": list(p.data)}
                for p in sharing.subprocessors
            ],
        },
        "logDetails": None
        if logging is None
        else {
            "endUserDataInLogs": logging.end_user_data_in_logs,
            "logsSharedWithThirdParties": logging.logs_shared_with_third_parties,
            "logRetentionPeriod": _iso(charter.retention.logs),
        },
        "security": {
            "encryptionInTransit": None
            if transit is None
            else {"minimumTlsVersion": transit.min_tls, "hstsMaxAgeSeconds": transit.hsts_max_age.seconds},
            "encryptionAtRest": charter.encryption.at_rest is not None,
            "staffTwoFactorAuthentication": charter.access.staff_2fa,
            "securityContact": sec.report_to or charter.vendor.contacts.security,
            "securityTxt": canonical_url(charter),
            "disclosurePolicy": policy_url(charter),
            "vulnerabilityFixDeadlines": {
                "critical": _iso(sec.effective_fix_within.critical),
                "high": _iso(sec.effective_fix_within.high),
                "medium": _iso(sec.effective_fix_within.medium),
                "low": _iso(sec.effective_fix_within.low),
            },
            "bugBounty": sec.bug_bounty,
        },
        "compliance": {"regulations": list(sharing.regulations), "dataPortability": sharing.data_portability},
    }
