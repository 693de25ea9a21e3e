"""The statement says exactly what the charter says: every sentence from a field, no field no sentence."""

from __future__ import annotations

import re
from typing import Any

import pytest

from charter.clock import FrozenClock
from charter.policy import Charter, check_text, load_charter
from charter.statement import SECTION_TITLES, build_statement, render
from tests.conftest import NOW, example_files
from tests.policy.test_load import BASE, edit


def charter_of(text: str) -> Charter:
    result = check_text(text, clock=FrozenClock(NOW))
    assert result.charter is not None and result.ok, [p.format("c") for p in result.problems]
    return result.charter


def resolve(charter: Charter, dotted: str) -> Any:
    value: Any = charter
    for name, index in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", dotted):
        value = getattr(value, name) if name else value[int(index)]
    return value


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_every_sentence_names_fields_that_exist(path: Any) -> None:
    charter = load_charter(path, clock=FrozenClock(NOW))
    statement = build_statement(charter)
    assert statement.sentences
    for sentence in statement.sentences:
        assert sentence.sources, sentence.text
        for source in sentence.sources:
            resolve(charter, source)  # raises if the field does not exist


def test_full_charter_has_every_section_in_published_order() -> None:
    statement = build_statement(charter_of(BASE))
    assert [s.id for s in statement.sections] == list(SECTION_TITLES)
    assert [s.title for s in statement.sections] == list(SECTION_TITLES.values())


def _sources(charter: Charter) -> set[str]:
    return {src for s in build_statement(charter).sentences for src in s.sources}


@pytest.mark.parametrize(
    ("old", "new", "gone"),
    [
        ('about = "Example Notes builds small, focused apps for Jira teams."\n', "", "vendor.about"),
        ('logs = "14d"\n', "", "retention.logs"),
        ('support_communications = "365d"\n', "", "retention.support_communications"),
        ('restore_drills = "30d"\n', "", "backups.restore_drills"),
        ("dependency_monitoring = true\n", "", "security.dependency_monitoring"),
        (
            'safe_harbour = "We will not take legal action against anyone who reports a vulnerability to us in good '
            'faith and follows this policy."\n',
            "",
            "security.safe_harbour",
        ),
        ("staff_2fa = true", "staff_2fa = false", "access.staff_2fa"),
        ("publish_advisories = true", "publish_advisories = false", "security.publish_advisories"),
    ],
)
def test_no_field_no_sentence(old: str, new: str, gone: str) -> None:
    assert gone in _sources(charter_of(BASE))
    assert gone not in _sources(charter_of(edit(old, new)))


def test_sections_without_fields_are_left_out() -> None:
    start = BASE.index("[backups]")
    end = BASE.index("[encryption.at_rest]")
    start_support = BASE.index("[support]")
    text = BASE[:start] + BASE[end:start_support]
    ids = [s.id for s in build_statement(charter_of(text)).sections]
    assert "backups" not in ids
    assert "support-data" not in ids


def test_values_are_stated_in_words() -> None:
    md = render(build_statement(charter_of(BASE)), "md")
    assert "we delete all data of that site 30 days later" in md
    assert "within 2 weeks if critical, 4 weeks if high, 8 weeks if medium and 25 weeks if low" in md
    assert "Our recovery point objective (RPO) is 24 hours" in md
    assert "Our recovery time objective (RTO) is 8 hours" in md
    assert "within 3 business days (working days in Germany)" in md
    assert "at the latest within 72 hours" in md
    assert "Europe (Frankfurt, eu-central-1)" in md
    changed = render(
        build_statement(charter_of(edit('tenant_data_after_uninstall = "30d"', 'tenant_data_after_uninstall = "45d"'))),
        "md",
    )
    assert "30 days later" not in changed
    assert "45 days later" in changed


def test_untrusted_text_is_escaped_in_html_and_markdown() -> None:
    text = edit('legal_name = "Example Notes Ltd"', 'legal_name = "<script>alert(1)</script> *Ltd* [x](y)"')
    statement = build_statement(charter_of(text))
    html = render(statement, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = render(statement, "md")
    assert "\\<script\\>" in md and "\\*Ltd\\*" in md and "\\[x\\](y)" in md


def test_html_page_is_self_contained_or_links_the_stylesheet() -> None:
    statement = build_statement(charter_of(BASE))
    standalone = render(statement, "html")
    assert "<style>" in standalone and "<link" not in standalone
    linked = render(statement, "html", stylesheet_href="/trust/style.css")
    assert '<link rel="stylesheet" href="/trust/style.css">' in linked and "<style>" not in linked
    for section in SECTION_TITLES:
        assert f'<section id="{section}"' in linked


def test_text_rendering_wraps_at_78_columns() -> None:
    txt = render(build_statement(charter_of(BASE)), "txt")
    assert max(len(line) for line in txt.splitlines()) <= 78
    assert "Backups and recovery\n--------------------" in txt


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render(build_statement(charter_of(BASE)), "pdf")  # type: ignore[arg-type]
