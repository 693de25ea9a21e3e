"""Redacting files: plain text and logs, JSON, HAR 1.2 and zip archives (nested), failing closed.

* Text is streamed (1 MiB blocks, incremental UTF-8 decoding) through :meth:`Redactor.redact_stream`:
  memory stays bounded whatever the size.
* JSON keeps its structure: every string value is redacted; values under sensitive keys (``password``,
  ``access_token``, ``apiToken``...) and the values of sensitive HAR name/value pairs (``Authorization``,
  ``Cookie``, ``Set-Cookie``, ``x-forge-oauth-*``, ``jwt``, every entry of ``cookies[]``) are replaced whole;
  a string that is itself JSON (HAR ``postData.text``, ``content.text``) is parsed and redacted as JSON; HAR
  content with ``"encoding": "base64"`` is decoded, redacted and encoded again. A JSON document is parsed
  whole, so it must fit in ``MAX_WHOLE`` bytes.
* Zip members are redacted by their own type, text members streamed; nested zips too (to a depth of 4).
* Anything that cannot be read as one of these (binary, undecodable, a damaged archive, too deep, too large
  to parse, or over the time budget) is withheld: listed in the report, never passed through unscanned.
  Each item (a file or a zip member) has its own time budget.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import json
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from charter.redact._detectors import harmless_cookie_value
from charter.redact._engine import Redactor

__all__ = ["DEFAULT_BUDGET", "MAX_WHOLE", "BudgetExceeded", "Report", "redact_bytes", "redact_json", "redact_stream"]

_MAX_DEPTH = 4
#: An item parsed whole (a JSON document, a nested zip) larger than this is withheld (bytes).
MAX_WHOLE = 512 << 20
#: Seconds each item may take before it is withheld.
DEFAULT_BUDGET = 600.0
_READ = 1 << 20
#: A redacted zip member is spooled here before it joins the output (withheld members must leave no trace);
#: larger members spill to a temporary file (redacted text only).
_SPOOL = 16 << 20


class BudgetExceeded(Exception):
    """An item took longer than its time budget; it is withheld."""


_SENSITIVE_KEY = re.compile(
    r"(?i)^(?:.*(?:password|passwd|secret|token|api[_-]?key|session|credential)s?.*|authorization|"
    r"proxy-authorization|cookie|set-cookie|jwt|x-forge-oauth-.*|sid|private[_-]?key|pass|pwd|auth|basic|"
    r"(?:.*[_.-])?pass)$"
)
_KEY_KINDS = (
    (re.compile(r"(?i)cookie|session|sid"), "cookie"),
    (re.compile(r"(?i)password|passwd|pass$|pwd"), "password"),
)
_NAME_KEY = re.compile(r"(?i)^(?:displayName|display_name|author|reporter|assignee|fullName|full_name|name_of_user)$")
_USER_KEY = re.compile(
    r"(?i)^(?:user|username|user_name|login|userKey|emailAddress|email|os_username|x-a?username|x-auserid)$"
)
#: An object describing a person (Jira's user JSON): its ``name`` and ``key`` are user names too.
_PERSON_KEYS = frozenset({"displayName", "emailAddress", "accountId", "avatarUrls"})
#: A change-history item on these fields names people in ``fromString``/``toString`` (and ids in from/to).
_PEOPLE_FIELDS = frozenset({"assignee", "reporter", "creator", "lead", "owner"})
_NOT_SECRET_KEY = re.compile(
    r"(?i)^(?:token_type|expires_in|.*_expires.*|.*session_?count.*|x-atlassian-token|.*passed.*|.*bypass.*)$"
)


@dataclass
class Report:
    """What a redaction did: counts per kind, and what was withheld and why (never original values).

    Args:
        budget: seconds each item (a file, a zip member) may take before it is withheld.
        clock: a monotonic clock in seconds (injected by tests).
        spool: bytes of a redacted zip member held in memory before it spills to an unnamed temporary file;
            0 keeps it in memory whatever its size (the support vault: nothing unencrypted on disk).
    """

    counts: dict[str, int] = field(default_factory=dict)
    withheld: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0
    budget: float = DEFAULT_BUDGET
    clock: Callable[[], float] = time.monotonic
    _deadline: float | None = None
    clean: Callable[[str], str] | None = None
    spool: int = _SPOOL

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def withhold(self, item: str, reason: str) -> None:
        """Record an item left out; its name is redacted too (a member may be ``users/jane@example.com/x``)."""
        self.withheld.append((self.clean(item) if self.clean is not None else item, reason))

    def start_item(self) -> None:
        self._deadline = self.clock() + self.budget

    def check(self) -> None:
        """Raise :class:`BudgetExceeded` when the current item is past its budget."""
        if self._deadline is not None and self.clock() > self._deadline:
            raise BudgetExceeded(f"time budget of {self.budget:g} s exceeded: withheld")

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


def _secret_key(key: str | None) -> bool:
    return key is not None and _SENSITIVE_KEY.match(key) is not None and not _NOT_SECRET_KEY.match(key)


def _replace_all(value: Any, kind: str, redactor: Redactor, report: Report) -> Any:
    """Every scalar in ``value`` replaced (numbers and booleans under a secret key too), structure kept."""
    if isinstance(value, dict):
        return {k: _replace_all(v, kind, redactor, report) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_all(v, kind, redactor, report) for v in value]
    if value is None or value == "":
        return value
    return _marker(redactor, kind, str(value), report)


def redact_json(value: Any, redactor: Redactor, report: Report, *, key: str | None = None) -> Any:
    """A copy of a parsed JSON value with everything sensitive replaced (see the module's rules)."""
    if _secret_key(key) and not isinstance(value, str) and value is not None and not isinstance(value, bool):
        return _replace_all(value, _key_kind(key or ""), redactor, report)
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
        report.check()
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
        secret_cookie = cookie and not harmless_cookie_value(value)  # every cookie but ``theme=dark``
        if value and (secret_cookie or (not cookie and _SENSITIVE_KEY.match(name) and not _NOT_SECRET_KEY.match(name))):
            if not cookie and name.lower() in ("cookie", "set-cookie"):
                out["value"] = _text(redactor, value, report)  # only the cookie values; names and flags stay
                if out["value"] == value:  # no known session cookie in it: withhold every value
                    out["value"] = _marker(redactor, "cookie", value, report)
            else:
                out["value"] = _marker(redactor, "cookie" if cookie else _key_kind(name), value, report)
        elif value and not cookie and _USER_KEY.match(name):  # ``os_username`` in queryString or params
            out["value"] = _marker(redactor, "email" if "@" in value else "username", value, report)
        elif value and not cookie and _NAME_KEY.match(name):
            out["value"] = _marker(redactor, "person_name", value, report)
        else:
            out["value"] = redact_json(value, redactor, report)
        return out
    if _PERSON_KEYS & obj.keys():  # a user object: its name and key are the person's user name
        obj = dict(obj)
        for name_key in ("name", "key"):
            if isinstance(obj.get(name_key), str) and obj[name_key]:
                obj[name_key] = _marker(redactor, "username", obj[name_key], report)
    if isinstance(obj.get("field"), str) and obj["field"].lower() in _PEOPLE_FIELDS:  # change history
        obj = dict(obj)
        for field_key, kind in (
            ("fromString", "person_name"),
            ("toString", "person_name"),
            ("from", "username"),
            ("to", "username"),
        ):
            if isinstance(obj.get(field_key), str) and obj[field_key]:
                obj[field_key] = _marker(redactor, kind, obj[field_key], report)
    if obj.get("encoding") == "base64" and isinstance(obj.get("text"), str):
        out = dict(obj)
        try:
            decoded = base64.b64decode(obj["text"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            out["text"] = ""  # cannot be scanned: removed (an empty body stays valid base64)
            out["comment"] = "content removed by Charter: binary, not scanned"
            report.add("binary")
            return out
        cleaned = redact_json(decoded, redactor, report)
        out["text"] = base64.b64encode(str(cleaned).encode("utf-8")).decode("ascii")
        return out
    return {k: redact_json(v, redactor, report, key=k) for k, v in obj.items()}


def _kind_of(name: str, head: bytes) -> str:
    lower = name.lower()
    if head[:4] == b"PK\x03\x04" or lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".json", ".har")) or head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "text"


def redact_bytes(name: str, data: bytes, redactor: Redactor, report: Report, *, depth: int = 0) -> bytes | None:
    """Redact one item held in memory by its type; the redacted bytes, or ``None`` when it is withheld (the
    report says why)."""
    sink = io.BytesIO()
    if redact_stream(name, io.BytesIO(data), sink, redactor, report, depth=depth):
        return sink.getvalue()
    return None


def redact_stream(
    name: str, source: IO[bytes], sink: IO[bytes], redactor: Redactor, report: Report, *, depth: int = 0
) -> bool:
    """Redact one item read from ``source`` (a file or a zip member, any size) into ``sink``.

    Returns ``False`` when the item is withheld (recorded in the report): the caller must then discard what
    ``sink`` received. A zip source must be seekable (a file, or a nested member read into memory).
    """
    if report.clean is None:
        report.clean = lambda item: clean_name(redactor, item)
    head = _peek(source)
    kind = _kind_of(name, head)
    if kind == "zip":
        if depth >= _MAX_DEPTH:
            report.withhold(name, f"zip nested deeper than {_MAX_DEPTH}")
            return False
        return _redact_zip(name, source, sink, redactor, report, depth)
    report.start_item()
    try:
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte-order mark
            return _redact_text(name, source, sink, redactor, report, "utf-16")
        if kind == "json":
            data = source.read(MAX_WHOLE + 1)
            if len(data) > MAX_WHOLE:
                report.withhold(name, f"JSON larger than {MAX_WHOLE >> 20} MiB: not scanned, withheld")
                return False
            done = _redact_json_document(name, data, sink, redactor, report)
            if done is not None:
                return done
            source = io.BytesIO(data)  # not JSON after all: a log that starts with '{'
        return _redact_text(name, source, sink, redactor, report)
    except BudgetExceeded as exc:
        report.withhold(name, str(exc))
        return False
    finally:
        report._deadline = None


def clean_name(redactor: Redactor, name: str) -> str:
    """A file or member name with what the redactor finds in it replaced (not counted in any report)."""
    return redactor.redact(name, count=False)[0]


def _peek(source: IO[bytes]) -> bytes:
    if isinstance(source, _Rewound):
        return source.head
    if not source.seekable():
        raise ValueError("redact_stream needs a seekable source (or a zip member stream) to tell its type")
    position = source.tell()
    head = source.read(512)
    source.seek(position)
    return head


def _redact_json_document(name: str, data: bytes, sink: IO[bytes], redactor: Redactor, report: Report) -> bool | None:
    """``True``/``False`` when ``data`` was JSON (redacted or withheld), ``None`` when it is not JSON."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        report.withhold(name, "binary or not UTF-8: not scanned, withheld")
        return False
    try:  # what would not come out as the same valid JSON (duplicate keys, 1E400) is redacted as text
        parsed = json.loads(text, object_pairs_hook=_unique_keys, parse_float=_finite, parse_constant=_no_constant)
    except ValueError:
        return None
    cleaned = redact_json(parsed, redactor, report)
    indent = 2 if "\n" in text.strip() else None
    tail = "\n" if text.endswith("\n") else ""
    sink.write((json.dumps(cleaned, ensure_ascii=False, indent=indent) + tail).encode())
    return True


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate keys")
    return result


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("a number beyond float range")
    return value


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not JSON")


def _decoded(name: str, source: IO[bytes], report: Report, encoding: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    while True:
        report.check()
        block = source.read(_READ)
        if encoding == "utf-8" and b"\x00" in block:
            raise _Unscannable("binary content: not scanned, withheld")
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError:
            raise _Unscannable(f"binary or not {encoding.upper()}: not scanned, withheld") from None
        if "\x00" in text:
            raise _Unscannable("binary content: not scanned, withheld")
        if text:
            yield text
        if not block:
            return


class _Unscannable(Exception):
    pass


def _redact_text(
    name: str, source: IO[bytes], sink: IO[bytes], redactor: Redactor, report: Report, encoding: str = "utf-8"
) -> bool:
    """Text in UTF-8, or UTF-16 with a byte-order mark (Windows tools write it), written back in the same
    encoding."""
    counts = redactor.counts
    redactor.counts = {}
    encoder = codecs.getincrementalencoder(encoding)()
    try:
        for block in redactor.redact_stream(_decoded(name, source, report, encoding)):
            sink.write(encoder.encode(block))
    except _Unscannable as exc:
        report.withhold(name, str(exc))
        return False
    finally:
        found, redactor.counts = redactor.counts, counts
    for kind, n in found.items():
        report.add(kind, n)
    return True


def _redact_zip(name: str, source: IO[bytes], sink: IO[bytes], redactor: Redactor, report: Report, depth: int) -> bool:
    try:
        archive = zipfile.ZipFile(source)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        report.withhold(name, "damaged zip: withheld")
        return False
    written: set[str] = set()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for member in members:
            if member.is_dir():
                continue
            path = f"{name}/{member.filename}"
            try:
                _redact_member(archive, member, path, target, redactor, report, depth, written)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, zipfile.LargeZipFile):
                report.withhold(path, "unreadable or encrypted member: withheld")
    return True


def _redact_member(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    path: str,
    target: zipfile.ZipFile,
    redactor: Redactor,
    report: Report,
    depth: int,
    written: set[str],
) -> None:
    stream = archive.open(member)
    head = stream.read(512)
    source: IO[bytes]
    if _kind_of(member.filename, head) in ("zip", "json"):  # parsed whole: read into memory, within the limit
        stream.close()
        if member.file_size > MAX_WHOLE:
            report.withhold(path, f"member larger than {MAX_WHOLE >> 20} MiB to parse: withheld")
            return
        source = io.BytesIO(archive.read(member))
    else:
        source = _Rewound(head, stream)  # type: ignore[assignment]
    with tempfile.SpooledTemporaryFile(max_size=report.spool) as spool:
        if redact_stream(path, source, spool, redactor, report, depth=depth + 1):
            spool.seek(0)
            member_name = clean_name(redactor, member.filename)
            unique, n = member_name, 1
            while unique in written:
                n += 1
                unique = f"{member_name}~{n}"
            written.add(unique)
            with target.open(unique, "w", force_zip64=True) as out:
                shutil.copyfileobj(spool, out, _READ)
    source.close()


class _Rewound(io.RawIOBase):
    """A zip member stream (not seekable) whose first bytes were read to tell its type: they come first."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self.head = head
        self._pending, self._stream = head, stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if not self._pending:
            return self._stream.read(-1 if size is None else size)
        if size is None or size < 0:
            data, self._pending = self._pending + self._stream.read(), b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def close(self) -> None:
        self._stream.close()
        super().close()


def redact_file(path: Path, sink: IO[bytes], redactor: Redactor, report: Report) -> bool:
    """Redact the file at ``path`` into ``sink`` (streamed; see :func:`redact_stream`)."""
    report.files += 1
    with path.open("rb") as source:
        return redact_stream(path.name, source, sink, redactor, report)
