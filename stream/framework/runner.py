"""The one runner of processors over Faust: offsets, order, checkpoints, failures (see
``stream.framework.processors`` for what a processor declares).

For each processor the runner declares its source topic and table and runs one agent
(``ProcessorAgent``) whose batches go, per source partition, through the reading-order guard
(``ordering.InOrder``: a hole is held back unacknowledged and the partition sought back to it),
the processed-offset skip (a record at or below the partition's stored processed offset was
fully handled before a restart), ``decode`` (a record that does not decode is dead-lettered)
and ``process``. Then the batch's ``Checkpoint`` commits (outputs acknowledged, then the state
with the processed offsets) and only then does the agent's batch get acknowledged. The agent
body runs inside ``failfast.run_guarded``: an exception ends the worker, a message that fails
every time is dead-lettered. A processor with ``tick_seconds`` gets a timer, serialised with
its batches, that runs only while the worker holds one of its source partitions; each tick is
committed by a checkpoint of its own.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from civicpulse.infra.topics import min_insync_replicas
from civicpulse.schemas.events import DeadLetter
from civicpulse.schemas.topics import DEADLETTER, TopicSpec
from civicpulse.stream.catalogue.index import CatalogueIndex
from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.framework import metrics
from civicpulse.stream.framework.checkpoint import Checkpoint
from civicpulse.stream.framework.failfast import FailureLedger, die, run_guarded
from civicpulse.stream.framework.faust_repairs import (
    changelog_record,
    held_partitions,
    table_data,
    withhold_ack,
)
from civicpulse.stream.framework.ordering import InOrder
from civicpulse.stream.framework.outputs import Outputs
from civicpulse.stream.framework.processors import (
    Batch,
    Context,
    Internal,
    Processor,
    Record,
    Tick,
    UndecodableError,
)
from civicpulse.stream.framework.transaction import PartitionState
from civicpulse.stream.framework.watchdog import Backlog, GroupOffsets

__all__ = ["ProcessorAgent", "Runner", "changelog_config", "record_of", "split_held"]

log = logging.getLogger("civicpulse.stream")


def changelog_config(replication_factor: int | None) -> dict[str, str]:
    """Topic config of a table's changelog, which Faust creates: with the worker's replication
    factor, the min.insync.replicas every topic of that factor gets (``infra.topics``)."""
    if replication_factor is None:
        return {}
    return {"min.insync.replicas": str(min_insync_replicas(replication_factor))}


def split_held(events: list[Any], held: set[int]) -> tuple[list[Any], list[Any]]:
    """(events of the ``held`` partitions, the others), each in the order given."""
    kept = [event for event in events if event.message.partition in held]
    return kept, [event for event in events if event.message.partition not in held]


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
        #: logical names of the topics ``_ensure_topics`` made sure of
        self._ensured: set[str] = set()

    def context(self) -> Context:
        return Context(
            prefix=self.config.prefix,
            app_id=self.config.app_id,
            catalogue=self.catalogue,
            backlog=self._backlog,
            ensure_topics=self._ensure_topics,
        )

    async def _backlog(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], Backlog]:
        return await asyncio.get_running_loop().run_in_executor(None, self.offsets.read, partitions)

    async def _ensure_topics(self, specs: list[TopicSpec]) -> None:
        from civicpulse.infra.topics import ensure_topics

        missing = {spec.name: spec for spec in specs if spec.name not in self._ensured}
        if not missing:
            return
        # A blocking AdminClient call: never on the event loop.
        create = functools.partial(
            ensure_topics,
            self.config.bootstrap,
            list(missing.values()),
            self.config.prefix,
            replication_factor=self.config.replication_factor,
        )
        await asyncio.get_running_loop().run_in_executor(None, create)
        self._ensured.update(missing)

    def add(self, processor: Processor[Any]) -> None:
        """Declare the processor's topic and table and run it as an agent."""
        agent = ProcessorAgent(self, processor)
        self.sources.add(agent.source_name)
        agent.install()


class ProcessorAgent:
    """One processor's Faust agent, timer and partition handlers (see module doc)."""

    def __init__(self, runner: Runner, processor: Processor[Any]) -> None:
        self.runner, self.processor, self.app = runner, processor, runner.app
        self.source = self._declare_source()
        self.source_name: str = self.source.get_topic_name()
        self.table = self._declare_table()
        self.context = runner.context()
        self.order = InOrder()
        self.lock = asyncio.Lock()
        self.started = asyncio.Event()
        self._states: dict[int, PartitionState] = {}
        self._sought: dict[int, tuple[int, float]] = {}

    def _declare_source(self) -> Any:
        spec, config = self.processor.source, self.runner.config
        if isinstance(spec, Internal):
            return self.app.topic(
                spec.physical_name(config.app_id),
                partitions=spec.partitions,
                internal=True,
                key_serializer="raw",
                value_serializer="raw",
            )
        return self.app.topic(config.topic(spec), key_serializer="raw", value_serializer="raw")

    def _declare_table(self) -> Any:
        state = self.processor.state
        if state is None:
            return None
        if state.partitions != self.processor.source.partitions:
            raise StreamError(
                f"processor {self.processor.name}: its table must have as many partitions as "
                f"its source ({self.processor.source.partitions}), not {state.partitions}"
            )
        return self.app.Table(
            state.table,
            partitions=state.partitions,
            key_type=str,
            extra_topic_configs=changelog_config(self.runner.config.replication_factor),
        )

    def install(self) -> None:
        self.app.agent(self.source, name=self.processor.name)(self.run)
        self.app.on_partitions_revoked.connect(self.revoked)
        self.app.on_partitions_assigned.connect(self.assigned)
        if self.processor.tick_seconds is not None:
            timer = self.app.timer(
                interval=self.processor.tick_seconds, name=f"{self.processor.name}_tick"
            )
            timer(self.tick)

    # -- state ----------------------------------------------------------------------------------

    def partition_state(self, partition: int) -> PartitionState:
        """The table's partition, opened on first use after the worker got it."""
        found = self._states.get(partition)
        if found is None:
            topic: str = self.table.changelog_topic.get_topic_name()
            outputs = self.runner.outputs

            def send(key: str, value: Any) -> None:
                outputs().send(topic, *changelog_record(key, value), partition)

            found = PartitionState(table_data(self.table), partition, send)
            self._states[partition] = found
        return found

    def checkpoint(self) -> Checkpoint:
        states = self.partition_state if self.table is not None else None
        return Checkpoint(self.runner.outputs, states, self.processor.name)

    # -- batches --------------------------------------------------------------------------------

    async def run(self, stream: Any) -> None:
        await self.runner.ready.wait()
        await self.processor.start(self.context)
        self.started.set()
        runner = self.runner
        await run_guarded(
            self.processor.name,
            stream,
            runner.config,
            runner.ledger,
            self.batch,
            self.dead_event,
            within=self.processor.batch_within,
        )

    async def batch(self, events: list[Any]) -> None:
        started = time.perf_counter()
        async with self.lock:
            events = self.held_events(events)
            by_partition: dict[int, list[Any]] = {}
            for event in events:
                by_partition.setdefault(event.message.partition, []).append(event)
            unknown = [p for p in by_partition if not self.order.knows(p)]
            if unknown:
                await self.start_partitions(unknown)
            checkpoint = self.checkpoint()
            holes = [
                partition
                for partition, part in by_partition.items()
                if await self.partition_batch(checkpoint, partition, part)
            ]
            await checkpoint.commit()
            for partition in sorted(holes):
                await self.seek_back(partition)
            self.observe_state()
        metrics.BATCH_SECONDS.labels(self.processor.name).observe(time.perf_counter() - started)

    def held_events(self, events: list[Any]) -> list[Any]:
        """The events of partitions the worker holds; the others (left in Faust's batch buffer
        over a rebalance, ``faust_repairs.REBALANCE_SETTINGS``) are dropped unacknowledged."""
        kept, dropped = split_held(events, held_partitions(self.app, self.source_name))
        for event in dropped:
            withhold_ack(event)
        if dropped:
            log.info("%s: %d events of partitions no longer held dropped (their owner re-reads "
                     "them)", self.processor.name, len(dropped))  # fmt: skip
        return kept

    def observe_state(self) -> None:
        state = self.processor.state
        if self.table is not None and state is not None:
            metrics.STATE_KEYS.labels(state.table).set(len(table_data(self.table)))

    async def partition_batch(
        self, checkpoint: Checkpoint, partition: int, part: list[Any]
    ) -> bool:
        """Process one partition's events; True if a hole held some back."""
        processed = None if self.table is None else self.partition_state(partition).processed_offset
        admitted: list[tuple[Record, Any]] = []
        outcomes = {"held_back": 0, "skipped": 0, "undecodable": 0}
        for event in part:
            offset = event.message.offset
            if self.order.admit(partition, offset) == "hole":
                withhold_ack(event)
                outcomes["held_back"] += 1
                continue
            if processed is not None and offset <= processed:
                outcomes["skipped"] += 1
                continue  # handled before a restart: outputs flushed, state stored
            record = record_of(event.message)
            checkpoint.processed(partition, offset)
            try:
                admitted.append((record, self.processor.decode(record)))
            except UndecodableError as exc:
                outcomes["undecodable"] += 1
                self.dead(record, str(exc))
        self.count_in(outcomes, len(admitted))
        hole = outcomes["held_back"] > 0
        if admitted:
            state = None if self.table is None else checkpoint.transaction(partition)
            batch = Batch(partition, admitted, self.context, self.dead, checkpoint, state)
            await self.processor.process(batch)
        return hole

    def count_in(self, outcomes: dict[str, int], processed: int) -> None:
        name = self.processor.name
        for outcome, n in [*outcomes.items(), ("processed", processed)]:
            if n:
                metrics.RECORDS_IN.labels(name, outcome).inc(n)

    def dead(self, record: Record, error: str) -> None:
        letter = DeadLetter.of(
            record.value,
            error,
            f"stream.{self.processor.name}",
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
        )
        topic = self.runner.config.topic(DEADLETTER)
        self.runner.outputs().send(topic, record.key, letter.model_dump_json().encode())
        metrics.DEAD_LETTERS.labels(self.processor.name).inc()

    def dead_event(self, event: Any, error: str, _stage: str) -> None:
        self.dead(record_of(event.message), error)

    # -- offsets --------------------------------------------------------------------------------

    async def start_partitions(self, partitions: list[int]) -> None:
        loop = asyncio.get_running_loop()
        wanted = [(self.source_name, p) for p in partitions]
        while True:
            try:
                backlog = await loop.run_in_executor(None, self.runner.offsets.read, wanted)
                break
            except Exception as exc:  # the broker may be away: nothing can move meanwhile
                log.warning(
                    "cannot read the committed offsets of %s: %s; retrying", self.source_name, exc
                )
                await asyncio.sleep(1.0)
        for (_topic, partition), held in backlog.items():
            self.order.start(partition, held.committed)
            log.info(
                "%s[%d]: %s from offset %d",
                self.source_name,
                partition,
                self.processor.verb,
                held.committed,
            )

    async def seek_back(self, partition: int) -> None:
        # One seek per hole: the events already buffered behind it are held back too, and the
        # seek re-reads them all. Another seek only if the partition has not moved for a while.
        from faust.types import TP

        if partition not in held_partitions(self.app, self.source_name):
            # Taken away by a rebalance while the batch ran (the cluster round saw aiokafka's
            # IllegalStateError end a worker here): its new owner reads from the commit.
            log.info("%s[%d]: no longer held; not sought back", self.source_name, partition)
            return
        if not self.order.knows(partition):
            # Given back to this worker by a rebalance while the batch ran (the cluster benchmark
            # saw a KeyError end a worker here): ``assigned`` forgot its position, and Faust
            # seeks every assigned partition back to its committed offset itself.
            log.info("%s[%d]: reassigned; read again from the commit", self.source_name, partition)
            return
        offset = self.order.next_offset(partition)
        last = self._sought.get(partition)
        if last is not None and last[0] == offset and time.monotonic() - last[1] < 5.0:
            return
        self._sought[partition] = (offset, time.monotonic())
        log.warning(
            "%s[%d]: out of order delivery; seeking back to %d", self.source_name, partition, offset
        )
        await self.app.consumer.seek(TP(self.source_name, partition), offset)

    # -- timer and rebalances -------------------------------------------------------------------

    async def tick(self) -> None:
        try:
            held = any(tp.topic == self.source_name for tp in self.app.consumer.assignment())
            if not self.started.is_set() or not held:
                self.processor.release()  # not ours (any more): rebuild from the table when it is
                return
            if self.app.rebalancing or self.app.in_recovery:
                return  # the table is being recovered: its state is not readable yet
            async with self.lock:
                checkpoint = self.checkpoint()
                await self.processor.tick(Tick(self.context, checkpoint))
                await checkpoint.commit()
                self.observe_state()
        except Exception as exc:
            die(f"{self.processor.name} tick", exc)

    async def revoked(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        # The batch in progress commits first (Faust's own wait for it is off: faust_repairs).
        async with self.lock:
            self.processor.release()
            self._states.clear()  # re-read from the table (recovered again) when it comes back
            self.order.forget()  # Faust seeks every partition back to its committed offset

    async def assigned(self, sender: Any, /, *args: Any, **kwargs: Any) -> None:
        self._states.clear()
        self.order.forget()
