"""The reference of ``charter.toml``, generated from the schema (``docs/charter-file.md``)."""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from charter.policy._duration import Duration
from charter.policy._schema import Charter

__all__ = ["schema_reference"]


def _strip(annotation: Any) -> tuple[Any, bool]:
    """Remove ``Annotated`` and ``None`` from an annotation; say whether ``None`` was allowed."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) == 1:
                annotation = args[0]
            else:
                return args, optional
        else:
            return annotation, optional


def _type_text(annotation: Any) -> str:
    annotation, _ = _strip(annotation)
    if isinstance(annotation, list):  # a union of several types
        return " or ".join(_type_text(a) for a in annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{v!r}`".replace("'", '"') for v in typing.get_args(annotation))
    if origin is list:
        return "array of " + _type_text(typing.get_args(annotation)[0])
    if annotation is Duration:
        return 'duration (`"30d"`, `"24h"`, `"4w"`)'
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is str:
        return "string"
    if annotation is datetime:
        return "date-time with offset, or date"
    if annotation is date:
        return "date"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return str(annotation)


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    default = field.default
    if default is PydanticUndefined and field.default_factory is not None:
        default = field.default_factory()  # type: ignore[call-arg]
    if default is None:
        return "optional"
    if isinstance(default, BaseModel):
        return "defaults shown below"
    if isinstance(default, bool):
        return f"default `{str(default).lower()}`"
    if isinstance(default, Duration | str):
        return f'default `"{default}"`'
    if isinstance(default, list):
        return "default `[" + ", ".join(f'"{v}"' for v in default) + "]`"
    return f"default `{default}`"


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    annotation, _ = _strip(annotation)
    if typing.get_origin(annotation) is list:
        inner, _ = _strip(typing.get_args(annotation)[0])
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _table(model: type[BaseModel], path: str, title: str, out: list[str]) -> None:
    rows: list[tuple[str, FieldInfo]] = []
    nested: list[tuple[str, type[BaseModel], bool]] = []
    for name, field in model.model_fields.items():
        sub, many = _model_of(field.annotation)
        if sub is not None:
            nested.append((name, sub, many))
        else:
            rows.append((name, field))
    if title:
        out.append(f"## {title}\n")
    doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ").replace("``", "`")
    if doc:
        out.append(doc + "\n")
    if rows:
        out.append("| key | type | | meaning |")
        out.append("|---|---|---|---|")
        for name, field in rows:
            meaning = (field.description or "").replace("|", "\\|")
            out.append(f"| `{name}` | {_type_text(field.annotation)} | {_default_text(field)} | {meaning} |")
        out.append("")
    for name, sub, many in nested:
        sub_path = f"{path}.{name}" if path else name
        field = model.model_fields[name]
        if field.is_required():
            need = "required"
        elif many:
            need = "optional, any number"
        else:
            need = "optional"
        header = f"`[[{sub_path}]]`" if many else f"`[{sub_path}]`"
        _table(sub, sub_path, f"{header} ({need})", out)


def schema_reference() -> str:
    """Markdown describing every table and key of ``charter.toml``, from the schema itself."""
    out = [
        "# The charter file (`charter.toml`)",
        "",
        "Generated from the schema by `charter reference` (a test keeps it identical); do not edit by hand.",
        "Unknown keys are errors. Durations are strings with a unit: `w`, `d`, `h`, `m`, `s` (no months or",
        "years). Dates are TOML dates (`2026-04-28`); instants are TOML date-times with an offset",
        "(`2027-04-28T00:00:00Z`). Data categories: `charter categories`.",
        "",
    ]
    _table(Charter, "", "", out)
    return "\n".join(out).rstrip("\n") + "\n"
