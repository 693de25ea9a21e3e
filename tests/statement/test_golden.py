"""Golden files pin every published document of every example.

Regenerate after an intended wording change with ``CHARTER_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from charter.clock import FrozenClock
from charter.policy import load_charter
from charter.statement import build_statement, marketplace_answers, render, render_security_txt
from tests.conftest import NOW, ROOT, example_files

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("CHARTER_UPDATE_GOLDEN") == "1"


def documents(path: Path) -> dict[str, str]:
    charter = load_charter(path, clock=FrozenClock(NOW))
    statement = build_statement(charter)
    return {
        "statement.md": render(statement, "md"),
        "statement.html": render(statement, "html"),
        "statement.txt": render(statement, "txt"),
        "security.txt": render_security_txt(charter),
        "marketplace.json": json.dumps(marketplace_answers(charter), indent=2) + "\n",
    }


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_documents_match_golden_files(path: Path) -> None:
    folder = GOLDEN / path.stem
    for name, text in documents(path).items():
        golden = folder / name
        if UPDATE:
            folder.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, "utf-8")
        assert golden.exists(), f"{golden} is missing; run with CHARTER_UPDATE_GOLDEN=1 and review it"
        assert text == golden.read_text("utf-8"), f"{path.name} -> {name} differs from {golden}"


def test_no_stale_golden_folders() -> None:
    examples = {p.stem for p in example_files()}
    folders = {p.name for p in GOLDEN.iterdir() if p.is_dir()}
    assert folders <= examples, f"golden folders without an example: {sorted(folders - examples)}"
