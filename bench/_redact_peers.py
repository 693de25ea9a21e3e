"""The peers' side of ``bench/redact.py``: runs Microsoft Presidio or scrubadub on a text file and writes what
they found, how long it took and the process's peak memory as JSON.

It runs in the peers' own virtual environment (made by ``bench/redact.py --setup-peers``), never in the
project's, and imports nothing from Charter::

    ~/.cache/charter-bench/redact-peers/bin/python bench/_redact_peers.py --engine presidio-limited \
        --text log.txt --out result.json [--limit-bytes N] [--cases DIR]
    ~/.cache/charter-bench/redact-peers/bin/python bench/_redact_peers.py --versions

Engines:

* ``presidio-limited``: Presidio's ``EmailRecognizer`` and ``IpRecognizer`` and a bearer-token
  ``PatternRecognizer`` defined here.
* ``presidio-all``: every recognizer Presidio's registry loads by default for English.
* ``scrubadub``: scrubadub's default ``Scrubber()``.

No spaCy model can be downloaded on this machine, so Presidio runs its spaCy NLP engine over
``spacy.blank("en")`` (a subclass of its ``SpacyNlpEngine`` whose ``load`` builds the blank pipeline: a
tokenizer, no NER, no lemmatizer). Its pattern recognizers work as usual; the NER-based one finds nothing, and
context words do not raise scores (no lemmas), which changes no span here since every result is kept and
replaced (score threshold 0, Presidio's default).

What is timed is the redaction of the text (or of its first ``--limit-bytes``, cut at a line end): find and
replace, block after block (line-aligned blocks of ``BLOCK`` characters per engine: Presidio is fastest with a
few KB per call, and spaCy refuses more than 10^6 characters), every output consumed. Imports, set-up and a
warm-up call on a short sample are not timed. Peak memory is ``ru_maxrss`` of this process right after the
timed run. The labelled corpus (``--cases``) is then run line by line, as ``bench/redact_eval.py`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

# tldextract (used by Presidio's e-mail recognizer) would fetch the public suffix list from the network at its
# first use; empty, this makes it use the snapshot it ships.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

ENGINES = ("presidio-limited", "presidio-all", "scrubadub")
PACKAGES = ("presidio-analyzer", "presidio-anonymizer", "scrubadub", "spacy")
BLOCK = {"presidio-limited": 4096, "presidio-all": 4096, "scrubadub": 1 << 20}
WARM_UP = (
    "2026-03-04 10:15:32,123+0000 http-nio-8080-exec-1 INFO  [c.a.Foo] mail to jane.example@example.com from "
    "192.0.2.1 via https://jira.example.com/ Authorization: Bearer abcdefgh.ijklmnop.qrstuvwx +44 20 7946 0000\n"
)

Span = tuple[int, int, str]
Engine = Callable[[str], tuple[list[Span], str]]


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def presidio(all_recognizers: bool) -> tuple[Engine, list[str]]:
    """Presidio's analyzer (over a blank spaCy pipeline) and anonymizer, and the names of its recognizers."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer
    from presidio_anonymizer import AnonymizerEngine

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        """Presidio's spaCy engine with an untrained ``spacy.blank`` pipeline instead of a downloaded model."""

        def load(self) -> None:
            self.nlp = {model["lang_code"]: spacy.blank(model["lang_code"]) for model in self.models}

    nlp_engine = BlankSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    nlp_engine.load()
    if all_recognizers:
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    else:
        bearer = PatternRecognizer(
            supported_entity="BEARER_TOKEN",
            name="BearerTokenRecognizer",
            patterns=[Pattern("bearer token", r"(?i)(?<=\bbearer )[a-z0-9._~+/-]{8,}=*", 0.8)],
        )
        registry = RecognizerRegistry(
            recognizers=[EmailRecognizer(), IpRecognizer(), bearer], supported_languages=["en"]
        )
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])
    anonymizer = AnonymizerEngine()

    def run(text: str) -> tuple[list[Span], str]:
        results = analyzer.analyze(text=text, language="en")
        redacted = anonymizer.anonymize(text=text, analyzer_results=results).text
        return [(r.start, r.end, r.entity_type) for r in results], redacted

    return run, sorted(type(r).__name__ for r in registry.recognizers)


def scrubadub_engine() -> tuple[Engine, list[str]]:
    """scrubadub's default scrubber; ``clean()`` split in its two steps so the spans are kept."""
    import scrubadub

    scrubber = scrubadub.Scrubber()

    def run(text: str) -> tuple[list[Span], str]:
        filth = list(scrubber.iter_filth(text))
        # What Scrubber.clean() does with the list (no post-processor is loaded by default).
        redacted = scrubber._replace_text(text=text, filth_list=filth, document_name=None)
        spans = []
        for f in filth:
            kind = f.type
            if kind == "unknown" and getattr(f, "filths", None):  # overlapping finds merged into one
                kind = f.filths[0].type
            spans.append((f.beg, f.end, kind))
        return spans, redacted

    return run, sorted(scrubber._detectors)


def blocks(text: str, size: int) -> Iterator[tuple[int, str]]:
    """``(offset, block)`` of at most ``size`` characters cut after a line end (a longer line is one block)."""
    start = 0
    while start < len(text):
        end = len(text) if start + size >= len(text) else text.rfind("\n", start, start + size) + 1
        if end <= start:
            end = text.find("\n", start) + 1 or len(text)
        yield start, text[start:end]
        start = end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=ENGINES)
    parser.add_argument("--text", type=Path, help="the log to redact (UTF-8)")
    parser.add_argument("--limit-bytes", type=int, help="time only this many first bytes (cut at a line end)")
    parser.add_argument("--cases", type=Path, help="the labelled corpus: report the spans found on each line")
    parser.add_argument("--out", type=Path, help="where to write the JSON result")
    parser.add_argument("--versions", action="store_true", help="print the peers' versions as JSON and exit")
    args = parser.parse_args(argv)
    if args.versions:
        print(json.dumps({"python": sys.version.split()[0], **versions()}))
        return 0
    if not (args.engine and args.text and args.out):
        parser.error("--engine, --text and --out are needed")

    setup_start = time.perf_counter()
    if args.engine == "scrubadub":
        engine, recognizers = scrubadub_engine()
    else:
        engine, recognizers = presidio(all_recognizers=args.engine == "presidio-all")
    engine(WARM_UP)
    setup = time.perf_counter() - setup_start

    text = args.text.read_text("utf-8")
    if args.limit_bytes is not None and args.limit_bytes < len(text.encode()):
        prefix = text.encode()[: args.limit_bytes].decode("utf-8", "ignore")
        text = prefix[: prefix.rfind("\n") + 1] or prefix

    spans: list[Span] = []
    out_chars = 0
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for offset, block in blocks(text, BLOCK[args.engine]):
        found, redacted = engine(block)
        out_chars += len(redacted)
        spans += [(offset + s, offset + e, kind) for s, e, kind in found]
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    cases: dict[str, list[tuple[int, int, int, str]]] = {}
    if args.cases:
        for log in sorted(args.cases.glob("*.log")):
            found_in_file = []
            for number, line in enumerate(log.read_text("utf-8").split("\n"), 1):
                if number > 1 and line:
                    found_in_file += [(number, s, e, kind) for s, e, kind in engine(line)[0]]
            cases[log.name] = found_in_file

    result = {
        "engine": args.engine,
        "versions": {"python": sys.version.split()[0], **versions()},
        "recognizers": recognizers,
        "block_chars": BLOCK[args.engine],
        "setup_seconds": setup,
        "chars": len(text),
        "bytes": len(text.encode()),
        "seconds": wall,
        "cpu_seconds": cpu,
        "output_chars": out_chars,
        "maxrss_kib": maxrss_kib,
        "spans": spans,
        "cases": cases,
    }
    args.out.write_text(json.dumps(result), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
