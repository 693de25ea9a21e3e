"""The examples: one charter per real statement in ../shared/seeds, each valid and covered in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from charter.clock import FrozenClock
from charter.policy import check_file
from tests.conftest import NOW, ROOT, example_files

COVERAGE = ROOT / "docs" / "seed-coverage.md"


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_example_passes_check_without_warnings(path: Path) -> None:
    result = check_file(path, clock=FrozenClock(NOW))
    assert [p.format(path.name) for p in result.problems] == []


def _seed_of(example: Path) -> str | None:
    match = re.search(r"seeds/(\d{3}_[0-9a-f]+\.txt)", example.read_text("utf-8"))
    return match.group(1) if match else None


def test_every_seed_has_an_example(shared_dir: Path) -> None:
    seeds = sorted(p.name for p in (shared_dir / "seeds").glob("*.txt"))
    assert seeds, "no seed statements found"
    expressed = {_seed_of(p) for p in example_files()}
    assert set(seeds) <= expressed, f"seeds without an example: {sorted(set(seeds) - expressed)}"


def test_coverage_table_names_every_seed_and_example() -> None:
    text = COVERAGE.read_text("utf-8")
    for example in example_files():
        seed = _seed_of(example)
        if seed is None:
            continue
        assert seed in text, f"{seed} is missing from docs/seed-coverage.md"
        assert example.name in text, f"{example.name} is missing from docs/seed-coverage.md"


def test_examples_are_named_by_hosting_profile_not_vendor() -> None:
    profiles = ("forge-roa", "forge-remote", "connect", "data-center", "dc")
    for example in example_files():
        assert example.stem.startswith(profiles), example.name
