"""The processor API: a stream stage declares its topics and state and handles typed batches.

A processor is one class. It declares

* ``name``: the Faust agent's name (also the stage in dead letters: ``stream.<name>``);
* ``source``: the topic it reads (a ``TopicSpec`` of ``schemas.topics``, or an ``Internal`` topic
  of the app);
* ``outputs``: the topics it writes (documentation and the worker's topic creation);
* ``state``: the table it keeps, if any (``State``: name and partitions, as many as the source:
  the table is co-partitioned with it and the runner hands each source partition the state of
  the same partition);

and implements ``process(batch)`` over the events of one source partition, in offset order.
``decode`` turns a record into the processor's event type (``TypedProcessor`` validates a
pydantic model; a record that does not decode is dead-lettered by the runner).

``batch.state`` (and ``tick.state(partition)``) is that partition's ``Transaction``
(``stream.framework.transaction``): ``get`` reads its own writes, ``set``/``delete`` stage,
``keys()`` lists this partition's keys, ``processed_offset`` is the last source offset whose
effects are stored. Outputs go through ``batch.emit`` (``tick.emit``). Nothing is written
during ``process``: the runner's ``Checkpoint`` (``stream.framework.checkpoint``) flushes the
outputs, then writes the state with the processed offset, then acknowledges the inputs; records
at or below the stored processed offset are never handed to ``process`` again, so no processor
tracks its own re-delivery.

The runner (``stream.framework.runner``) owns everything else, identically for every processor:
the reading-order guard (a hole in the offsets is held back and re-read, never skipped), the
checkpoint, the failure ledger and fail-fast exit, timers and partition revocation.
``docs/processors.md`` walks through an example (``stream.stages.reasons.processor``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from civicpulse.schemas.topics import TopicSpec, topic_name
from civicpulse.schemas.validation import describe_validation_error
from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.framework.transaction import StateStore, Transaction

if TYPE_CHECKING:
    from civicpulse.stream.catalogue.index import CatalogueIndex
    from civicpulse.stream.framework.checkpoint import Checkpoint
    from civicpulse.stream.framework.watchdog import Backlog

__all__ = [
    "Batch",
    "Context",
    "Internal",
    "Processor",
    "RawProcessor",
    "Record",
    "State",
    "StateStore",
    "Tick",
    "Transaction",
    "TypedProcessor",
    "UndecodableError",
]

E = TypeVar("E")
M = TypeVar("M", bound=BaseModel)

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Internal:
    """A topic of the app itself, named ``<app id>-<name>`` (e.g. the scoring hop's topic)."""

    name: str
    partitions: int

    def physical_name(self, app_id: str) -> str:
        """The topic's name in the broker, for the app (consumer group) ``app_id``."""
        return f"{app_id}-{self.name}"


@dataclass(frozen=True)
class State:
    """The table a processor keeps: its name and partitions."""

    table: str
    partitions: int


@dataclass(frozen=True, slots=True)
class Record:
    """One input message as the processor sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)


class UndecodableError(StreamError):
    """``decode`` refuses a record: the runner dead-letters it with this message."""


@dataclass
class Context:
    """What a started processor may use: topic names, the catalogue and two services."""

    prefix: str
    app_id: str
    catalogue: Callable[[], CatalogueIndex]
    #: the worker group's committed offset and log end (``pending``: the backlog) of the given
    #: (topic, partition)s, committed offsets read first, off the event loop; raises when the
    #: broker does not answer
    backlog: (
        Callable[[list[tuple[str, int]]], Awaitable[Mapping[tuple[str, int], Backlog]]] | None
    ) = None
    #: creates those of the given topics that do not exist yet, with the worker's replication,
    #: off the event loop: for a stage whose topics are named at run time (the scores stage's
    #: ``alerts.<department_id>``); the names are logical, the prefix is the worker's
    ensure_topics: Callable[[list[TopicSpec]], Awaitable[None]] | None = None

    def topic(self, spec: TopicSpec | Internal | str) -> str:
        """The physical name of a topic of the catalogue, or of an internal topic."""
        if isinstance(spec, Internal):
            return spec.physical_name(self.app_id)
        return topic_name(spec, self.prefix)


@dataclass
class Tick:
    """One timer call: where its outputs and state go (committed by the runner afterwards)."""

    context: Context
    checkpoint: Checkpoint

    def emit(
        self,
        topic: TopicSpec | Internal | str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
    ) -> None:
        self.checkpoint.send(self.context.topic(topic), key, value, headers=headers)

    def state(self, partition: int) -> Transaction:
        """The state transaction of a source partition the worker holds."""
        return self.checkpoint.transaction(partition)


@dataclass
class Batch(Generic[E]):
    """The events of one source partition, in offset order, and where their effects go."""

    partition: int
    events: list[tuple[Record, E]]
    context: Context
    dead_letter: Callable[[Record, str], None]
    checkpoint: Checkpoint
    #: the processor's state for this partition (a transaction), else None
    state: Transaction | None = None
    sent: int = field(default=0)

    def emit(
        self,
        topic: TopicSpec | Internal | str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
    ) -> None:
        """One output to ``topic`` (a catalogue topic, an internal one or a *logical* name)."""
        self.checkpoint.send(self.context.topic(topic), key, value, headers=headers)
        self.sent += 1


class Processor(ABC, Generic[E]):
    """A stream stage (see the module doc); subclasses set the class attributes below."""

    name: ClassVar[str]
    source: ClassVar[TopicSpec | Internal]
    outputs: ClassVar[tuple[TopicSpec | Internal, ...]] = ()
    state: ClassVar[State | None] = None
    #: what the processor does to a record, for the runner's log ("judging from offset 7")
    verb: ClassVar[str] = "processing"
    #: seconds between ``tick`` calls while the worker holds a source partition (None: no timer)
    tick_seconds: float | None = None
    #: seconds a batch waits to fill (None: the worker's ``StreamConfig.batch_within``); Faust
    #: waits this long whenever fewer than a batch's events are buffered, so each stage a press
    #: passes through adds up to this much latency
    batch_within: ClassVar[float | None] = None

    context: Context

    async def start(self, context: Context) -> None:
        """Called once, after the catalogue was read, before the first batch."""
        self.context = context

    @abstractmethod
    def decode(self, record: Record) -> E:
        """The event of a record; raise ``UndecodableError`` to dead-letter it."""

    @abstractmethod
    async def process(self, batch: Batch[E]) -> None:
        """Handle one partition's events: emit outputs, stage state in ``batch.state``."""

    async def tick(self, tick: Tick) -> None:
        """Timer work (every ``tick_seconds``), serialised with ``process``."""

    def release(self) -> None:
        """Partitions were revoked: drop what was loaded from the table."""


class TypedProcessor(Processor[M]):
    """A processor over a pydantic event type: records that do not validate are dead-lettered."""

    event_type: ClassVar[type[BaseModel]]

    def decode(self, record: Record) -> M:
        try:
            return self.event_type.model_validate_json(record.value)  # type: ignore[return-value]
        except ValidationError as exc:
            reason = describe_validation_error(exc, self.event_type.__name__)
            raise UndecodableError(reason) from None


class RawProcessor(Processor[Record]):
    """A processor that parses its records itself (its own dead-letter reasons)."""

    def decode(self, record: Record) -> Record:
        return record
