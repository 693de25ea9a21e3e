"""Redacting files: plain text and logs, JSON, HAR 1.2 and zip archives (nested), failing closed.

* Text is streamed through :meth:`Redactor.redact_stream` (bounded memory).
* JSON keeps its structure: every string value is redacted; values under sensitive keys (``password``,
  ``access_token``, ``apiToken``...) and the values of sensitive HAR name/value pairs (``Authorization``,
  ``Cookie``, ``Set-Cookie``, ``x-forge-oauth-*``, ``jwt``, every entry of ``cookies[]``) are replaced whole;
  a string that is itself JSON (HAR ``postData.text``, ``content.text``) is parsed and redacted as JSON; HAR
  content with ``"encoding": "base64"`` is decoded, redacted and encoded again.
* Zip members are redacted by their own type; nested zips too (to a depth of 4).
* Anything that cannot be read as one of these (binary, undecodable, a damaged archive, too deep) is
  withheld: listed in the report, never passed through unscanned.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charter.redact._engine import Redactor

__all__ = ["Report", "redact_bytes", "redact_json"]

_MAX_DEPTH = 4
_MAX_MEMBER = 512 << 20  # a zip member read whole (JSON, nested zip) larger than this is withheld
_SENSITIVE_KEY = re.compile(
    r"(?i)^(?:.*(?:password|passwd|secret|token|api[_-]?key|session|credential)s?.*|authorization|"
    r"proxy-authorization|cookie|set-cookie|jwt|x-forge-oauth-.*|x-atlassian-token|sid|private[_-]?key)$"
)
_KEY_KINDS = (
    (re.compile(r"(?i)cookie|session|sid"), "cookie"),
    (re.compile(r"(?i)password|passwd"), "password"),
)
_NAME_KEY = re.compile(r"(?i)^(?:displayName|display_name|author|reporter|assignee|fullName|full_name|name_of_user)$")
_USER_KEY = re.compile(r"(?i)^(?:user|username|user_name|login|userKey|emailAddress|email)$")
#: A cookie value that looks like a session or token (long, random-looking) is redacted whatever its name.
_TOKEN_LIKE = re.compile(r"^[A-Za-z0-9%._~+/=:-]{16,}$")
_NOT_SECRET_KEY = re.compile(r"(?i)^(?:token_type|expires_in|.*_expires.*|.*session_?count.*)$")


@dataclass
class Report:
    """What a redaction did: counts per kind, and what was withheld and why (never original values)."""

    counts: dict[str, int] = field(default_factory=dict)
    withheld: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"files", "counts", "withheld": [{"item", "reason"}]}``."""
        return {
            "files": self.files,
            "counts": dict(sorted(self.counts.items())),
            "withheld": [{"item": item, "reason": reason} for item, reason in self.withheld],
        }


def _key_kind(key: str) -> str:
    for pattern, kind in _KEY_KINDS:
        if pattern.search(key):
            return kind
    return "token"


def _marker(redactor: Redactor, kind: str, value: str, report: Report) -> str:
    report.add(kind)
    return redactor._replacement(kind, value)


def _text(redactor: Redactor, value: str, report: Report) -> str:
    out, findings = redactor.redact(value)
    for finding in findings:
        report.add(finding.kind)
    return out


def redact_json(value: Any, redactor: Redactor, report: Report, *, key: str | None = None) -> Any:
    """A copy of a parsed JSON value with everything sensitive replaced (see the module's rules)."""
    if isinstance(value, dict):
        return _redact_object(value, redactor, report)
    if isinstance(value, list):
        in_cookies = key is not None and key.lower() == "cookies"
        return [
            _redact_object(item, redactor, report, cookie=True)
            if in_cookies and isinstance(item, dict)
            else redact_json(item, redactor, report)
            for item in value
        ]
    if isinstance(value, str):
        if key is not None and _SENSITIVE_KEY.match(key) and not _NOT_SECRET_KEY.match(key) and value:
            return _marker(redactor, _key_kind(key), value, report)
        if key is not None and _NAME_KEY.match(key) and value:
            return _marker(redactor, "person_name", value, report)
        if key is not None and _USER_KEY.match(key) and value:
            return _marker(redactor, "email" if "@" in value else "username", value, report)
        embedded = _embedded_json(value)
        if embedded is not None:
            return json.dumps(redact_json(embedded, redactor, report), ensure_ascii=False, separators=(",", ":"))
        return _text(redactor, value, report)
    return value


def _embedded_json(value: str) -> Any | None:
    stripped = value.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _redact_object(obj: dict[str, Any], redactor: Redactor, report: Report, *, cookie: bool = False) -> dict[str, Any]:
    # HAR name/value pairs (headers, queryString, params, cookies): the name says whether the value is secret.
    if set(obj) >= {"name", "value"} and isinstance(obj.get("name"), str) and isinstance(obj.get("value"), str):
        name, value = obj["name"], obj["value"]
        out = {
            k: (redact_json(v, redactor, report, key=k) if k not in ("name", "value") else v) for k, v in obj.items()
        }
        secret_cookie = cookie and (_SENSITIVE_KEY.match(name) is not None or _TOKEN_LIKE.match(value) is not None)
        if value and (secret_cookie or (not cookie and _SENSITIVE_KEY.match(name) and not _NOT_SECRET_KEY.match(name))):
            if not cookie and name.lower() in ("cookie", "set-cookie"):
                out["value"] = _text(redactor, value, report)  # only the cookie values; names and flags stay
                if out["value"] == value:  # no known session cookie in it: withhold every value
                    out["value"] = _marker(redactor, "cookie", value, report)
            else:
                out["value"] = _marker(redactor, "cookie" if cookie else _key_kind(name), value, report)
        else:
            out["value"] = redact_json(value, redactor, report)
        return out
    if obj.get("encoding") == "base64" and isinstance(obj.get("text"), str):
        out = dict(obj)
        try:
            decoded = base64.b64decode(obj["text"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            out["text"] = _marker(redactor, "binary", obj["text"], report)  # cannot be scanned: withheld
            report.withheld.append(("base64 content", "not UTF-8 text; replaced"))
            return out
        cleaned = redact_json(decoded, redactor, report)
        out["text"] = base64.b64encode(str(cleaned).encode("utf-8")).decode("ascii")
        return out
    return {k: redact_json(v, redactor, report, key=k) for k, v in obj.items()}


def _kind_of(name: str, data: bytes) -> str:
    lower = name.lower()
    if data[:4] == b"PK\x03\x04" or lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".json", ".har")) or data.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "text"


def redact_bytes(name: str, data: bytes, redactor: Redactor, report: Report, *, depth: int = 0) -> bytes | None:
    """Redact one item (a file's or member's bytes) by its type; ``None`` when it is withheld (the report
    says why)."""
    kind = _kind_of(name, data)
    if kind == "zip":
        if depth >= _MAX_DEPTH:
            report.withheld.append((name, f"zip nested deeper than {_MAX_DEPTH}"))
            return None
        return _redact_zip(name, data, redactor, report, depth)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        report.withheld.append((name, "binary or not UTF-8: not scanned, withheld"))
        return None
    if "\x00" in text:
        report.withheld.append((name, "binary content: not scanned, withheld"))
        return None
    if kind == "json":
        try:
            parsed = json.loads(text)
        except ValueError:
            kind = "text"  # a log that starts with '{': redacted as text
        else:
            cleaned = redact_json(parsed, redactor, report)
            indent = 2 if "\n" in text.strip() else None
            return (
                json.dumps(cleaned, ensure_ascii=False, indent=indent) + ("\n" if text.endswith("\n") else "")
            ).encode()
    out = "".join(redactor.redact_stream(_chunks(text)))
    for finding_kind, n in redactor.counts.items():
        report.counts[finding_kind] = report.counts.get(finding_kind, 0) + n
    redactor.counts.clear()
    return out.encode("utf-8")


def _chunks(text: str, size: int = 1 << 20) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


def _redact_zip(name: str, data: bytes, redactor: Redactor, report: Report, depth: int) -> bytes | None:
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        members = source.infolist()
    except (zipfile.BadZipFile, OSError):
        report.withheld.append((name, "damaged zip: withheld"))
        return None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for member in members:
            if member.is_dir():
                continue
            path = f"{name}/{member.filename}"
            if member.file_size > _MAX_MEMBER:
                report.withheld.append((path, "member too large to scan: withheld"))
                continue
            try:
                content = source.read(member)
            except (zipfile.BadZipFile, OSError, RuntimeError):  # damaged or encrypted member
                report.withheld.append((path, "unreadable or encrypted member: withheld"))
                continue
            cleaned = redact_bytes(path, content, redactor, report, depth=depth + 1)
            if cleaned is not None:
                target.writestr(member.filename, cleaned)
    return out.getvalue()


def redact_file(path: Path, redactor: Redactor, report: Report) -> bytes | None:
    """Redact a file (whole read; large plain-text files are streamed by the caller instead)."""
    report.files += 1
    return redact_bytes(path.name, path.read_bytes(), redactor, report)
