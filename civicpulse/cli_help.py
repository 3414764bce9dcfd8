"""Help texts that read well at any terminal width (``civicpulse X --help`` at 80 columns).

Typer's rich help re-wraps a command's first paragraph but prints later paragraphs with the
line breaks of the source (docstrings wrapped at 100 columns), so an 80-column terminal shows
every source line wrapped again: a long line, an orphan word, a long line. :func:`reflow_help`
joins the lines of each paragraph once (help and epilog of every command and group of an
app) and lets rich wrap them to the terminal. Lines that start a list item (``- ``, ``* ``)
or are indented, and paragraphs marked ``\\b`` (click's "keep as is"), keep their breaks.
"""

from __future__ import annotations

import inspect

import typer
from typer.models import CommandInfo, TyperInfo

__all__ = ["reflow", "reflow_help"]


def _keeps_break(line: str) -> bool:
    return line.startswith((" ", "\t")) or line.lstrip().startswith(("- ", "* ", "• "))


def _join(paragraph: str) -> str:
    lines: list[str] = []
    for line in paragraph.split("\n"):
        if lines and not _keeps_break(line):
            lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
        else:
            lines.append(line)
    return "\n".join(lines)


def reflow(text: str) -> str:
    """``text`` (a docstring) with each paragraph's source line breaks joined."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else _join(p) for p in paragraphs)


def _command(info: CommandInfo) -> None:
    text = info.help if isinstance(info.help, str) else getattr(info.callback, "__doc__", None)
    if isinstance(text, str):
        info.help = reflow(text)
    if isinstance(info.epilog, str):
        info.epilog = reflow(info.epilog)


def _group(info: TyperInfo) -> None:
    if isinstance(info.help, str):
        info.help = reflow(info.help)
    if info.typer_instance is not None:
        reflow_help(info.typer_instance)


def reflow_help(app: typer.Typer) -> None:
    """Reflow the help of ``app``, its commands and its groups (recursively), in place."""
    if isinstance(app.info.help, str):
        app.info.help = reflow(app.info.help)
    callback = app.registered_callback
    if callback is not None:
        text = (
            callback.help
            if isinstance(callback.help, str)
            else callback.callback.__doc__
            if callback.callback
            else None
        )
        if isinstance(text, str):
            callback.help = reflow(text)
    for command in app.registered_commands:
        _command(command)
    for group in app.registered_groups:
        _group(group)
