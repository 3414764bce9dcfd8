"""Stream-stage commands: ``civicpulse replay`` (offline anti-spam, contract)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook

__all__ = ["load_catalogue", "replay", "replay_command"]

_FLUSH_EVERY = 1 << 16


def load_catalogue(path: Path) -> Catalogue:
    """A catalogue file (contract format), with a message that names the file when it is bad."""
    try:
        return Catalogue.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise StreamError(f"cannot read catalogue {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise StreamError(
            f"catalogue {path} is not valid ({exc.error_count()} problem(s)); first: "
            f"{where}: {first['msg']}. Fix the file (format: DESIGN.md, Catalogue)."
        ) from None


def replay(lines: IO[bytes], judge: Judge, out: IO[bytes]) -> None:
    """One JSON object per input line, in input order (the contract's output)."""
    dumps = orjson.dumps
    buffer: list[bytes] = []
    for number, line in enumerate(lines, start=1):
        # The line ending is the file's framing, not the message (the stream never sees it).
        # The line number is the message's offset: each line is judged once (see decide).
        outcome = judge.judge(line.rstrip(b"\r\n"), number)
        if isinstance(outcome, str):
            record: dict[str, object] = {"line": number, "verdict": "deadletter", "error": outcome}
        else:
            record = {
                "event_id": str(outcome.event_id),
                "verdict": outcome.verdict,
                "device_id": outcome.device_id,
                "site_id": outcome.site_id,
                "department_id": outcome.department_id,
                "question_id": outcome.question_id,
            }
        buffer.append(dumps(record))
        if len(buffer) >= _FLUSH_EVERY:
            judge.flush()
            out.write(b"\n".join(buffer) + b"\n")
            buffer.clear()
    judge.flush()
    if buffer:
        out.write(b"\n".join(buffer) + b"\n")
    out.flush()


@contextmanager
def _open_input(path: Path) -> Iterator[IO[bytes]]:
    if str(path) == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise StreamError(f"cannot read presses file {path}: {exc.strerror}") from None
    with handle:
        yield handle


def replay_command(
    presses: Annotated[
        Path,
        typer.Argument(
            metavar="PRESSES.jsonl", help="press events, one JSON object a line ('-' reads stdin)"
        ),
    ],
    catalogue: Annotated[
        Path,
        typer.Option(
            "--catalogue",
            "-c",
            metavar="CATALOGUE.json",
            help="device catalogue JSON file (contract format)",
        ),
    ],
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            "-r",
            metavar="RULES.toml",
            help="anti-spam rules TOML; default: the built-in rules",
        ),
    ] = None,
) -> None:
    """Judge press events offline exactly as the stream would.

    Writes one JSON object per input line to stdout, in input order:
    {"event_id", "verdict", "device_id", "site_id", "department_id", "question_id"}, or
    {"line", "verdict": "deadletter", "error"} for a line that is not a valid PressEvent.
    """
    try:
        judge = Judge(load_catalogue(catalogue), RuleBook.load(rules), MemoryStore())
        with _open_input(presses) as lines:
            replay(lines, judge, sys.stdout.buffer)
    except CivicpulseError as exc:
        Console(stderr=True, soft_wrap=True).print(
            f"[red]error:[/red] {escape(str(exc))}", highlight=False
        )
        raise typer.Exit(code=2) from None
