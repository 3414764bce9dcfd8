"""Stages by name, and the topics their processors declare (what a worker creates at start).

A *stage* is what ``--stages`` names: a name, whether a plain ``civicpulse stream worker`` runs
it, and a factory from the worker's ``StreamConfig`` to the processors it runs ("scores" is the
scoring hop and the scores processor). The built-in stages register in
``civicpulse.stream.stages.builtin``; this module only keeps them in order and answers for them
and imports no stage (``app``, the composition, reads the built-in registry).

The topics a worker needs are the ones its processors declare: each ``source`` and each of its
``outputs`` (``Processor.outputs``), with the catalogue's partitions and config for a
``TopicSpec`` and ``<app id>-<name>`` for an ``Internal`` topic. ``worker_topics`` adds what the
framework itself reads and writes (the device catalogue, dead letters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from civicpulse.schemas.topics import CATALOGUE_DEVICES, DEADLETTER, TopicSpec
from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.framework.processors import Internal, Processor

__all__ = [
    "FRAMEWORK_TOPICS",
    "Stage",
    "StageRegistry",
    "WorkerTopics",
    "declared_topics",
    "worker_topics",
]

#: what every worker reads (the device catalogue) and writes (dead letters), whatever it runs
FRAMEWORK_TOPICS: tuple[TopicSpec, ...] = (CATALOGUE_DEVICES, DEADLETTER)


class ChoosesStages(Protocol):
    """What the registry needs of a worker's config: the names of the stages it runs."""

    @property
    def stages(self) -> frozenset[str]: ...


#: the worker's config the stages are built from (``stream.app.StreamConfig``); a type variable so
#: that the framework imports nothing of the composition above it
C = TypeVar("C", bound=ChoosesStages)


@dataclass(frozen=True)
class Stage(Generic[C]):
    """One ``--stages`` name and the processors it runs, built from the worker's config."""

    name: str
    build: Callable[[C], Sequence[Processor[Any]]]
    #: run by ``civicpulse stream worker`` without ``--stages``
    default: bool
    #: one line for ``--help`` and docs
    summary: str


class StageRegistry(Generic[C]):
    """Stages in registration order (the order the runner declares their processors)."""

    def __init__(self, stages: Iterable[Stage[C]] = ()) -> None:
        self._stages: dict[str, Stage[C]] = {}
        for stage in stages:
            self.register(stage)

    def register(self, stage: Stage[C]) -> Stage[C]:
        if stage.name in self._stages:
            raise StreamError(f"stage {stage.name!r} is registered twice")
        self._stages[stage.name] = stage
        return stage

    def stages(self) -> tuple[Stage[C], ...]:
        return tuple(self._stages.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._stages)

    def defaults(self) -> frozenset[str]:
        return frozenset(name for name, stage in self._stages.items() if stage.default)

    def choose(self, names: Iterable[str]) -> list[Stage[C]]:
        """The named stages in registration order; an unknown name is a StreamError."""
        wanted = set(names)
        unknown = sorted(wanted - self._stages.keys())
        if unknown:
            raise StreamError(
                f"unknown stage(s) {', '.join(unknown)}: choose among {', '.join(self.names())}"
            )
        return [stage for name, stage in self._stages.items() if name in wanted]

    def processors(self, config: C) -> list[Processor[Any]]:
        """The processors of ``config.stages``, stage by stage in registration order."""
        return [
            processor for stage in self.choose(config.stages) for processor in stage.build(config)
        ]


def declared_topics(processors: Iterable[Processor[Any]]) -> tuple[TopicSpec | Internal, ...]:
    """Every topic the processors read or write, once each, in the order first declared."""
    found: dict[str, TopicSpec | Internal] = {}
    for processor in processors:
        for topic in (processor.source, *processor.outputs):
            key = f"internal:{topic.name}" if isinstance(topic, Internal) else topic.name
            found.setdefault(key, topic)
    return tuple(found.values())


@dataclass(frozen=True)
class WorkerTopics:
    """The topics a worker creates (or finds) before it starts."""

    #: catalogue topics (``schemas.topics``): the prefix and the catalogue's partitions/config
    catalogue: tuple[TopicSpec, ...]
    #: the app's own topics: ``<app id>-<name>``
    internal: tuple[Internal, ...]

    def internal_partitions(self, app_id: str) -> dict[str, int]:
        """Physical name -> partitions of the internal topics of the app ``app_id``."""
        return {topic.physical_name(app_id): topic.partitions for topic in self.internal}


def worker_topics(processors: Iterable[Processor[Any]]) -> WorkerTopics:
    """What a worker running ``processors`` needs: what they declare and what the framework
    itself reads and writes (``FRAMEWORK_TOPICS``)."""
    declared = declared_topics(processors)
    catalogue = [topic for topic in declared if isinstance(topic, TopicSpec)]
    names = {spec.name for spec in catalogue}
    catalogue += [spec for spec in FRAMEWORK_TOPICS if spec.name not in names]
    internal = tuple(topic for topic in declared if isinstance(topic, Internal))
    return WorkerTopics(tuple(catalogue), internal)
