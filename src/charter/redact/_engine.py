"""The redaction engine for text: find every detector's values, merge overlaps, replace, stream large input.

Finding is two-stage. One Hyperscan pass (a multi-pattern automaton, every detector's pattern compiled in
prefilter mode, which matches a superset of what the exact pattern matches) marks the lines where a detector
could match; only there does the detector's exact Python pattern and validator run. No detector's pattern
crosses a line end, so this finds exactly what running every pattern over the whole text finds (a property the
tests check), at a fraction of the cost: most log lines hold no candidate at all. Without Hyperscan (a
platform with no wheel) every pattern runs over the whole text: slower, same result.

Replacement is a marker with the kind (``[REDACTED:email]``) or, with a case key, a consistent pseudonym
(``email-3f9a1c20``: the same input gives the same token within one case, so a redacted log stays
debuggable). Text outside findings is never changed. Large inputs are processed in blocks cut at line ends,
with the last line of a block carried into the next, so no value is split across a block edge.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from charter.redact._detectors import DETECTORS, Detector, harmless_cookie_value

_hs: Any
try:  # pragma: no cover - present wherever a wheel exists (Linux, macOS, Windows on x86_64 and arm64)
    import hyperscan as _hs
except ImportError:  # pragma: no cover
    _hs = None

__all__ = ["Finding", "Redactor"]

#: Characters per block when streaming; a value longer than one line is not expected in logs.
_BLOCK = 1 << 20
#: Inside an over-long line: no value is longer than this (characters), and this much left context is kept.
_MARGIN = 1 << 16
_CONTEXT = 1 << 12
_NEWLINE = re.compile("\n")
_NEWLINE_BYTES = re.compile(b"\n")
_PEM_BLOCK = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<v>[A-Za-z0-9+/=:,\s\\-]{1,16384}?)"
    r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    re.ASCII,
)
_COOKIE_HEADER = re.compile(r"(?im)\b(?:set-)?cookie:[ \t]*([^\n]*)", re.ASCII)
#: A cookie pair in a header: attributes (``Path=``, ``Expires=``...) are not cookies.
_COOKIE_PAIR = re.compile(
    r"(?:(?<=:)|(?<=:[ \t])|(?<=;)|(?<=;[ \t])|(?<=^))[ \t]*"
    r"(?!(?i:path|domain|expires|max-age|samesite|secure|httponly|version|comment|priority|partitioned)=)"
    r"[^=;\s,\"']+=(?P<v>[^;\s,\"']+)",
    re.ASCII,
)
#: A key whose END line is missing (a log cut off): its header and base64 lines up to the first other line.
_PEM_CUT = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<v>(?:[ \t]*\r?\n[ \t]*(?:[A-Za-z0-9+/=]{8,}|"
    r"[A-Za-z-]+:[^\n]*))+)",
    re.ASCII,
)


class Finding(NamedTuple):
    """A value to redact: ``[start, end)`` offsets (code points) in the input, its kind and detector."""

    start: int
    end: int
    kind: str
    detector: str


@dataclass
class Redactor:
    """Redacts text with a set of detectors.

    Args:
        detectors: the registry (:data:`DETECTORS` by default, plus e.g. a customer host list).
        case_key: when given, values are replaced by pseudonyms keyed by it (HMAC-SHA256), the same value
            getting the same pseudonym within the case; otherwise by ``[REDACTED:<kind>]``.
        counts: findings replaced so far, per kind (what reports add up).
        use_prefilter: the Hyperscan prefilter (``False``: every pattern over the whole text; same result).

    Besides the registry, two passes are built in: every value of a ``Cookie:``/``Set-Cookie:`` header
    whatever the cookie's name (short harmless words such as ``theme=dark`` aside), and PEM/PGP private
    keys, the one value that spans lines (complete, or cut off before the END line).
    """

    detectors: Sequence[Detector] = DETECTORS
    case_key: bytes | None = None
    counts: dict[str, int] = field(default_factory=dict)
    use_prefilter: bool = True

    def find(self, text: str) -> list[Finding]:
        """Every value to redact in ``text``, overlaps merged (the union is redacted; the kind is that of the
        longest detection in it), sorted by position (offsets in code points)."""
        detectors = tuple(self.detectors)
        prefilter = _prefilter(detectors) if self.use_prefilter else None
        raw: list[Finding] = []
        if prefilter is None:
            for detector in detectors:
                _collect(detector, text, 0, len(text), raw)
        else:
            for index, ranges in sorted(prefilter.candidates(text).items()):
                detector = detectors[index]
                for start, end in ranges:
                    _collect(detector, text, start, end, raw)
        for line_start, line_end in _lines_with(text, ("ookie:", "OOKIE:")):  # every Cookie / Set-Cookie value
            for line in _COOKIE_HEADER.finditer(text, line_start, line_end):
                for pair in _COOKIE_PAIR.finditer(text, line.start(1), line.end(1)):
                    if not harmless_cookie_value(pair.group("v")):
                        raw.append(Finding(pair.start("v"), pair.end("v"), "cookie", "cookie-header"))
        if "PRIVATE KEY" in text:  # the one value that spans lines: a PEM (or PGP) private key's body
            for pattern in (_PEM_BLOCK, _PEM_CUT):  # complete, or cut off before its END line
                for match in pattern.finditer(text):
                    raw.append(Finding(match.start("v"), match.end("v"), "token", "private-key-block"))
        return _merge(raw)

    def _replacement(self, kind: str, value: str) -> str:
        if self.case_key is None:
            return f"[REDACTED:{kind}]"
        digest = hmac.new(self.case_key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:8]
        return f"{kind}-{digest}"

    def redact(self, text: str, *, count: bool = True) -> tuple[str, list[Finding]]:
        """``text`` with every finding replaced, and the findings (offsets in the input); ``count=False``
        leaves :attr:`counts` alone (a file name, say, is not part of what a report counts)."""
        findings = self.find(text)
        return self._apply(text, findings, 0, len(text), count=count), findings

    def _apply(self, text: str, findings: list[Finding], low: int, high: int, *, count: bool = True) -> str:
        """``text[low:high]`` with the findings in it replaced (a finding reaching below ``low`` is replaced
        from ``low``: its head was already emitted)."""
        parts: list[str] = []
        last = low
        for finding in findings:
            if finding.end <= low or finding.start >= high:
                continue
            start = max(finding.start, low)
            parts.append(text[last:start])
            parts.append(self._replacement(finding.kind, text[finding.start : finding.end]))
            last = finding.end
            if count:
                self.counts[finding.kind] = self.counts.get(finding.kind, 0) + 1
        parts.append(text[last:high])
        return "".join(parts)

    def redact_stream(self, chunks: Iterable[str], *, block: int = _BLOCK) -> Iterator[str]:
        """Redact text arriving in chunks of any size with bounded memory (about ``9 * block`` characters).

        Blocks are cut after the last line end; what follows waits for the next chunk, so no value is split
        (no detector matches across a line end). A line longer than ``8 * block`` is cut where no finding
        spans the cut, ``_MARGIN`` (64 Ki) characters before the end of what has arrived; the next block is
        scanned with ``_CONTEXT`` (4 Ki) characters of what came before the cut, so a value whose context
        (``password=``) ended just before the cut is still found. A value longer than the margin is redacted
        to the end of its line (fail closed).
        """
        margin, context_size = min(_MARGIN, 4 * block), min(_CONTEXT, block)
        pending = ""
        context = ""  # already emitted: the left context of ``pending`` inside an over-long line
        swallowing = False  # inside a value longer than _MARGIN: redacted to the end of its line
        for chunk in chunks:
            pending += chunk
            if swallowing:
                end = pending.find("\n")
                if end < 0:
                    pending = ""
                    continue
                pending, swallowing = pending[end:], False
            if len(pending) < block:
                continue
            cut = _pem_safe(pending, pending.rfind("\n") + 1)
            if cut:
                text = context + pending[:cut]
                yield self._apply(text, self.find(text), len(context), len(text))
                pending, context = pending[cut:], ""
            elif len(pending) >= 8 * block:  # a huge line: no line end to wait for
                text = context + pending
                findings = self.find(text)
                point = len(text) - margin
                for finding in findings:
                    if finding.start < point < finding.end:
                        if point - finding.start > margin:  # a value this long: fail closed, to the line end
                            swallowing = True
                        else:
                            point = finding.start
                yield self._apply(text, findings, len(context), point)
                if swallowing:
                    end = text.find("\n", point)
                    pending, context, swallowing = ("", "", True) if end < 0 else (text[end:], "", False)
                else:
                    context, pending = text[max(len(context), point - context_size) : point], text[point:]
        if pending and not swallowing:
            text = context + pending
            yield self._apply(text, self.find(text), len(context), len(text))


def _merge(findings: list[Finding]) -> list[Finding]:
    if not findings:
        return []
    findings.sort(key=lambda f: (f.start, -(f.end - f.start)))
    merged: list[Finding] = []
    for finding in findings:
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            longest = last if (last.end - last.start) >= (finding.end - finding.start) else finding
            merged[-1] = Finding(last.start, max(last.end, finding.end), longest.kind, longest.detector)
        else:
            merged.append(finding)
    return merged


def _lines_with(text: str, needles: tuple[str, ...]) -> list[tuple[int, int]]:
    """``(start, end)`` of each line holding one of ``needles`` (``str.find``: no regex over the whole text)."""
    lines: set[tuple[int, int]] = set()
    for needle in needles:
        at = text.find(needle)
        while at >= 0:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            end = len(text) if end < 0 else end
            lines.add((start, end))
            at = text.find(needle, end)
    return sorted(lines)


def _pem_safe(text: str, cut: int) -> int:
    """``cut``, moved back to the start of a PEM private key that begins before it and ends after it (a key
    is redacted whole, so its lines must stay in one block); 0 when that would be the block's start."""
    begin = text.rfind("-----BEGIN ", 0, cut)
    if begin < 0 or "PRIVATE KEY-----" not in text[begin : begin + 80] or "-----END " in text[begin:cut]:
        return cut
    return text.rfind("\n", 0, begin) + 1


def _collect(detector: Detector, text: str, start: int, end: int, out: list[Finding]) -> None:
    for match in detector.pattern.finditer(text, start, end):
        value = match.group(detector.group)
        if not value:
            continue
        if detector.validator is not None and not detector.validator(value):
            continue
        value_start, value_end = match.span(detector.group)
        out.append(Finding(value_start, value_end, detector.kind, detector.name))


class _Prefilter:
    """Marks candidate lines per detector with one Hyperscan scan of the UTF-8 text."""

    def __init__(self, detectors: tuple[Detector, ...]) -> None:
        assert _hs is not None
        # Detectors with the same anchor (``://`` for URL credentials, URL users and short hosts) share one
        # expression: one report, every one of them a candidate.
        shared: dict[tuple[str, int], list[int]] = {}
        for index, detector in enumerate(detectors):
            flag = _hs.HS_FLAG_PREFILTER
            if detector.pattern.flags & 2:  # re.IGNORECASE
                flag |= _hs.HS_FLAG_CASELESS
            shared.setdefault((detector.anchor.replace("(?P<", "(?<"), flag), []).append(index)
        self._groups = [tuple(indexes) for indexes in shared.values()]
        self._database = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        self._database.compile(
            expressions=[anchor.encode() for anchor, _flag in shared],
            ids=list(range(len(shared))),
            flags=[flag for _anchor, flag in shared],
        )
        self._local = threading.local()
        self._size = len(detectors)

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _hs.Scratch(self._database)
        return scratch

    def candidates(self, text: str) -> dict[int, list[tuple[int, int]]]:
        """Per detector index, the code-point ranges of its candidate lines (adjacent lines joined; each
        range includes its line end, so lookaheads see what they would see in the whole text)."""
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates (from JSON escapes): every line is a candidate
            return {index: [(0, len(text))] for index in range(self._size)}
        hits: list[tuple[int, int]] = []
        append = hits.append

        def on_match(index: int, _start: int, end: int, _flags: int, _context: object) -> None:
            append((end, index))

        self._database.scan(data, match_event_handler=on_match, scratch=self._scratch())
        if not hits:
            return {}
        # The line holding a hit's last byte is where the exact pattern can match (no pattern crosses a line
        # end, and the prefilter reports the end of every match of a superset of the pattern). Lines are
        # numbered by the line ends before them, in bytes (for the hits) and in code points (for the text).
        byte_ends = [m.start() for m in _NEWLINE_BYTES.finditer(data)]
        char_ends = byte_ends if len(data) == len(text) else [m.start() for m in _NEWLINE.finditer(text)]
        total = len(text)
        by_line: dict[int, set[int]] = {}
        for end, group in hits:
            by_line.setdefault(bisect.bisect_left(byte_ends, end - 1), set()).update(self._groups[group])
        ranges: dict[int, list[tuple[int, int]]] = {}
        for line in sorted(by_line):
            line_start = char_ends[line - 1] + 1 if line else 0
            line_end = char_ends[line] + 1 if line < len(char_ends) else total
            for index in by_line[line]:
                spans = ranges.setdefault(index, [])
                if spans and spans[-1][1] == line_start:
                    spans[-1] = (spans[-1][0], line_end)
                else:
                    spans.append((line_start, line_end))
        return ranges


@functools.lru_cache(maxsize=32)
def _prefilter(detectors: tuple[Detector, ...]) -> _Prefilter | None:
    return None if _hs is None else _Prefilter(detectors)
