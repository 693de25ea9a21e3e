"""The redaction engine for text: find every detector's values, merge overlaps, replace, stream large input.

Replacement is a marker with the kind (``[REDACTED:email]``) or, with a case key, a consistent pseudonym
(``email-3f9a1c20``: the same input gives the same token within one case, so a redacted log stays
debuggable). Text outside findings is never changed. Large inputs are processed in blocks cut at line ends,
with the last line of a block carried into the next, so no value is split across a block edge.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from charter.redact._detectors import DETECTORS, Detector

__all__ = ["Finding", "Redactor"]

#: Characters per block when streaming; a value longer than one line is not expected in logs.
_BLOCK = 1 << 20


@dataclass(frozen=True)
class Finding:
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
    """

    detectors: Sequence[Detector] = DETECTORS
    case_key: bytes | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def find(self, text: str) -> list[Finding]:
        """Every value to redact in ``text``, overlaps merged (the union is redacted; the kind is that of the
        longest detection in it), sorted by position."""
        raw: list[Finding] = []
        for detector in self.detectors:
            for match in detector.pattern.finditer(text):
                value = match.group(detector.group)
                if not value:
                    continue
                if detector.validator is not None and not detector.validator(value):
                    continue
                start, end = match.span(detector.group)
                raw.append(Finding(start, end, detector.kind, detector.name))
        return _merge(raw)

    def _replacement(self, kind: str, value: str) -> str:
        if self.case_key is None:
            return f"[REDACTED:{kind}]"
        digest = hmac.new(self.case_key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:8]
        return f"{kind}-{digest}"

    def redact(self, text: str) -> tuple[str, list[Finding]]:
        """``text`` with every finding replaced, and the findings (offsets in the input)."""
        findings = self.find(text)
        parts: list[str] = []
        last = 0
        for finding in findings:
            parts.append(text[last : finding.start])
            parts.append(self._replacement(finding.kind, text[finding.start : finding.end]))
            last = finding.end
            self.counts[finding.kind] = self.counts.get(finding.kind, 0) + 1
        parts.append(text[last:])
        return "".join(parts), findings

    def redact_stream(self, chunks: Iterable[str], *, block: int = _BLOCK) -> Iterator[str]:
        """Redact text arriving in chunks of any size with bounded memory: blocks are cut after the last line
        end, and what follows it waits for the next chunk, so a value is never split across blocks."""
        pending = ""
        for chunk in chunks:
            pending += chunk
            if len(pending) < block:
                continue
            cut = pending.rfind("\n") + 1
            if cut == 0:
                cut = len(pending) if len(pending) >= 8 * block else 0  # a huge line: no line end to wait for
            if cut:
                yield self.redact(pending[:cut])[0]
                pending = pending[cut:]
        if pending:
            yield self.redact(pending)[0]


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
