"""The README names a test for every case it promises: each named test exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
NAMED = re.compile(r"\b(?:browser/)?(test_\w+)(?:\.py)?::(test_\w+)")


def _tests_in(module: str) -> set[str]:
    found = list((ROOT / "tests").rglob(f"{module}.py"))
    assert found, f"README names tests/{module}.py, which does not exist"
    tree = ast.parse(found[0].read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_test_the_readme_names_exists():
    named = NAMED.findall((ROOT / "README.md").read_text())
    assert len(named) > 50  # the reliability table
    missing = [f"{m}::{t}" for m, t in sorted(set(named)) if t not in _tests_in(m)]
    assert not missing, f"README names tests that do not exist: {missing}"


def test_the_pattern_finds_a_missing_test():
    # The check above would pass on a pattern that matched nothing: prove that it reads.
    text = "| a case | what you see | `test_open::test_that_was_never_written` |"
    ((module, test),) = NAMED.findall(text)
    assert module == "test_open" and test not in _tests_in(module)
