import tomllib
from typing import Any

from charter.policy._locate import format_path, locate_keys, nearest_line
from tests.conftest import example_files

TRICKY = '''\
# a comment with [brackets] and key = "value"
title = "x"   # trailing comment
"quoted key" = 1
dotted.key.path = true
text = """
fake = "not a key"
[not.a.table]
"""
literal = \'\'\'
[[nor.this]]
\'\'\'
list = [
  1, # one
  [2, 3],
  { a = 1, b = { c = "]" } },
]

[server]
host = "x"
ports = [ 8000,
  8001 ]

[[apps]]
name = "one"

[[apps.egress]]
to = "a"

[[apps.egress]]
to = "b"

[[apps]]
name = "two"
inline = { x = 1, y = [ {z = 2} ] }

[apps.sub]
k = 'v'
when = 1979-05-27 07:32:00Z
'''


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out.append((*prefix, index))
            out.extend(_paths(value, (*prefix, index)))
    return out


def test_tricky_document_lines() -> None:
    lines = locate_keys(TRICKY)
    assert lines[("title",)] == 2
    assert lines[("quoted key",)] == 3
    assert lines[("dotted", "key", "path")] == 4
    assert lines[("text",)] == 5
    assert ("fake",) not in lines
    assert ("not",) not in lines
    assert lines[("literal",)] == 9
    assert ("nor",) not in lines
    assert lines[("list", 0)] == 13
    assert lines[("list", 1, 1)] == 14
    assert lines[("list", 2, "b", "c")] == 15
    assert lines[("server", "ports", 1)] == 21
    assert lines[("apps", 0)] == 23
    assert lines[("apps", 0, "egress", 0, "to")] == 27
    assert lines[("apps", 0, "egress", 1, "to")] == 30
    assert lines[("apps", 1, "name")] == 33
    assert lines[("apps", 1, "inline", "y", 0, "z")] == 34
    assert lines[("apps", 1, "sub", "k")] == 37
    assert lines[("apps", 1, "sub", "when")] == 38


def test_every_key_of_every_example_is_located_on_its_own_line() -> None:
    for path in example_files():
        text = path.read_text("utf-8")
        data = tomllib.loads(text)
        lines = locate_keys(text)
        source = text.splitlines()
        for key_path in _paths(data):
            assert key_path in lines, (path.name, key_path)
            last = key_path[-1]
            if isinstance(last, str) and not isinstance(_get(data, key_path), dict | list):
                assert last in source[lines[key_path] - 1], (path.name, key_path)


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def test_nearest_line_falls_back_to_parent() -> None:
    lines = locate_keys(TRICKY)
    assert nearest_line(lines, ("apps", 1, "missing")) == 32
    assert nearest_line(lines, ("nothing",)) is None


def test_format_path() -> None:
    assert format_path(("apps", 0, "egress", 1, "to")) == "apps[0].egress[1].to"
    assert format_path(("quoted key", "x")) == '"quoted key".x'
    assert format_path(()) == ""
