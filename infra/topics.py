"""Create the catalogue's topics with the AdminClient, idempotently.

Replication factor: by default none is sent (``-1``, KIP-464), so the cluster's own
``default.replication.factor`` applies: 1 on the launcher's single broker, whatever the operators
chose on a real cluster. Pass ``replication_factor`` to override.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from civicpulse.infra.exceptions import TopicAdminError
from civicpulse.schemas.topics import TOPICS, TopicSpec, alerts_topic, topic_name

__all__ = [
    "TopicReport",
    "create_topics",
    "ensure_alert_topics",
    "ensure_topics",
    "list_topics",
    "merge_reports",
    "named_topic_kwargs",
    "new_topic_kwargs",
    "validate_topic_name",
]

_LEGAL = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


@dataclass(frozen=True)
class TopicReport:
    """What a create call found: topics it created, topics that already existed."""

    created: tuple[str, ...]
    existing: tuple[str, ...]
    #: existing topics with fewer partitions than the catalogue asks for (not changed: adding
    #: partitions moves keys to other partitions and breaks per-device order)
    fewer_partitions: tuple[str, ...] = ()


def validate_topic_name(name: str) -> str:
    """``name`` if Kafka accepts it as a topic name, else TopicAdminError saying why."""
    if name in {".", ".."} or not _LEGAL.fullmatch(name):
        raise TopicAdminError(
            f"{name!r} is not a legal Kafka topic name: use 1-249 characters of "
            "A-Z a-z 0-9 . _ - (check the topic prefix and the department ids)."
        )
    return name


def new_topic_kwargs(
    spec: TopicSpec, prefix: str = "", replication_factor: int | None = None
) -> dict[str, Any]:
    """The keyword arguments of ``confluent_kafka.admin.NewTopic`` for one catalogue entry."""
    config = dict(spec.config)
    if spec.compacted:
        config.setdefault("cleanup.policy", "compact")
    kwargs = named_topic_kwargs(topic_name(spec, prefix), spec.partitions, replication_factor)
    return {**kwargs, "config": config}


def named_topic_kwargs(
    name: str, partitions: int, replication_factor: int | None = None
) -> dict[str, Any]:
    """``NewTopic`` keyword arguments of a topic outside the catalogue (physical name)."""
    return {
        "topic": validate_topic_name(name),
        "num_partitions": partitions,
        "replication_factor": -1 if replication_factor is None else replication_factor,
        "config": {},
    }


def _admin(bootstrap: str) -> Any:
    from civicpulse.infra.kafka_clients import admin

    return admin(bootstrap, "topics")


def list_topics(bootstrap: str, prefix: str = "", timeout: float = 10.0) -> dict[str, int]:
    """Topic name -> partition count of every non-internal topic starting with ``prefix``."""
    try:
        metadata = _admin(bootstrap).list_topics(timeout=timeout)
    except Exception as exc:
        raise TopicAdminError(
            f"Cannot list topics of {bootstrap}: {exc}. Is the broker running "
            "(`civicpulse kafka status`)?"
        ) from exc
    return {
        name: len(topic.partitions)
        for name, topic in sorted(metadata.topics.items())
        if name.startswith(prefix) and not name.startswith("__")
    }


def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec],
    prefix: str = "",
    *,
    named: Mapping[str, int] | None = None,
    replication_factor: int | None = None,
    timeout: float = 30.0,
) -> TopicReport:
    """Create each of ``specs`` that does not exist yet; waits until the new ones are visible.

    ``named`` maps more topics, by physical name, to their partitions (no prefix, no config: a
    stream app's internal topics, ``<app id>-<name>``).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    wanted = [new_topic_kwargs(spec, prefix, replication_factor) for spec in specs]
    wanted += [
        named_topic_kwargs(name, partitions, replication_factor)
        for name, partitions in (named or {}).items()
    ]
    if not wanted:
        return TopicReport((), ())
    admin = _admin(bootstrap)
    futures = admin.create_topics(
        [NewTopic(**kwargs) for kwargs in wanted],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created: list[str] = []
    existing: list[str] = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                existing.append(name)
                continue
            raise TopicAdminError(f"Creating topic {name} on {bootstrap} failed: {exc}") from exc
        created.append(name)
    partitions = _wait_visible(admin, [kw["topic"] for kw in wanted], timeout)
    expected = {kw["topic"]: kw["num_partitions"] for kw in wanted}
    fewer = [name for name in existing if partitions.get(name, 0) < expected[name]]
    return TopicReport(tuple(sorted(created)), tuple(sorted(existing)), tuple(sorted(fewer)))


def _wait_visible(admin: Any, names: Iterable[str], timeout: float) -> dict[str, int]:
    # CreateTopics returns once the controller accepted the topics; the broker's metadata cache
    # follows a moment later. Producers started right after would log UNKNOWN_TOPIC errors.
    pending = set(names)
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(timeout=timeout)
        partitions = {n: len(t.partitions) for n, t in metadata.topics.items() if t.error is None}
        if pending <= partitions.keys() or time.monotonic() > deadline:
            missing = pending - partitions.keys()
            if missing:
                raise TopicAdminError(
                    f"Topics {sorted(missing)} were created but are not visible after "
                    f"{timeout:.0f}s; check the broker's log (`civicpulse kafka logs`)."
                )
            return partitions
        time.sleep(0.2)


def create_topics(
    bootstrap: str,
    prefix: str = "",
    *,
    replication_factor: int | None = None,
    timeout: float = 30.0,
    extra: Sequence[TopicSpec] = (),
) -> TopicReport:
    """Create every topic of the catalogue (``schemas.topics.TOPICS``) under ``prefix``, and
    ``extra`` ones (``civicpulse topics create`` passes the stream stages' declared topics)."""
    specs = {spec.name: spec for spec in (*TOPICS, *extra)}
    return ensure_topics(
        bootstrap,
        list(specs.values()),
        prefix,
        replication_factor=replication_factor,
        timeout=timeout,
    )


def merge_reports(*reports: TopicReport) -> TopicReport:
    """One report of several create calls."""
    return TopicReport(
        tuple(name for report in reports for name in report.created),
        tuple(name for report in reports for name in report.existing),
        tuple(name for report in reports for name in report.fewer_partitions),
    )


def ensure_alert_topics(
    bootstrap: str,
    department_ids: Iterable[str],
    prefix: str = "",
    *,
    replication_factor: int | None = None,
    timeout: float = 30.0,
) -> TopicReport:
    """Create ``<prefix>alerts.<department_id>`` for each department that has none yet."""
    specs = [alerts_topic(department_id) for department_id in sorted(set(department_ids))]
    return ensure_topics(
        bootstrap, specs, prefix, replication_factor=replication_factor, timeout=timeout
    )
