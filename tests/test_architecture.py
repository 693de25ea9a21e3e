"""The import rules of docs/architecture.md, and the public API of each package, as tests."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "charter"

# package -> the charter packages it may import (besides itself)
ALLOWED = {
    "clock": set(),
    "logs": set(),
    "policy": {"clock"},
    "crypto": set(),
    "atlassian": {"clock", "logs"},
    "statement": {"policy", "__about__"},
    "store": {"clock", "crypto"},
    "audit": {"clock", "store"},
    "tenants": {"atlassian", "audit", "clock", "logs", "policy", "store"},
    "backup": {"__about__", "audit", "clock", "crypto", "logs", "policy", "store"},
    "redact": set(),
    "security": {"access", "audit", "clock", "policy", "store"},
    "privacy": {"access", "audit", "clock", "logs", "policy", "security", "store", "support"},
    "evidence": {"backup", "logs", "policy", "privacy", "runtime", "statement", "store"},
    "support": {"access", "audit", "clock", "crypto", "policy", "redact", "store"},
    "sdk": {"atlassian", "store", "tenants"},
    "web": {
        "atlassian",
        "clock",
        "evidence",
        "logs",
        "policy",
        "privacy",
        "sdk",
        "security",
        "statement",
        "store",
        "tenants",
        "__about__",
    },
    "runtime": {"audit", "backup", "clock", "crypto", "policy", "privacy", "security", "store", "support", "tenants"},
    "access": {"audit", "logs", "store", "tenants"},
    "rotation": {"audit", "crypto", "runtime", "store"},
    "jobs": {"backup", "evidence", "logs", "privacy", "runtime", "security", "support", "tenants"},
    "server": {
        "atlassian",
        "clock",
        "jobs",
        "logs",
        "policy",
        "runtime",
        "sdk",
        "security",
        "statement",
        "store",
        "web",
    },
    "cli": {"*"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("charter"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("charter."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_import_rules(package: str) -> None:
    allowed = ALLOWED[package]
    if "*" in allowed:
        return
    target = SRC / package
    files = list(target.rglob("*.py")) if target.is_dir() else [SRC / f"{package}.py"]
    for file in files:
        used = _imports(file) - {package}
        assert used <= allowed, f"{file.relative_to(SRC)} imports {sorted(used - allowed)}"


def test_nothing_imports_web_or_cli() -> None:
    for file in SRC.rglob("*.py"):
        top = file.relative_to(SRC).parts[0].removesuffix(".py")
        if top in ("cli", "server", "web", "__main__"):
            continue
        assert not (_imports(file) & {"web", "cli"}), file


@pytest.mark.parametrize(
    "module", ["charter.policy", "charter.statement", "charter.store", "charter.web", "charter.cli"]
)
def test_public_api_is_exactly_all(module: str) -> None:
    mod = importlib.import_module(module)
    exported = set(mod.__all__)
    public = {n for n in vars(mod) if not n.startswith("_") and not isinstance(vars(mod)[n], type(importlib))}
    assert public == exported, f"{module}: names not in __all__: {sorted(public - exported)}"
