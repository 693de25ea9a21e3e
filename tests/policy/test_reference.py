from charter.policy import schema_reference
from tests.conftest import ROOT


def test_docs_charter_file_is_generated_from_the_schema() -> None:
    doc = (ROOT / "docs" / "charter-file.md").read_text("utf-8")
    assert doc == schema_reference(), "docs/charter-file.md is stale: run `charter reference > docs/charter-file.md`"


def test_reference_names_every_table_and_typed_values() -> None:
    ref = schema_reference()
    for header in (
        "`[vendor]` (required)",
        "`[[apps]]` (required)",
        "`[[inventory.items]]` (optional, any number)",
        "`[backups.keep]` (required)",
        "`[security.security_txt]` (required)",
    ):
        assert f"## {header}" in ref
    assert '| `tenant_data_after_uninstall` | duration (`"30d"`, `"24h"`, `"4w"`) | optional |' in ref
    assert "| `acknowledge_within_business_days` | integer | optional |" in ref
