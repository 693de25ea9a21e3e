"""Every class of bad input gets a clear message naming what is wrong and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.clock import FrozenClock
from charter.policy import CharterError, check_file, check_text, load_charter
from tests.conftest import EXAMPLES, NOW

BASE = (EXAMPLES / "forge-remote.toml").read_text("utf-8")


def lines_of(text: str) -> list[str]:
    result = check_text(text, clock=FrozenClock(NOW))
    return [p.format("charter.toml") for p in result.problems]


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def line_no(needle: str, text: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_the_base_charter_is_valid() -> None:
    assert lines_of(BASE) == []


def test_malformed_toml_gives_line_and_column() -> None:
    text = edit('version = "3.0"', 'version = "3.0')
    n = line_no('version = "3.0', text)
    assert lines_of(text) == [
        f"charter.toml:{n}: error: malformed TOML: a string is not closed: a closing quote is missing (column 15)"
    ]


def test_duplicate_key_is_a_toml_error() -> None:
    text = edit('version = "3.0"', 'version = "3.0"\nversion = "3.1"')
    n = line_no('version = "3.1"', text)
    assert lines_of(text) == [
        f"charter.toml:{n}: error: malformed TOML: key statement.version is defined twice (or also as a table) (column 16)"
    ]


def test_other_toml_syntax_errors_say_what_to_fix() -> None:
    bad_date = edit("effective = 2026-11-01", "effective = 2026-13-45")
    assert lines_of(bad_date) == [
        f"charter.toml:{line_no('2026-13-45', bad_date)}: error: malformed TOML: Expected newline or end of document "
        "after a statement: check the value on this line (text needs quotes, dates are YYYY-MM-DD, booleans are "
        "true/false) (column 17)"
    ]
    unquoted = edit('legal_name = "Example Notes Ltd"', "legal_name = Example Notes")
    assert lines_of(unquoted)[0].endswith(
        "malformed TOML: Invalid value: check the value on this line (text needs "
        "quotes, dates are YYYY-MM-DD, booleans are true/false) (column 14)"
    )
    twice = edit("[sharing]", "[sharing]\n[sharing]")
    assert lines_of(twice) == [
        f"charter.toml:{line_no('[sharing]', twice) + 1}: error: malformed TOML: table [sharing] is declared twice (column 9)"
    ]
    assert lines_of("charter = 1\n= 2\n") == [
        "charter.toml:2: error: malformed TOML: this line is neither key = value, a [table] header nor a # comment (column 1)"
    ]


def test_a_byte_order_mark_is_accepted() -> None:
    assert lines_of("\ufeff" + BASE) == []


def test_unknown_key_suggests_the_right_one() -> None:
    text = edit("legal_name =", "legal_nmae =")
    n = line_no("legal_nmae", text)
    assert lines_of(text) == [
        f'charter.toml:{n}: error: vendor.legal_nmae: unknown key; did you mean "legal_name"? (legal_name is required)'
    ]


def test_unknown_key_with_dash_instead_of_underscore() -> None:
    text = edit("[retention]\n", "[retention]\nsupport-deletion-on-request = true\n").replace(
        "support_deletion_on_request = true\n", ""
    )
    n = line_no("support-deletion-on-request", text)
    assert lines_of(text) == [
        f"charter.toml:{n}: error: retention.support-deletion-on-request: unknown key; "
        'did you mean "support_deletion_on_request"?'
    ]


def test_unknown_table_without_close_match() -> None:
    text = BASE + "\n[marketing]\nnewsletter = true\n"
    assert lines_of(text) == [f"charter.toml:{line_no('[marketing]', text)}: error: marketing: unknown key"]


def test_wrong_types_are_named() -> None:
    text = edit("daily = 31", 'daily = "31"')
    text = edit("staff_2fa = true", 'staff_2fa = "yes"', text)
    text = edit('version = "3.0"', "version = 3.0", text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('version = 3.0', text)}: error: statement.version: expected a string, got the float 3.0",
        f'charter.toml:{line_no("daily =", text)}: error: backups.keep.daily: expected an integer, got the string "31"',
        f'charter.toml:{line_no("staff_2fa", text)}: error: access.staff_2fa: expected true or false, got the string "yes"',
    ]


def test_a_table_where_a_value_belongs_and_the_reverse() -> None:
    text = edit(
        '[vendor.contacts]\nprivacy = "privacy@notes.example.com"',
        '[vendor.contacts]\nprivacy = { email = "x" }',
    )
    text = edit("[security.breach]", "[security.brech]", text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('privacy = {', text)}: error: vendor.contacts.privacy: expected a string, got a table",
        f'charter.toml:{line_no("[security.brech]", text)}: error: security.brech: unknown key; did you mean "breach"?',
    ]


def test_missing_required_table_and_key() -> None:
    text = edit('privacy = "privacy@notes.example.com"\n', "")
    text = edit("expires = 2027-09-30T00:00:00Z\n", "", text)
    start = text.index("[statement]")
    text = text[:start] + text[text.index("[[apps]]") :]
    assert lines_of(text) == [
        "charter.toml: error: statement: required table is missing",
        f"charter.toml:{line_no('[vendor.contacts]', text)}: error: vendor.contacts.privacy: required key is missing",
        f"charter.toml:{line_no('[security.security_txt]', text)}: error: security.security_txt.expires: "
        "required key is missing",
    ]


def test_missing_whole_table() -> None:
    start = BASE.index("[security]")
    end = BASE.index("[sharing]")
    text = BASE[:start] + BASE[end:]
    assert lines_of(text) == ["charter.toml: error: security: required table is missing"]


def test_bad_values_in_enums_durations_and_formats() -> None:
    text = edit('hosting = "forge-remote"', 'hosting = "forge"')
    text = edit('rpo = "24h"', "rpo = 24", text)
    text = edit('country = "DE"', 'country = "Germany"', text)
    text = edit('time_zone = "Europe/Berlin"', 'time_zone = "Europe/Berln"', text)
    text = edit('category = "user.content.generated"', 'category = "user.content.generatd"', text)
    text = edit('hsts_max_age = "365d"', 'hsts_max_age = "1y"', text)
    text = edit('security = "security@notes.example.com"', 'security = "not an address"', text)
    forge = line_no('hosting = "forge"', text)
    contact = line_no('security = "not', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('country =', text)}: error: vendor.country: 'Germany' is not an ISO 3166-1 "
        "alpha-2 country code",
        f"charter.toml:{contact}: error: vendor.contacts.security: 'not an address' is "
        "not a contact: give an e-mail address, or a mailto:, https:// or tel:+ URI",
        f"charter.toml:{forge}: error: apps[0].hosting: 'forge' is not allowed here; "
        "use one of: forge-runs-on-atlassian, forge-remote, connect, data-center",
        f"charter.toml:{line_no('user.content.generatd', text)}: error: inventory.items[3].category: "
        "'user.content.generatd' is not a data category; did you mean \"user.content.generated\"? "
        "(see `charter categories`)",
        f"charter.toml:{line_no('time_zone', text)}: error: backups.time_zone: 'Europe/Berln' is not an IANA "
        'time zone; did you mean "Europe/Berlin"?',
        f"charter.toml:{line_no('rpo = 24', text)}: error: backups.rpo: a duration needs a unit, as a string: "
        'write e.g. "24h" (hours) or "24d" (days)',
        f"charter.toml:{line_no('hsts_max_age', text)}: error: encryption.in_transit.hsts_max_age: '1y': months "
        "and years are not fixed lengths; give days instead (e.g. '365d')",
    ]


def test_cross_field_problems_point_at_each_field() -> None:
    text = edit('app_id = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000000aa"\n', "")
    text = edit('regions = ["eu-central-1"]', 'regions = ["eu-centrl-1"]', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('[[apps]]', text)}: error: apps[0].app_id: a forge-remote app needs its app id "
        "(ari:cloud:ecosystem::app/<uuid>)",
        f"charter.toml:{line_no('eu-centrl-1', text)}: error: apps[0].regions[0]: 'eu-centrl-1' is not a "
        'region of Amazon Web Services (AWS); did you mean "eu-central-1"?',
    ]


def test_references_are_checked_even_when_the_referenced_table_has_errors() -> None:
    text = edit('name = "primary-db"', 'name = "Primary DB"')
    text = edit('store = "support-vault"', 'store = "suport-vault"', text)
    problems = lines_of(text)
    assert (
        f"charter.toml:{line_no('Primary DB', text)}: error: inventory.stores[0].name: 'Primary DB' is not a name "
        "Charter can refer to: use lower-case letters, digits, '-', '_' or '.'"
    ) in problems
    assert (
        f"charter.toml:{line_no('suport-vault', text)}: error: inventory.items[5].store: no store named "
        "'suport-vault'; did you mean \"support-vault\"?"
    ) in problems


def test_personal_flag_must_match_category() -> None:
    text = edit('category = "user.account.id"\npersonal = true', 'category = "user.account.id"\npersonal = false')
    assert lines_of(text) == [
        f"charter.toml:{line_no('personal = false', text.split('note-author')[1]) + line_no('note-author', text) - 1}"
        ": error: inventory.items[4].personal: personal = false contradicts category 'user.account.id', which is "
        "personal data"
    ]


def test_naive_datetime_for_expires() -> None:
    text = edit("expires = 2027-09-30T00:00:00Z", "expires = 2027-09-30T00:00:00")
    assert lines_of(text) == [
        f"charter.toml:{line_no('expires', text)}: error: security.security_txt.expires: '2027-09-30T00:00:00' "
        "has no UTC offset; write e.g. 2027-09-30T00:00:00Z"
    ]


def test_file_problems(tmp_path: Path) -> None:
    assert [p.format("x") for p in check_file(tmp_path / "missing.toml").problems] == ["x: error: no such file"]
    assert [p.format("x") for p in check_file(tmp_path).problems] == ["x: error: is a directory, not a charter file"]
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'charter = 1\nname = "M\xfcller"\n')
    assert [p.format("x") for p in check_file(bad).problems] == [
        "x:2: error: is not UTF-8 text (TOML files must be UTF-8)"
    ]


def test_load_charter_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "charter.toml"
    path.write_text(edit("legal_name =", "legal_nmae ="), "utf-8")
    with pytest.raises(CharterError) as info:
        load_charter(path, clock=FrozenClock(NOW))
    assert len(info.value.problems) == 1
    assert "did you mean" in info.value.report()


def test_backup_destinations_are_checked_by_kind() -> None:
    text = edit('path = "backups"', 'path = "../../../tmp"\nbucket = "stray"')
    text = edit('bucket = "example-notes-backups"', 'bucket = "example-notes-backups"\npath = "/srv/x"', text)
    assert lines_of(text) == [
        f"charter.toml:{line_no('../../../tmp', text)}: error: backups.destinations[0].path: '../../../tmp' leaves "
        "its directory ('..' is not allowed)",
        f"charter.toml:{line_no('stray', text)}: error: backups.destinations[0].bucket: only an s3 destination has this",
        f"charter.toml:{line_no('/srv/x', text)}: error: backups.destinations[1].path: an s3 destination has a bucket "
        "and prefix, not a path",
    ]
