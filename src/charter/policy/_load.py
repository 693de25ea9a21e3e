"""Reading a charter file: TOML syntax, then the schema, then the rules, every problem with its line."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from charter.clock import Clock, SystemClock
from charter.policy._locate import KeyPath, locate_keys, nearest_line
from charter.policy._problems import CharterError, Problem
from charter.policy._rules import run_rules
from charter.policy._schema import FIELD_PROBLEMS, Charter
from charter.policy._suggest import did_you_mean

__all__ = ["CheckResult", "check_text", "load_charter"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking a charter.

    Attributes:
        charter: the validated charter, or ``None`` when it has errors.
        problems: errors and warnings, sorted by line.
    """

    charter: Charter | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)


def load_charter(path: str | Path, *, clock: Clock | None = None) -> Charter:
    """Read, validate and rule-check the charter at ``path``.

    Args:
        path: the ``charter.toml`` file.
        clock: the clock for time-relative rules (security.txt expiry); the system clock by default.

    Returns:
        The validated :class:`Charter` (warnings are dropped; use :func:`check_file` to see them).

    Raises:
        CharterError: the file is missing, unreadable, not UTF-8, not TOML, or has any error.
    """
    result = check_file(path, clock=clock)
    if result.charter is None or not result.ok:
        raise CharterError(str(path), result.problems)
    return result.charter


def check_file(path: str | Path, *, clock: Clock | None = None) -> CheckResult:
    """Like :func:`check_text` for a file; an unreadable file is reported as a problem, not raised."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CheckResult(None, [Problem(None, (), "no such file", rule="file")])
    except IsADirectoryError:
        return CheckResult(None, [Problem(None, (), "is a directory, not a charter file", rule="file")])
    except OSError as exc:
        return CheckResult(None, [Problem(None, (), f"cannot be read ({exc.strerror})", rule="file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return CheckResult(None, [Problem(line, (), "is not UTF-8 text (TOML files must be UTF-8)", rule="toml")])
    return check_text(text, clock=clock)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$")


def check_text(text: str, *, clock: Clock | None = None) -> CheckResult:
    """Check charter source ``text``: TOML syntax, schema, then cross-promise rules.

    Returns:
        A :class:`CheckResult` listing every problem found. The schema is checked in full (all
        structural problems at once); the rules run only when the structure is valid.
    """
    clock = clock or SystemClock()
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write is not an error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line = int(match.group(1)) if match and match.group(1) else text.count("\n") + 1
        column = f" (column {match.group(2)})" if match and match.group(2) else ""
        detail = _explain_toml(_TOML_POSITION.sub("", message), text, line)
        return CheckResult(None, [Problem(line, (), f"malformed TOML: {detail}{column}", rule="toml")])
    lines = locate_keys(text)
    try:
        charter = Charter.model_validate(data, context=_references(data))
    except ValidationError as exc:
        problems = _schema_problems(exc, data, lines)
        return CheckResult(None, sorted(problems, key=_order))
    problems = [
        Problem(nearest_line(lines, p.path), p.path, p.message, p.severity, p.rule)
        for p in run_rules(charter, clock.now())
    ]
    return CheckResult(charter, sorted(problems, key=_order))


_KEY_LINE = re.compile(r"^\s*([^=#\s][^=#]*?)\s*=")
_HEADER_LINE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")


def _explain_toml(detail: str, text: str, line: int) -> str:
    """Turn a ``tomllib`` message into one that says what to fix (the position is added by the caller)."""
    lines = text.split("\n")
    current = lines[line - 1] if 0 < line <= len(lines) else ""
    if detail.startswith(("Cannot overwrite a value", "Cannot declare")):
        header = _HEADER_LINE.match(current)
        if header:
            return f"table [{header.group(1)}] is declared twice"
        key = _KEY_LINE.match(current)
        table = next((m.group(1) for m in map(_HEADER_LINE.match, reversed(lines[: line - 1])) if m), "")
        if key:
            name = f"{table}.{key.group(1).strip()}" if table else key.group(1).strip()
            return f"key {name} is defined twice (or also as a table)"
    if detail.startswith("Illegal character") and current.count('"') % 2 == 1:
        return "a string is not closed: a closing quote is missing"
    if detail.startswith("Unterminated string"):
        return "a string is not closed: a closing quote is missing"
    if detail.startswith(("Invalid value", "Expected newline or end of document after a statement")):
        return (
            f"{detail.rstrip('.')}: check the value on this line (text needs quotes, dates are YYYY-MM-DD, "
            "booleans are true/false)"
        )
    if detail.startswith("Invalid statement"):
        return "this line is neither key = value, a [table] header nor a # comment"
    return detail


def _references(data: dict[str, Any]) -> dict[str, list[str]]:
    """Names that other sections refer to, read from the raw data so that a reference is checked even
    when the section defining the names has errors of its own."""
    inventory = data.get("inventory")
    stores = inventory.get("stores") if isinstance(inventory, dict) else None
    apps = data.get("apps")
    return {
        "stores": [s["name"] for s in stores if isinstance(s, dict) and isinstance(s.get("name"), str)]
        if isinstance(stores, list)
        else [],
        "apps": [a["key"] for a in apps if isinstance(a, dict) and isinstance(a.get("key"), str)]
        if isinstance(apps, list)
        else [],
    }


def _order(problem: Problem) -> tuple[int, str]:
    return (problem.line or 0, problem.where)


# -- pydantic errors -> problems ------------------------------------------------------------


def _schema_problems(exc: ValidationError, data: dict[str, Any], lines: dict[KeyPath, int]) -> list[Problem]:
    problems: dict[tuple[KeyPath, str], Problem] = {}
    for error in exc.errors(include_url=False):
        loc = _clean_loc(error["loc"])
        if error["type"] == FIELD_PROBLEMS:
            for field, message in error["ctx"]["items"]:
                sub = tuple(int(p) if p.isdigit() else p for p in field.split("."))
                path = (*loc, *sub)
                problems[(path, message)] = Problem(nearest_line(lines, path), path, message)
            continue
        message = _message(error, loc, data)
        problems.setdefault((loc, message), Problem(nearest_line(lines, loc), loc, message))
    # A misspelt required key gives "unknown key; did you mean X?" and "X: required key is missing":
    # report the misspelling once, at the line where it is written.
    for (path, message), problem in list(problems.items()):
        suggestion = re.search(r'did you mean "([^"]+)"\?', message)
        if message.startswith("unknown key") and suggestion:
            missing = (*path[:-1], suggestion.group(1))
            if problems.pop((missing, "required key is missing"), None) is not None:
                problems[(path, message)] = Problem(
                    problem.line, path, f"{message} ({suggestion.group(1)} is required)"
                )
    # A union reports one error per member; keep the most specific (custom) one per location.
    by_loc: dict[KeyPath, list[Problem]] = {}
    for problem in problems.values():
        by_loc.setdefault(problem.path, []).append(problem)
    out: list[Problem] = []
    for found in by_loc.values():
        out.extend(found if len(found) == 1 else [_merge(found)])
    return out


def _merge(found: list[Problem]) -> Problem:
    messages = " or ".join(sorted({p.message for p in found}))
    return Problem(found[0].line, found[0].path, messages)


def _clean_loc(loc: tuple[int | str, ...]) -> KeyPath:
    # Pydantic adds validator and union-member tags ("function-after[...]", "literal['EU']") to
    # locations; they are not TOML keys.
    return tuple(p for p in loc if isinstance(p, int) or not any(c in p for c in "[(,"))


def _value_at(data: Any, loc: KeyPath) -> Any:
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the float {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'the string "{shown}"'
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "date_type": "a date (e.g. 2026-04-28)",
    "datetime_type": "a date-time with offset (e.g. 2027-04-28T00:00:00Z)",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "an array",
    "tuple_type": "an array",
}


def _message(error: Any, loc: KeyPath, data: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = _value_at(data, loc)
    if kind == "missing":
        model = _model_at(loc[:-1])
        field = model.model_fields.get(str(loc[-1])) if model else None
        what = "table" if field is not None and _is_table(field.annotation) else "key"
        return f"required {what} is missing"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        hint = did_you_mean(str(loc[-1]), model.model_fields) if model else ""
        return f"unknown key{hint}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'|(\d+)", ctx.get("expected", ""))
        choices = [a or b for a, b in options]
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
        if not isinstance(value, str | int) or isinstance(value, bool):
            return f"expected one of {', '.join(repr(c) for c in choices)}, got {_describe(value)}"
        return f"'{value}' is not allowed here; use one of: {', '.join(choices)}{hint}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_describe(value)}"
    if kind in ("greater_than_equal", "greater_than"):
        sign = ">=" if kind.endswith("equal") else ">"
        return f"must be {sign} {ctx.get('ge', ctx.get('gt'))} (got {value})"
    if kind in ("less_than_equal", "less_than"):
        sign = "<=" if kind.endswith("equal") else "<"
        return f"must be {sign} {ctx.get('le', ctx.get('lt'))} (got {value})"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} entr{'y' if ctx.get('min_length') == 1 else 'ies'}"
    if kind == "too_long":
        return f"may have at most {ctx.get('max_length')} entries"
    if kind == "string_pattern_mismatch":
        return f"'{value}' does not have the expected form ({ctx.get('pattern')})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def _is_table(annotation: Any) -> bool:
    return _unwrap_model(annotation) is not None and typing.get_origin(annotation) is not list


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _unwrap_model(arg)
            if found is not None:
                return found
    return None


def _model_at(loc: KeyPath) -> type[BaseModel] | None:
    """The schema model describing the table at ``loc`` (list indices are skipped)."""
    model: type[BaseModel] | None = Charter
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _unwrap_model(model.model_fields[part].annotation)
    return model
