"""Recall, precision and F2 per kind of Charter's redaction engine on the labelled corpus.

Each file is redacted whole, as ``charter redact`` does. Scoring as ``../shared/cases/logs/README.md``
defines it: a span is caught when all of its characters are replaced; a false positive is a replaced run
(maximal, on one line) overlapping no span and no ambiguous item, attributed to the kind the engine
reported; counts are summed over all files before dividing; line 1 (provenance) is not scored.

    .venv/bin/python bench/redact_eval.py [--cases DIR]
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import sys
from collections import Counter
from pathlib import Path

from charter.redact import Finding, Redactor

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = Path(os.environ.get("CHARTER_SHARED_DIR", ROOT.parent / "shared")) / "cases" / "logs"


def score_file(log: Path, redactor: Redactor) -> tuple[Counter[str], Counter[str], Counter[str], list[str]]:
    """``(TP, FN, FP)`` per kind for one file, and a description of each miss and false positive."""
    expected = json.loads(log.with_suffix(".expected.json").read_text("utf-8"))
    text = log.read_text("utf-8")
    lines = text.split("\n")
    # The whole file at once, as `charter redact` sees it (not line by line): the findings of each line.
    by_line: dict[int, list[Finding]] = {}
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    for f in redactor.find(text):
        number = bisect.bisect_right(starts, f.start)
        offset = starts[number - 1]
        by_line.setdefault(number, []).append(f._replace(start=f.start - offset, end=f.end - offset))
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    notes: list[str] = []
    for number, line in enumerate(lines, 1):
        if number == 1:
            continue
        findings = by_line.get(number, [])
        replaced = set()
        for f in findings:
            replaced.update(range(f.start, f.end))
        spans = [s for s in expected["spans"] if s["line"] == number]
        ambiguous = [a for a in expected.get("ambiguous", []) if a["line"] == number]
        for span in spans:
            chars = set(range(span["col"], span["col"] + len(span["text"])))
            if chars <= replaced:
                tp[span["kind"]] += 1
            else:
                fn[span["kind"]] += 1
                notes.append(f"{log.name}:{number}: missed {span['kind']} {span['text']!r}")
        covered = [set(range(s["col"], s["col"] + len(s["text"]))) for s in spans + ambiguous]
        for f in findings:
            run = set(range(f.start, f.end))
            if not any(run & c for c in covered):
                fp[f.kind] += 1
                notes.append(f"{log.name}:{number}: false positive {f.kind} {line[f.start : f.end]!r} ({f.detector})")
    return tp, fn, fp, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT)
    parser.add_argument("--verbose", action="store_true", help="list every miss and false positive")
    args = parser.parse_args(argv)
    logs = sorted(args.cases.glob("*.log"))
    if not logs:
        print(f"no labelled logs in {args.cases}", file=sys.stderr)
        return 2
    redactor = Redactor()
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    notes: list[str] = []
    for log in logs:
        a, b, c, n = score_file(log, redactor)
        tp, fn, fp = tp + a, fn + b, fp + c
        notes += n
    print(f"command: .venv/bin/python bench/redact_eval.py   ({len(logs)} files in {args.cases})")
    print("| kind | TP | FN | FP | recall | precision | F2 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    kinds = sorted(set(tp) | set(fn) | set(fp))
    for kind in [*kinds, "all"]:
        t = sum(tp.values()) if kind == "all" else tp[kind]
        f_n = sum(fn.values()) if kind == "all" else fn[kind]
        f_p = sum(fp.values()) if kind == "all" else fp[kind]
        recall = t / (t + f_n) if t + f_n else 0.0
        precision = t / (t + f_p) if t + f_p else 0.0
        f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
        print(f"| {kind} | {t} | {f_n} | {f_p} | {recall:.2f} | {precision:.2f} | {f2:.2f} |")
    if args.verbose:
        print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
