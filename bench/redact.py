"""Charter's redaction engine against Microsoft Presidio and scrubadub, on the same machine in the same run.

Usage::

    .venv/bin/python bench/redact.py --setup-peers   # once: a separate venv for the peers (see below)
    .venv/bin/python bench/redact.py [--size-mb 7] [--seed 7] [--json FILE] [--engines charter,scrubadub]

Engines: ``charter`` (``charter.redact.Redactor``, public API only); ``presidio-limited`` (Presidio's e-mail
and IP recognizers plus a bearer-token pattern recognizer); ``presidio-all`` (every recognizer Presidio
loads by default for English); ``scrubadub`` (its default ``Scrubber``). Presidio runs over a blank spaCy
pipeline, since no spaCy model can be downloaded here: see ``bench/_redact_peers.py``.

The peers are never project dependencies: ``--setup-peers`` makes a venv of their own (``--peers-venv``,
default ``~/.cache/charter-bench/redact-peers``) and pip-installs pinned versions there; they run in it as
subprocesses of ``bench/_redact_peers.py``, which imports nothing from Charter.

Measured, each engine in a subprocess of its own:

* **throughput**: bytes of UTF-8 redacted per second of wall time on one core (single-threaded code; CPU time
  is reported too, so that contention shows), on the synthetic log of ``bench/_synthlog.py`` (``--size-mb``,
  default 7 MB = 7,000,000 bytes). Charter is fed 1 MiB chunks through ``Redactor.redact_stream`` and all its
  output is consumed; the peers get line-aligned blocks, find and replace. Imports, set-up and a warm-up
  call are not timed. Charter's figure is the mean of seven runs (its run lasts a fraction of a second and
  this machine's speed drifts in phases of seconds; a peer's single run lasts many seconds). Presidio with
  all recognizers runs at a few hundredths of a MB/s, so it is timed on the first ``--presidio-all-mb``
  (0.5 MB) only; every prefix is stated in the table.
* **peak memory**: ``ru_maxrss`` of the engine's process right after the timed run (text included), in MiB.
* **synthetic recall**, per kind: a labelled value is caught when every character of it lies inside what the
  engine reported (Charter: ``Redactor.find`` on the whole text; peers: the spans of the timed run).
* **decoys touched**: timestamps, versions, class names, durations and request ids of the synthetic log that
  overlap anything the engine reported (count and share).
* **corpus recall / precision / F2** on the labelled cases in ``$CHARTER_SHARED_DIR/cases/logs``, scored as its
  README says: Charter by ``bench/redact_eval.py``'s ``score_file``; the peers by the same rules applied to
  their spans (overlapping spans merged, the kind of the longest, as Charter's engine merges them; peer
  entity types mapped to our kinds where one is obvious, otherwise kept as they are).

It ends with Charter's throughput over presidio-limited's (the goal is 50x or more) and whether 7 MB is
redacted in under a second. A full run takes a minute or two.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from _synthlog import DECOY_KINDS, SECRET_KINDS, generate
from redact_eval import DEFAULT as DEFAULT_CASES
from redact_eval import score_file

from charter.redact import Redactor

HERE = Path(__file__).resolve().parent
PEERS_SCRIPT = HERE / "_redact_peers.py"
DEFAULT_PEERS_VENV = Path.home() / ".cache" / "charter-bench" / "redact-peers"
PEER_PACKAGES = ("presidio-analyzer==2.2.366", "presidio-anonymizer==2.2.366", "scrubadub==2.0.1", "spacy==3.8.18")
ENGINES = ("charter", "presidio-limited", "presidio-all", "scrubadub")
PEERS = ENGINES[1:]
CHUNK = 1 << 20  # characters per chunk fed to Charter's redact_stream
MB = 1_000_000
GOAL_RATIO = 50

#: Peer entity types with an obvious counterpart among our kinds (the rest keep their own name, lower-cased).
KIND_MAP = {
    "EMAIL_ADDRESS": "email",
    "IP_ADDRESS": "ip",
    "CREDIT_CARD": "card",
    "PHONE_NUMBER": "phone",
    "URL": "hostname",
    "PERSON": "person_name",
    "BEARER_TOKEN": "token",
    "email": "email",
    "url": "hostname",
    "phone": "phone",
    "credit_card": "card",
    "credential": "password",
    "twitter": "username",
    "name": "person_name",
}

Span = tuple[int, int, str]


# -- the engines' processes ----------------------------------------------------------------------------------


def charter_worker(text_path: Path, out_path: Path) -> None:
    """Run in a subprocess: time Charter's redaction of the file, then find its spans for scoring."""
    text = text_path.read_text("utf-8")
    redactor = Redactor()
    for _ in redactor.redact_stream([text[:2000]]):  # warm-up, as the peers get
        pass
    # A run takes a fraction of a second, on a machine whose speed drifts in phases of seconds: the mean of
    # seven runs (total time over total text), comparable to the peers' single runs of many seconds.
    runs = []
    for _ in range(7):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        out_chars = 0
        for piece in redactor.redact_stream(text[i : i + CHUNK] for i in range(0, len(text), CHUNK)):
            out_chars += len(piece)
        runs.append((time.perf_counter() - wall_start, time.process_time() - cpu_start))
    wall, cpu = (sum(r[0] for r in runs) / len(runs), sum(r[1] for r in runs) / len(runs))
    best = min(w for w, _ in runs)
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    spans = [(f.start, f.end, f.kind) for f in Redactor().find(text)]
    result = {
        "engine": "charter",
        "chars": len(text),
        "bytes": len(text.encode()),
        "seconds": wall,
        "best_seconds": best,
        "runs_seconds": [round(w, 4) for w, _ in runs],
        "cpu_seconds": cpu,
        "output_chars": out_chars,
        "maxrss_kib": maxrss_kib,
        "block_chars": CHUNK,
        "spans": spans,
    }
    out_path.write_text(json.dumps(result), "utf-8")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # the peers' tldextract: its bundled snapshot, no network
    return env


def run_charter(text_path: Path, work: Path) -> dict[str, Any]:
    out = work / "charter.json"
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(text_path), str(out)], check=True, env=_env()
    )
    return json.loads(out.read_text("utf-8"))


def run_peer(python: Path, engine: str, text_path: Path, limit: int | None, cases: Path | None, work: Path) -> Any:
    out = work / f"{engine}.json"
    command = [str(python), str(PEERS_SCRIPT), "--engine", engine, "--text", str(text_path), "--out", str(out)]
    if limit is not None:
        command += ["--limit-bytes", str(limit)]
    if cases is not None:
        command += ["--cases", str(cases)]
    subprocess.run(command, check=True, env=_env())
    return json.loads(out.read_text("utf-8"))


def peers_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def setup_peers(venv: Path) -> int:
    """Make the peers' venv and install them there; the project's own venv and lock files are not touched."""
    if not peers_python(venv).exists():
        print(f"creating {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"installing {' '.join(PEER_PACKAGES)} into {venv}", file=sys.stderr)
    pip = [str(peers_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *PEER_PACKAGES], check=True)
    check = subprocess.run(
        [str(peers_python(venv)), str(PEERS_SCRIPT), "--versions"],
        check=True,
        env=_env(),
        capture_output=True,
        text=True,
    )
    print(f"peers ready: {check.stdout.strip()}")
    return 0


# -- scoring ---------------------------------------------------------------------------------------------------


def coverage(spans: list[Span]) -> tuple[list[int], list[int]]:
    """The union of the spans as sorted, disjoint ``(starts, ends)``; touching spans are joined."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end, _ in sorted(spans):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def synthetic_scores(labels: list[dict[str, Any]], spans: list[Span], chars: int) -> dict[str, Any]:
    """Caught values per kind and decoys touched per kind, for the labels in the first ``chars`` characters."""
    starts, ends = coverage(spans)
    caught: Counter[str] = Counter()
    values: Counter[str] = Counter()
    touched: Counter[str] = Counter()
    decoys: Counter[str] = Counter()
    for label in labels:
        start, end, kind = label["start"], label["end"], label["kind"]
        if end > chars:
            continue
        if label["decoy"]:
            decoys[kind] += 1
            i = bisect.bisect_right(ends, start)  # the first covered run ending after the decoy starts
            touched[kind] += i < len(starts) and starts[i] < end
        else:
            values[kind] += 1
            i = bisect.bisect_right(starts, start) - 1  # the covered run starting at or before the value
            caught[kind] += i >= 0 and ends[i] >= end
    return {"values": dict(values), "caught": dict(caught), "decoys": dict(decoys), "touched": dict(touched)}


def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping spans as one, with the kind of the longest: what a redactor replaces."""
    merged: list[Span] = []
    for start, end, kind in sorted(spans, key=lambda s: (s[0], s[0] - s[1])):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            longest = last[2] if last[1] - last[0] >= end - start else kind
            merged[-1] = (last[0], max(last[1], end), longest)
        else:
            merged.append((start, end, kind))
    return merged


def score_peer_file(log: Path, found: list[list[Any]]) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """``(TP, FN, FP)`` per kind for one labelled file, from a peer's ``(line, start, end, type)`` spans, by the
    same rules as ``redact_eval.score_file``."""
    expected = json.loads(log.with_suffix(".expected.json").read_text("utf-8"))
    by_line: defaultdict[int, list[Span]] = defaultdict(list)
    for number, start, end, kind in found:
        by_line[number].append((start, end, KIND_MAP.get(kind, kind.lower())))
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    numbers = {s["line"] for s in expected["spans"]} | set(by_line)
    for number in sorted(numbers - {1}):
        findings = _merge(by_line[number])
        replaced = {i for start, end, _ in findings for i in range(start, end)}
        spans = [s for s in expected["spans"] if s["line"] == number]
        ambiguous = [a for a in expected.get("ambiguous", []) if a["line"] == number]
        for span in spans:
            chars = set(range(span["col"], span["col"] + len(span["text"])))
            (tp if chars <= replaced else fn)[span["kind"]] += 1
        covered = [set(range(s["col"], s["col"] + len(s["text"]))) for s in spans + ambiguous]
        for start, end, kind in findings:
            if not any(set(range(start, end)) & c for c in covered):
                fp[kind] += 1
    return tp, fn, fp


def corpus_scores(cases: Path, engine: str, result: dict[str, Any]) -> dict[str, dict[str, int]]:
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    redactor = Redactor()
    for log in sorted(cases.glob("*.log")):
        if engine == "charter":
            a, b, c, _ = score_file(log, redactor)
        else:
            a, b, c = score_peer_file(log, result["cases"].get(log.name, []))
        tp, fn, fp = tp + a, fn + b, fp + c
    return {"tp": dict(tp), "fn": dict(fn), "fp": dict(fp)}


def ratios(tp: int, fn: int, fp: int) -> tuple[float, float, float]:
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
    return recall, precision, f2


# -- report ----------------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "-"


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip() + ", "
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {model}{os.cpu_count()} CPUs, Python {platform.python_version()}"


def report(summary: dict[str, Any]) -> None:
    engines: dict[str, dict[str, Any]] = summary["engines"]
    synth = summary["synthetic"]
    print(f"command: {summary['command']}")
    print(f"machine: {summary['machine']}")
    if summary.get("peers_versions"):
        v = summary["peers_versions"]
        listed = ", ".join(f"{k} {v[k]}" for k in v if k != "python")
        print(f"peers: {listed} (Python {v.get('python')}; Presidio over spacy.blank('en'), no NER model)")
    for note in summary["notes"]:
        print(f"note: {note}")
    print(
        f"synthetic log: {synth['bytes'] / MB:.2f} MB, {synth['lines']:,} lines, {synth['secret_line_share']:.1%} "
        f"with a secret, {synth['values']:,} sensitive values, {synth['decoys']:,} decoys (seed {synth['seed']})"
    )
    cases = summary["cases"]
    print(f"labelled corpus: {cases['files']} files in {cases['dir']}" if cases["files"] else "labelled corpus: none")
    print()
    print(
        "| engine | text timed | wall (s) | MB/s, 1 core | CPU/wall | peak RSS (MiB) | synthetic recall "
        "| decoys touched | corpus recall | corpus precision | corpus F2 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, e in engines.items():
        timed = f"{e['bytes'] / MB:.2f} MB" + ("" if e["bytes"] >= synth["bytes"] else " (prefix)")
        s = e["synthetic"]
        values, caught = sum(s["values"].values()), sum(s["caught"].values())
        decoys, touched = sum(s["decoys"].values()), sum(s["touched"].values())
        cpu_share = e["cpu_seconds"] / e["seconds"]
        c = e.get("corpus")
        corpus = ["-"] * 3
        if c:
            corpus = [f"{x:.2f}" for x in ratios(*(sum(c[k].values()) for k in ("tp", "fn", "fp")))]
        print(
            f"| {name} | {timed} | {_num(e['seconds'])} | {_num(e['mb_per_s'])} | {cpu_share:.2f} "
            f"| {e['maxrss_kib'] / 1024:.0f} | {_share(caught, values)} | {touched} ({touched / decoys:.2%}) "
            f"| {' | '.join(corpus)} |"
        )
    print()
    prefixed = [n for n, e in engines.items() if e["bytes"] < synth["bytes"]]
    names = list(engines)
    star = {n: n + ("*" if n in prefixed else "") for n in names}
    print("Synthetic log, recall per kind (values in the whole log; * = on the timed prefix only):")
    print()
    print(f"| kind | values | {' | '.join(star[n] for n in names)} |")
    print("|---|---:|" + "---:|" * len(names))
    for kind in SECRET_KINDS:
        cells = [
            _share(engines[n]["synthetic"]["caught"].get(kind, 0), engines[n]["synthetic"]["values"].get(kind, 0))
            for n in names
        ]
        print(f"| {kind} | {synth['per_kind'].get(kind, 0)} | {' | '.join(cells)} |")
    print()
    print("Synthetic log, decoys touched per kind:")
    print()
    print(f"| decoy | count | {' | '.join(star[n] for n in names)} |")
    print("|---|---:|" + "---:|" * len(names))
    for kind in DECOY_KINDS:
        cells = [str(engines[n]["synthetic"]["touched"].get(kind, 0)) for n in names]
        print(f"| {kind} | {synth['per_kind'].get(kind, 0)} | {' | '.join(cells)} |")
    corpus_names = [n for n in names if engines[n].get("corpus")]
    if corpus_names:
        print()
        print("Labelled corpus, caught / labelled per kind, and false positives (FP) per engine:")
        print()
        print(f"| kind | {' | '.join(corpus_names)} |")
        print("|---|" + "---:|" * len(corpus_names))
        kinds = sorted({k for n in corpus_names for k in (*engines[n]["corpus"]["tp"], *engines[n]["corpus"]["fn"])})
        for kind in kinds:
            cells = []
            for n in corpus_names:
                tp, fn = engines[n]["corpus"]["tp"].get(kind, 0), engines[n]["corpus"]["fn"].get(kind, 0)
                cells.append(f"{tp}/{tp + fn}")
            print(f"| {kind} | {' | '.join(cells)} |")
        fps = [str(sum(engines[n]["corpus"]["fp"].values())) for n in corpus_names]
        print(f"| FP | {' | '.join(fps)} |")
    print()
    for line in summary["verdicts"]:
        print(line)


# -- main ------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup-peers", action="store_true", help="make the peers' venv and install them, then exit")
    parser.add_argument("--peers-venv", type=Path, default=DEFAULT_PEERS_VENV, help="the peers' venv (%(default)s)")
    parser.add_argument("--size-mb", type=float, default=7.0, help="synthetic log size, MB of UTF-8 (%(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="synthetic log seed (%(default)s)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of %(default)s")
    parser.add_argument("--presidio-all-mb", type=float, default=0.5, help="presidio-all's prefix (%(default)s MB)")
    parser.add_argument("--presidio-limited-mb", type=float, help="presidio-limited's prefix (default: all)")
    parser.add_argument("--scrubadub-mb", type=float, help="scrubadub's prefix (default: all)")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="labelled corpus (%(default)s)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file as JSON")
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        charter_worker(*args.worker)
        return 0
    if args.setup_peers:
        return setup_peers(args.peers_venv)
    selected = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(selected) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines: {', '.join(unknown)}")

    notes: list[str] = []
    python = peers_python(args.peers_venv)
    if any(e in PEERS for e in selected) and not python.exists():
        notes.append(f"peers skipped: no venv at {args.peers_venv}; run bench/redact.py --setup-peers first")
        selected = [e for e in selected if e not in PEERS]
    logs = sorted(args.cases.glob("*.log")) if args.cases.is_dir() else []
    if not logs:
        notes.append(f"no labelled corpus at {args.cases}: corpus columns left empty")

    text, labels = generate(int(args.size_mb * MB), args.seed)
    line_starts = [0]
    at = text.find("\n")
    while at != -1:
        line_starts.append(at + 1)
        at = text.find("\n", at + 1)
    secret_lines = {bisect.bisect_right(line_starts, lab["start"]) for lab in labels if not lab["decoy"]}
    n_lines = text.count("\n")
    synth = {
        "bytes": len(text.encode()),
        "chars": len(text),
        "lines": n_lines,
        "seed": args.seed,
        "secret_line_share": len(secret_lines) / n_lines,
        "values": sum(not lab["decoy"] for lab in labels),
        "decoys": sum(bool(lab["decoy"]) for lab in labels),
        "per_kind": dict(Counter(lab["kind"] for lab in labels)),
    }
    limits = {"presidio-all": args.presidio_all_mb, "presidio-limited": args.presidio_limited_mb}
    limits["scrubadub"] = args.scrubadub_mb

    engines: dict[str, dict[str, Any]] = {}
    peers_versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="charter-bench-redact-") as tmp:
        work = Path(tmp)
        text_path = work / "synthetic.log"
        text_path.write_text(text, "utf-8")
        for engine in selected:
            print(f"running {engine} ...", file=sys.stderr, flush=True)
            if engine == "charter":
                result = run_charter(text_path, work)
            else:
                mb = limits.get(engine)
                limit = int(mb * MB) if mb is not None and mb * MB < synth["bytes"] else None
                result = run_peer(python, engine, text_path, limit, args.cases if logs else None, work)
                peers_versions = result["versions"]
            spans = [(s, e, k) for s, e, k in result.pop("spans")]
            result["mb_per_s"] = result["bytes"] / MB / result["seconds"]
            result["synthetic"] = synthetic_scores(labels, spans, result["chars"])
            result["corpus"] = corpus_scores(args.cases, engine, result) if logs else None
            result.pop("cases", None)
            engines[engine] = result

    verdicts: list[str] = []
    charter = engines.get("charter")
    if charter:
        for peer in PEERS:
            if peer in engines:
                ratio = charter["mb_per_s"] / engines[peer]["mb_per_s"]
                goal = f" (goal >= {GOAL_RATIO}x: {'met' if ratio >= GOAL_RATIO else 'not met'})"
                verdicts.append(
                    f"throughput Charter / {peer}: {ratio:.1f}x{goal if peer == 'presidio-limited' else ''}"
                )
        best_ratio = (
            charter["bytes"] / MB / charter["best_seconds"] / engines["presidio-limited"]["mb_per_s"]
            if ("presidio-limited" in engines)
            else None
        )
        runs = ", ".join(f"{w:.2f}" for w in charter["runs_seconds"])
        verdicts.append(
            f"Charter's seven runs (s): {runs}; the table gives their mean"
            + (f"; the best run is {best_ratio:.1f}x presidio-limited" if best_ratio else "")
        )
        seven = 7 * MB / (charter["mb_per_s"] * MB)
        measured = f"{charter['seconds']:.2f} s for {charter['bytes'] / MB:.2f} MB"
        projected = "" if abs(charter["bytes"] - 7 * MB) < 0.01 * MB else f", so {seven:.2f} s for 7 MB at that rate"
        verdicts.append(f"7 MB redacted in under 1 s: {'yes' if seven < 1 else 'no'} ({measured}{projected})")
    for name, e in engines.items():
        share = e["cpu_seconds"] / e["seconds"]
        if not 0.9 <= share <= 1.1:
            notes.append(f"{name}: CPU/wall {share:.2f}, so the machine was busy or the engine used more than one core")
    for name, e in engines.items():
        if e["bytes"] < synth["bytes"]:
            notes.append(f"{name} timed and scored on the first {e['bytes'] / MB:.2f} MB of the synthetic log only")

    summary = {
        "command": " ".join([".venv/bin/python bench/redact.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(),
        "peers_versions": peers_versions,
        "notes": notes,
        "synthetic": synth,
        "cases": {"dir": str(args.cases), "files": len(logs)},
        "engines": engines,
        "verdicts": verdicts,
    }
    report(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
