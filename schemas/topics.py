"""The topic catalogue: every topic's name, partitioning, retention, key and value type.

A topic's value type is written here only, as the pydantic model its values satisfy: the AsyncAPI
document and JSON Schemas (``schemas.asyncapi``) and the sink's routes (``sink.rows``) read it
from the topic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import (
    AlertAction,
    AlertEvent,
    DeadLetter,
    JudgedPress,
    PressEvent,
    ReasonCount,
    ScoreEvent,
)

__all__ = [
    "ALERTS_ACTIONS",
    "ALERTS_ALL",
    "REASONS",
    "TOPICS",
    "TopicSpec",
    "alert_topic_name",
    "alerts_topic",
    "topic_name",
    "value_models",
]


@dataclass(frozen=True)
class TopicSpec:
    """One topic as the pipeline uses it; ``name`` is logical (``topic_name`` adds the prefix).

    ``value`` is the model every value satisfies, or None for bytes outside the published
    contract (benchmark and test-harness topics). ``value_alias`` names the value type in the
    contract when the model's class name is not that name.
    """

    name: str
    partitions: int
    key: str
    value: type[BaseModel] | None
    description: str
    compacted: bool = False
    config: dict[str, str] = field(default_factory=dict)
    value_alias: str = ""

    @property
    def value_name(self) -> str:
        """The value type's name in the contract (JSON Schema title, AsyncAPI message name)."""
        if self.value is None:
            return "bytes"
        return self.value_alias or self.value.__name__


PRESSES_RAW = TopicSpec(
    "presses.raw", 6, "device_id", PressEvent, "Every press as sent by terminals and widgets."
)
PRESSES_ACCEPTED = TopicSpec(
    "presses.accepted",
    6,
    "device_id",
    JudgedPress,
    "Counted presses, enriched with site, department and question.",
)
PRESSES_REJECTED = TopicSpec(
    "presses.rejected",
    6,
    "device_id",
    JudgedPress,
    "Presses that are not honest feedback, with the anti-spam verdict.",
)
SCORES = TopicSpec("scores", 6, "scope:scope_id", ScoreEvent, "Closed-window satisfaction scores.")
REASONS = TopicSpec(
    "reasons",
    6,
    "department_id",
    ReasonCount,
    "Follow-up reasons of counted presses per department and hour (running counts).",
)
ALERTS_ALL = TopicSpec(
    "alerts.all", 3, "scope:scope_id", AlertEvent, "Every alert event of every department."
)
ALERTS_ACTIONS = TopicSpec(
    "alerts.actions",
    3,
    "alert_id",
    AlertAction,
    "What people did with alerts: acknowledge, comment, close (by token name).",
)
DEADLETTER = TopicSpec(
    "deadletter", 1, "source topic", DeadLetter, "Malformed input with the reason it was refused."
)
CATALOGUE_DEVICES = TopicSpec(
    "catalogue.devices",
    1,
    "entity kind:id",
    Catalogue,
    "The device catalogue: latest record per key wins (compacted).",
    compacted=True,
    config={"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
    value_alias="CatalogueRecord",
)

TOPICS: tuple[TopicSpec, ...] = (
    PRESSES_RAW,
    PRESSES_ACCEPTED,
    PRESSES_REJECTED,
    SCORES,
    REASONS,
    ALERTS_ALL,
    ALERTS_ACTIONS,
    DEADLETTER,
    CATALOGUE_DEVICES,
)

ALERTS_PER_DEPARTMENT_PARTITIONS = 1


def topic_name(spec: TopicSpec | str, prefix: str = "") -> str:
    """The physical name of a topic: ``prefix`` + logical name."""
    logical = spec.name if isinstance(spec, TopicSpec) else spec
    return f"{prefix}{logical}"


def alert_topic_name(department_id: str | None, prefix: str = "") -> str:
    """The physical alert topic of one department, ``<prefix>alerts.<department_id>``, or
    ``<prefix>alerts.all`` (every department) when ``department_id`` is None.

    The one place that spells the per-department name: the stream writes it, the topic
    administration creates it, the API and ``civicpulse alerts watch`` follow it.
    """
    logical = ALERTS_ALL.name if department_id is None else f"alerts.{department_id}"
    return topic_name(logical, prefix)


def alerts_topic(department_id: str, prefix: str = "") -> TopicSpec:
    """The alert topic of one department (``alerts.<department_id>``)."""
    return TopicSpec(
        alert_topic_name(department_id, prefix),
        ALERTS_PER_DEPARTMENT_PARTITIONS,
        "scope:scope_id",
        AlertEvent,
        f"Alert events of department {department_id}.",
    )


def value_models(specs: Iterable[TopicSpec] = TOPICS) -> dict[str, type[BaseModel]]:
    """Every value type the topics carry, by contract name, in catalogue order.

    A type several topics carry is listed once; one name for two different models is refused, so
    the contract cannot publish two schemas under one title.
    """
    models: dict[str, type[BaseModel]] = {}
    for spec in specs:
        if spec.value is None:
            continue
        known = models.setdefault(spec.value_name, spec.value)
        if known is not spec.value:
            raise ValueError(
                f"value type {spec.value_name!r} of {spec.name} is {spec.value.__name__}, "
                f"another topic's is {known.__name__}"
            )
    return models
