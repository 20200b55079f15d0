"""docs/seed-trace.md names, for each seed sentence issue 36 takes, the test that reads like it:
every test it names exists, so the table cannot quietly go stale."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "docs" / "seed-trace.md"
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


@pytest.mark.database_independent
def test_every_test_the_seed_trace_names_exists() -> None:
    named = NAMED.findall(TRACE.read_text(encoding="utf-8"))
    assert len(named) >= 30  # the table, not an empty page
    missing = [
        f"{file}::{name}"
        for file, name in named
        if not (ROOT / file).exists() or name not in _tests_in(ROOT / file)
    ]
    assert missing == []


@pytest.mark.database_independent
def test_every_row_of_the_seed_trace_quotes_a_line_and_names_a_test() -> None:
    rows = [
        line
        for line in TRACE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith("| 种子原文")
    ]
    assert rows
    for row in rows:
        quote, _, tests = (cell.strip() for cell in row.strip("|").split("|"))
        assert re.search(r"\(\d+\)", quote) or quote == "(the same)", row
        assert NAMED.search(tests), row
