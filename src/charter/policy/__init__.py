"""The charter: what a vendor promises, typed and checked.

``charter.toml -> policy`` is the first step of Charter's flow. This package reads the file, validates
it against the schema, checks promises against each other and against Atlassian's rules, and returns a
:class:`Charter` that every control and the statement renderer read. It imports nothing else of Charter
but the clock.
"""

from charter.policy._duration import Duration
from charter.policy._limits import (
    CLOUD_FIX_DEADLINES,
    DC_FIX_DEADLINES,
    GDPR_AUTHORITY_NOTICE,
    HSTS_MIN_MAX_AGE,
)
from charter.policy._load import CheckResult, check_file, check_text, load_charter
from charter.policy._locate import format_path
from charter.policy._problems import CharterError, Problem
from charter.policy._reference import schema_reference
from charter.policy._regions import PROVIDERS, region_name
from charter.policy._rules import RULES
from charter.policy._schema import (
    Access,
    App,
    BackupDestination,
    Backups,
    Charter,
    DataItem,
    FixWithin,
    Inventory,
    KeepPolicy,
    Security,
    Store,
)
from charter.policy._starter import HOSTING_MODELS, starter_charter
from charter.policy._taxonomy import CATEGORIES, Category, covers, is_personal

__all__ = [
    "CATEGORIES",
    "CLOUD_FIX_DEADLINES",
    "DC_FIX_DEADLINES",
    "GDPR_AUTHORITY_NOTICE",
    "HOSTING_MODELS",
    "HSTS_MIN_MAX_AGE",
    "PROVIDERS",
    "RULES",
    "Access",
    "App",
    "BackupDestination",
    "Backups",
    "Category",
    "Charter",
    "CharterError",
    "CheckResult",
    "DataItem",
    "Duration",
    "FixWithin",
    "Inventory",
    "KeepPolicy",
    "Problem",
    "Security",
    "Store",
    "check_file",
    "check_text",
    "covers",
    "format_path",
    "is_personal",
    "load_charter",
    "region_name",
    "schema_reference",
    "starter_charter",
]
