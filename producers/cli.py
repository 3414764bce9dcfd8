"""Commands of the producers stage: ``civicpulse terminal`` (and ``simulate``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["terminal_command"]

console = Console()


def terminal_command(
    device: Annotated[str, typer.Option("--device", help="this terminal's device_id")],
    key: Annotated[
        str | None,
        typer.Option("--key", help="device key for the ingest API (from `devices add-key`)"),
    ] = None,
    api: Annotated[
        str | None,
        typer.Option(
            "--api", help="ingest API base URL, e.g. http://127.0.0.1:8000; unset = Kafka"
        ),
    ] = None,
    buffer: Annotated[
        Path | None,
        typer.Option(help="SQLite buffer file [default: <data_dir>/terminal/<device>.sqlite3]"),
    ] = None,
    capacity: Annotated[int, typer.Option(help="presses the offline buffer holds")] = 100_000,
    presses: Annotated[
        str | None,
        typer.Option(
            help="non-interactive: comma-separated buttons to press, e.g. 4,3,1; then exit"
        ),
    ] = None,
) -> None:
    """Run a smiley terminal: type 1-4 (optionally `2 wait_time` with a reason) and Enter.

    Each press is written to a durable SQLite buffer first, then delivered in order straight to
    Kafka (default) or to the ingest API (--api, needs --key). While the broker/API is down the
    presses wait in the buffer; a full buffer refuses new presses with an error.
    """
    from civicpulse.producers.buffer import PressBuffer
    from civicpulse.producers.exceptions import BufferFullError
    from civicpulse.producers.terminal import ApiSender, KafkaSender, Sender, Terminal
    from civicpulse.schemas.settings import get_settings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    settings = get_settings()
    sender: Sender
    if api:
        if not key:
            raise typer.BadParameter(
                "--api needs --key (issue one with `civicpulse devices add-key`)"
            )
        sender = ApiSender(api, device, key)
    else:
        from civicpulse.producers.kafka_producer import create_producer, presses_topic

        sender = KafkaSender(
            create_producer(settings, client_id=f"terminal-{device}"), presses_topic(settings)
        )
    path = buffer or settings.data_dir / "terminal" / f"{device}.sqlite3"
    terminal = Terminal(device, PressBuffer(path, capacity=capacity), sender)
    console.print(f"terminal [bold]{device}[/] -> {api or 'Kafka ' + settings.bootstrap_servers}")
    console.print(f"buffer {path}: {terminal.buffer.status().pending} press(es) waiting")
    terminal.start()
    try:
        lines: Iterable[str] = presses.split(",") if presses is not None else sys.stdin
        for line in lines:
            parts = line.split()
            if not parts:
                continue
            if parts[0] in {"q", "quit", "exit"}:
                break
            if parts[0] not in {"1", "2", "3", "4"}:
                console.print(
                    "[yellow]press 1, 2, 3 or 4 (optionally followed by a reason code)[/]"
                )
                continue
            try:
                draft, status = terminal.press(
                    int(parts[0]), reason=parts[1] if len(parts) > 1 else None
                )
            except BufferFullError as exc:
                console.print(f"[bold red]{exc}[/]")
                continue
            colour = "yellow" if status.nearly_full else "green"
            console.print(
                f"[{colour}]pressed {draft.button} ({draft.event_id}); "
                f"buffered {status.pending}/{status.capacity}[/]"
            )
    finally:
        terminal.stop(final_flush=True)
        left = terminal.buffer.status().pending
        if left:
            console.print(
                f"[yellow]{left} press(es) still buffered; they are sent next time "
                f"({terminal.last_error})[/]"
            )
        else:
            console.print("[green]all presses delivered[/]")
