"""The one runner of processors over Faust: offsets, order, flush order, failures (see
``stream.framework.processors`` for what a processor declares).

For each processor the runner declares its source topic and table, and runs one agent whose
batches go, per source partition, through the reading-order guard (``ordering.InOrder``: a hole
is held back unacknowledged and the partition sought back to it), ``decode`` (a record that
does not decode is dead-lettered) and ``process``. Then, for the whole batch: the outputs (and
the state written during ``process``) are flushed, the state of ``take_state`` is written and
flushed, and only then does the agent's batch get acknowledged. The agent body runs inside
``failfast.run_guarded``: an exception ends the worker, a message that fails every time is
dead-lettered. A processor with ``tick_seconds`` gets a timer, serialised with its batches, that
runs only while the worker holds one of its source partitions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from civicpulse.schemas.events import DeadLetter
from civicpulse.schemas.topics import DEADLETTER
from civicpulse.stream.catalogue.index import CatalogueIndex
from civicpulse.stream.framework.failfast import FailureLedger, die, run_guarded
from civicpulse.stream.framework.faust_repairs import withhold_ack
from civicpulse.stream.framework.ordering import InOrder
from civicpulse.stream.framework.outputs import Outputs, TableStore
from civicpulse.stream.framework.processors import (
    Batch,
    Context,
    Internal,
    Processor,
    Record,
    UndecodableError,
)
from civicpulse.stream.framework.watchdog import GroupOffsets

__all__ = ["Runner", "record_of"]

log = logging.getLogger("civicpulse.stream")


def record_of(message: Any) -> Record:
    """A Faust message as a ``Record`` (headers as a tuple of pairs)."""
    headers = message.headers or ()
    items = headers.items() if isinstance(headers, dict) else headers
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value or b"",
        headers=tuple((str(k), bytes(v)) for k, v in items),
    )


class Runner:
    """Wires processors into one Faust app (see module doc)."""

    def __init__(
        self,
        app: Any,
        *,
        config: Any,
        outputs: Callable[[], Outputs],
        catalogue: Callable[[], CatalogueIndex],
        ready: asyncio.Event,
        ledger: FailureLedger,
        offsets: GroupOffsets,
    ) -> None:
        self.app = app
        self.config = config
        self.outputs = outputs
        self.catalogue = catalogue
        self.ready = ready
        self.ledger = ledger
        self.offsets = offsets
        #: physical names of every source topic (the stall watchdog watches them)
        self.sources: set[str] = set()

    def context(self, state: Callable[[int], TableStore] | None = None) -> Context:
        return Context(
            prefix=self.config.prefix,
            app_id=self.config.app_id,
            bootstrap=self.config.bootstrap,
            emitter=_LazyEmitter(self.outputs),
            catalogue=self.catalogue,
            state=state,
            producer=self.outputs,
            backlog=self._backlog,
        )

    async def _backlog(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        read = await asyncio.get_running_loop().run_in_executor(None, self.offsets.read, partitions)
        return {key: backlog.pending for key, backlog in read.items()}

    def add(self, processor: Processor[Any]) -> None:
        """Declare the processor's topic and table and run it as an agent."""
        app, config = self.app, self.config
        spec = processor.source
        if isinstance(spec, Internal):
            source = app.topic(
                f"{config.app_id}-{spec.name}",
                partitions=spec.partitions,
                internal=True,
                key_serializer="raw",
                value_serializer="raw",
            )
        else:
            source = app.topic(config.topic(spec), key_serializer="raw", value_serializer="raw")
        source_name: str = source.get_topic_name()
        self.sources.add(source_name)
        table = None
        if processor.state is not None:
            table = app.Table(
                processor.state.table, partitions=processor.state.partitions, key_type=str
            )
        stores: dict[int, TableStore] = {}

        def store(partition: int) -> TableStore:
            if table is None:
                raise RuntimeError(f"processor {processor.name} declares no state")
            found = stores.get(partition)
            if found is None:
                found = stores[partition] = TableStore(table, self.outputs())
                found.partition = partition
            return found

        context = self.context(store if table is not None else None)
        co_partitioned = processor.state is not None and (
            processor.state.partitions == spec.partitions
        )
        order = InOrder()
        sought: dict[int, tuple[int, float]] = {}
        lock = asyncio.Lock()
        started = asyncio.Event()
        stage = f"stream.{processor.name}"
        verb = processor.verb

        def dead(record: Record, error: str) -> None:
            letter = DeadLetter.of(
                record.value,
                error,
                stage,
                source_topic=record.topic,
                source_partition=record.partition,
                source_offset=record.offset,
            )
            self.outputs().send(
                config.topic(DEADLETTER), record.key, letter.model_dump_json().encode()
            )

        async def start_partitions(partitions: list[int]) -> None:
            loop = asyncio.get_running_loop()
            while True:
                try:
                    backlog = await loop.run_in_executor(
                        None, self.offsets.read, [(source_name, p) for p in partitions]
                    )
                    break
                except Exception as exc:  # the broker may be away: nothing can move meanwhile
                    log.warning(
                        "cannot read the committed offsets of %s: %s; retrying", source_name, exc
                    )
                    await asyncio.sleep(1.0)
            for (_topic, partition), held in backlog.items():
                order.start(partition, held.committed)
                log.info("%s[%d]: %s from offset %d", source_name, partition, verb, held.committed)

        async def seek_back(partition: int) -> None:
            # One seek per hole: the events already buffered behind it are held back too, and the
            # seek re-reads them all. Another seek only if the partition has not moved for a while.
            from faust.types import TP

            offset = order.next_offset(partition)
            last = sought.get(partition)
            if last is not None and last[0] == offset and time.monotonic() - last[1] < 5.0:
                return
            sought[partition] = (offset, time.monotonic())
            log.warning(
                "%s[%d]: out of order delivery; seeking back to %d", source_name, partition, offset
            )
            await app.consumer.seek(TP(source_name, partition), offset)

        async def flush() -> None:
            out = self.outputs()
            await out.flush()
            written = 0
            for partition, key, value in processor.take_state():
                store(partition).set(key, value)
                written += 1
            if written:
                await out.flush()

        async def batch(events: list[Any]) -> None:
            async with lock:
                by_partition: dict[int, list[Any]] = {}
                for event in events:
                    by_partition.setdefault(event.message.partition, []).append(event)
                unknown = [p for p in by_partition if not order.knows(p)]
                if unknown:
                    await start_partitions(unknown)
                holes: set[int] = set()
                for partition, part in by_partition.items():
                    admitted: list[tuple[Record, Any]] = []
                    for event in part:
                        if order.admit(partition, event.message.offset) == "hole":
                            withhold_ack(event)
                            holes.add(partition)
                            continue
                        record = record_of(event.message)
                        try:
                            admitted.append((record, processor.decode(record)))
                        except UndecodableError as exc:
                            dead(record, str(exc))
                    if admitted:
                        state = store(partition) if co_partitioned else None
                        await processor.process(Batch(partition, admitted, context, dead, state))
                await flush()
                for partition in sorted(holes):
                    await seek_back(partition)

        def dead_event(event: Any, error: str, _stage: str) -> None:
            dead(record_of(event.message), error)

        async def agent(stream: Any) -> None:
            await self.ready.wait()
            await processor.start(context)
            started.set()
            await run_guarded(processor.name, stream, config, self.ledger, batch, dead_event)

        async def tick() -> None:
            try:
                held = any(tp.topic == source_name for tp in app.consumer.assignment())
                if not started.is_set() or not held:
                    processor.release()  # not ours (any more): rebuild from the table when it is
                    return
                async with lock:
                    await processor.tick()
                    await flush()
            except Exception as exc:
                die(f"{processor.name} tick", exc)

        async def revoked(sender: Any, /, *args: Any, **kwargs: Any) -> None:
            processor.release()
            order.forget()  # Faust seeks every partition back to its committed offset

        async def assigned(sender: Any, /, *args: Any, **kwargs: Any) -> None:
            order.forget()

        app.agent(source, name=processor.name)(agent)
        app.on_partitions_revoked.connect(revoked)
        app.on_partitions_assigned.connect(assigned)
        if processor.tick_seconds is not None:
            app.timer(interval=processor.tick_seconds, name=f"{processor.name}_tick")(tick)


class _LazyEmitter:
    """The output producer, created on first use (inside the worker's event loop)."""

    def __init__(self, outputs: Callable[[], Outputs]) -> None:
        self._outputs = outputs

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int = -1,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        self._outputs().send(topic, key, value, partition, headers)
