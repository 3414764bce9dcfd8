"""``civicpulse --help`` and every sub-command's help read well at 80 columns."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from civicpulse.cli import app
from civicpulse.cli_help import reflow


def _commands() -> list[tuple[str, ...]]:
    """Every command path of the app: (), ("up",), ("kafka",), ("kafka", "start"), ..."""
    root = typer.main.get_command(app)
    out: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        out.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(root, ())
    return out


def test_reflow_joins_a_paragraph_and_keeps_lists_and_examples() -> None:
    text = (
        "First line\n    goes on.\n\n    Second para-\n    graph here.\n\n"
        "    - item one\n    - item two\n\n    \b\n    keep\n    as is"
    )
    assert reflow(text) == (
        "First line goes on.\n\nSecond para- graph here.\n\n- item one\n- item two\n\n"
        "\b\nkeep\nas is"
    )


def test_an_indented_example_keeps_its_own_line() -> None:
    text = "Intro\n    text.\n\n    Examples:\n\n      civicpulse up \\\n          --api-port 1"
    assert reflow(text) == "Intro text.\n\nExamples:\n\n  civicpulse up \\\n      --api-port 1"


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "civicpulse")
def test_help_fits_80_columns_without_orphans(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    # Prose (outside the option boxes): rich fills each line, so a line that had room for the
    # next line's first word ends at a line break of the source, the orphan this test is about.
    prose = [line.strip() for line in lines if not line.startswith(("│", "╭", "╰"))]
    for line, following in itertools.pairwise(prose):
        if line and following and not following.startswith(("-", "civicpulse", ">")):
            room = len(line) + 1 + len(following.split()[0]) <= 78
            assert not room, f"a source line break in `{' '.join(path)} --help`: {line!r}"
