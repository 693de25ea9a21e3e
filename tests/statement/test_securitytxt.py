"""security.txt follows RFC 9116: required fields, formats, and values from the charter."""

from __future__ import annotations

import re

from charter.statement import render_security_txt
from tests.policy.test_load import BASE, edit
from tests.statement.test_build import charter_of


def fields(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, _, value = line.partition(": ")
        out.setdefault(name, []).append(value)
    return out


def test_required_fields_and_formats() -> None:
    txt = render_security_txt(charter_of(BASE))
    f = fields(txt)
    # the address first (RFC 9116 2.5.3: in order of preference), then the disclosure form `charter serve` answers
    assert f["Contact"] == ["mailto:security@notes.example.com", "https://notes.example.com/security/report"]
    assert f["Expires"] == ["2027-09-30T00:00:00.000Z"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", f["Expires"][0])
    assert f["Preferred-Languages"] == ["en, de"]
    assert f["Canonical"] == ["https://notes.example.com/.well-known/security.txt"]
    assert f["Policy"] == ["https://notes.example.com/trust#responsible-disclosure"]
    # Expires appears exactly once (RFC 9116 2.5.5), every line is a comment or "Field: value".
    assert len(f["Expires"]) == 1
    assert all(line.startswith("#") or ": " in line for line in txt.splitlines())


def test_explicit_report_address_and_optional_fields() -> None:
    text = edit("[security]\n", '[security]\nreport_to = "https://notes.example.com/security/report"\n')
    text = edit(
        'preferred_languages = ["en", "de"]',
        'preferred_languages = ["en"]\npolicy = "https://notes.example.com/disclosure"\n'
        'hiring = "https://notes.example.com/jobs"\nencryption = "https://notes.example.com/pgp.txt"',
        text,
    )
    f = fields(render_security_txt(charter_of(text)))
    assert f["Contact"] == ["https://notes.example.com/security/report"]  # the form, named once
    assert f["Policy"] == ["https://notes.example.com/disclosure"]
    assert f["Hiring"] == ["https://notes.example.com/jobs"]
    assert f["Encryption"] == ["https://notes.example.com/pgp.txt"]


def test_without_a_statement_url_there_is_no_canonical_or_policy() -> None:
    f = fields(render_security_txt(charter_of(edit('url = "https://notes.example.com/trust"\n', ""))))
    assert "Canonical" not in f and "Policy" not in f
    assert f["Contact"] == ["mailto:security@notes.example.com"] and "Expires" in f
