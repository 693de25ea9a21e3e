"""The canonical request and its query-string hash (``qsh``), exactly as Atlassian specifies.

One function serves both directions: verifying an inbound Connect JWT and signing an outbound call to a
product REST API. The algorithm (Atlassian "Understanding JWT for Connect apps" and the Bitbucket
"query string hash" page; vectors in ``tests/atlassian/vectors``):

``qsh = hex(sha256(utf8(METHOD + "&" + canonical_uri + "&" + canonical_query)))``

* ``METHOD``: upper-cased.
* ``canonical_uri``: the path relative to the app's (or product's) base path; empty becomes ``/``; a
  trailing ``/`` is dropped unless the path is ``/``; ``&`` is written ``%26``; everything else stays as
  received (the raw, still percent-encoded path).
* ``canonical_query``: parameters parsed form-style (``+`` is a space, ``%XX`` decoded), ``jwt`` dropped,
  sorted by percent-encoded name; repeated names give one entry whose decoded values are sorted and joined
  with ``,`` after encoding; a parameter without ``=`` has an empty value. Encoding is RFC 3986: all but
  ``A-Z a-z 0-9 - . _ ~`` as ``%XX`` with upper-case hex (space is ``%20``, ``*`` is ``%2A``).

Values are handled as bytes throughout, so a ``%FF`` that is not UTF-8 still hashes exactly as sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote_to_bytes

__all__ = ["canonical_query", "canonical_request", "canonical_uri", "query_hash"]

_SAFE = "~"  # quote() also keeps A-Z a-z 0-9 - . _


def _decode(component: bytes) -> bytes:
    return unquote_to_bytes(component.replace(b"+", b" "))


def _encode(raw: bytes) -> str:
    return quote(raw, safe=_SAFE)


def canonical_uri(path: str, base_path: str = "") -> str:
    """The path part of the canonical request.

    Args:
        path: the request path as received (still percent-encoded), without the query string.
        base_path: the path of the app's base URL (e.g. ``/connect``) or of the product's context path
            (e.g. ``/jira``); it is removed from the front of ``path``.
    """
    base = base_path.rstrip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :]
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.replace("&", "%26")


def _pairs(query: bytes | str) -> Iterable[tuple[bytes, bytes]]:
    raw = query.encode("utf-8") if isinstance(query, str) else query
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        yield _decode(name), _decode(value)


def canonical_query(query: bytes | str, extra: Mapping[str, Iterable[str]] | None = None) -> str:
    """The query part of the canonical request.

    Args:
        query: the raw query string (without ``?``), as received or as it will be sent.
        extra: parameters to include as if they were in the query (the form-body compatibility mode some
            Connect libraries offer; Charter never enables it by default).
    """
    grouped: dict[bytes, list[bytes]] = {}
    for name, value in _pairs(query):
        grouped.setdefault(name, []).append(value)
    for name_text, values in (extra or {}).items():
        grouped.setdefault(name_text.encode("utf-8"), []).extend(v.encode("utf-8") for v in values)
    grouped.pop(b"jwt", None)
    entries = []
    for name, raw_values in grouped.items():
        joined = ",".join(_encode(v) for v in sorted(raw_values))
        entries.append((_encode(name), joined))
    entries.sort()
    return "&".join(f"{name}={values}" for name, values in entries)


def canonical_request(
    method: str,
    path: str,
    query: bytes | str = b"",
    *,
    base_path: str = "",
    extra: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """``METHOD&canonical_uri&canonical_query``.

    Args:
        method: the HTTP method (any case).
        path: the raw request path, without the query string.
        query: the raw query string, without ``?``.
        base_path: the app's base URL path (inbound) or the product's context path (outbound).
        extra: see :func:`canonical_query`.
    """
    return f"{method.upper()}&{canonical_uri(path, base_path)}&{canonical_query(query, extra)}"


def query_hash(canonical: str) -> str:
    """The ``qsh`` claim: lower-case hex SHA-256 of the UTF-8 canonical request."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
