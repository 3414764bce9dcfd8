"""A trivial processor for the harness's own test (``stream.testing``), importable by the
worker."""

from __future__ import annotations

from typing import ClassVar

from civicpulse.schemas.topics import PRESSES_RAW, TopicSpec
from civicpulse.stream.framework.processors import (
    Batch,
    Context,
    Processor,
    Record,
    UndecodableError,
)

__all__ = ["ECHO", "LATE", "Echo"]

#: where ``Echo`` writes: in no catalogue, the worker creates it as ``Echo.outputs`` declares it
ECHO = TopicSpec("harness.echo", 1, "none", None, "partition:offset:VALUE of each record read.")


#: a topic named at run time: ``Echo.start`` asks the runner for it (``context.ensure_topics``)
LATE = TopicSpec("harness.late", 2, "none", None, "Created by Echo at start, never written.")


class Echo(Processor[str]):
    """Writes ``<partition>:<offset>:<VALUE>`` for each ASCII record; anything else is refused."""

    name: ClassVar[str] = "echo"
    verb: ClassVar[str] = "echoing"
    source = PRESSES_RAW
    outputs = (ECHO,)

    async def start(self, context: Context) -> None:
        await super().start(context)
        assert context.ensure_topics is not None
        await context.ensure_topics([LATE, LATE])  # twice: asked for once

    def decode(self, record: Record) -> str:
        if not record.value.isascii():
            raise UndecodableError("not ASCII")
        return record.value.decode()

    async def process(self, batch: Batch[str]) -> None:
        for record, text in batch.events:
            line = f"{batch.partition}:{record.offset}:{text.upper()}"
            batch.emit(ECHO, record.key, line.encode())
