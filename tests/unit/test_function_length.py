"""No function of the package is over 80 lines (STYLE: short functions that say what they do).

A function's length is its body's, from the first body statement (its docstring, if any) to its
last line: decorators and a long signature (typer options, one per line) do not count. Nested
functions count in their own right and inside the function that holds them. The package's folders
are read from pyproject's ``package-dir``, the mapping that installs them.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_BODY_LINES = 80


def package_folders() -> list[Path]:
    """Every folder installed as ``civicpulse`` or one of its sub-packages."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping: dict[str, str] = pyproject["tool"]["setuptools"]["package-dir"]
    return sorted({ROOT / folder for folder in mapping.values()})


def body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first body statement to the function's end."""
    assert function.end_lineno is not None
    return function.end_lineno - function.body[0].lineno + 1


def long_functions(source: str, path: str) -> Iterator[str]:
    """``path:line name (N lines)`` of every function in ``source`` over the limit."""
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = body_lines(node)
            if lines > MAX_BODY_LINES:
                yield f"{path}:{node.lineno} {node.name} ({lines} lines)"


def test_the_package_folders_are_found() -> None:
    names = {folder.name for folder in package_folders()}
    assert {"civicpulse", "schemas", "stream", "sink", "analytics", "simulator"} <= names
    assert all(folder.is_dir() for folder in package_folders())


def test_the_measure_counts_the_body_not_the_signature_and_finds_nested_functions() -> None:
    options = "".join(f"    option_{i}: int = 0,\n" for i in range(30))
    statements = "".join(f"    x_{i} = {i}\n" for i in range(MAX_BODY_LINES - 1))
    at_the_limit = f"@app.command()\ndef fits(\n{options}) -> None:\n    'Doc.'\n{statements}"
    assert list(long_functions(at_the_limit, "fits.py")) == []
    inner_body = "".join(f"        x_{i} = {i}\n" for i in range(MAX_BODY_LINES + 1))
    nested = "def outer() -> None:\n    def inner() -> None:\n" + inner_body
    assert list(long_functions(nested, "t.py")) == [
        "t.py:1 outer (82 lines)",
        "t.py:2 inner (81 lines)",
    ]


def test_no_function_is_over_80_lines() -> None:
    found = [
        message
        for folder in package_folders()
        for path in sorted(folder.rglob("*.py"))
        for message in long_functions(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == [], "functions over 80 lines (split them):\n" + "\n".join(found)
