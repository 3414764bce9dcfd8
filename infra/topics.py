"""Create the catalogue's topics with the AdminClient, idempotently.

Replication factor: ``replication_factor`` when given, else the setting
``CIVICPULSE_TOPIC_REPLICATION_FACTOR`` (one setting for every creator: ``topics create``, a
worker's own topics, the alert topics made at run time); a topic created with an explicit factor
also gets ``min.insync.replicas`` (``min_insync_replicas``: 2 of 3) and a factor above the brokers
the cluster has fails before anything is created. With neither, no factor is sent (``-1``,
KIP-464) and the cluster's own defaults apply: 1 on the launcher's single broker, 3 with
``min.insync.replicas=2`` on its local cluster of three, whatever the operators chose elsewhere.
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
    "cluster_replication_factor",
    "create_topics",
    "ensure_alert_topics",
    "ensure_topics",
    "list_topics",
    "merge_reports",
    "min_insync_replicas",
    "named_topic_kwargs",
    "new_topic_kwargs",
    "validate_topic_name",
]

_LEGAL = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def min_insync_replicas(replication_factor: int) -> int:
    """The ``min.insync.replicas`` civicpulse gives a topic of ``replication_factor`` replicas: a
    majority from 3 on (3 -> 2: one node may be down without refusing or losing an acknowledged
    write), 1 below (with 2 of 2, one node down would refuse every write)."""
    if replication_factor < 1:
        raise ValueError(f"a replication factor is at least 1, not {replication_factor}")
    return 1 if replication_factor < 3 else replication_factor // 2 + 1


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
    kwargs = named_topic_kwargs(topic_name(spec, prefix), spec.partitions, replication_factor)
    config = {**kwargs["config"], **spec.config}
    if spec.compacted:
        config.setdefault("cleanup.policy", "compact")
    return {**kwargs, "config": config}


def named_topic_kwargs(
    name: str, partitions: int, replication_factor: int | None = None
) -> dict[str, Any]:
    """``NewTopic`` keyword arguments of a topic outside the catalogue (physical name)."""
    config = {}
    if replication_factor is not None:
        config["min.insync.replicas"] = str(min_insync_replicas(replication_factor))
    return {
        "topic": validate_topic_name(name),
        "num_partitions": partitions,
        "replication_factor": -1 if replication_factor is None else replication_factor,
        "config": config,
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
    stream app's internal topics, ``<app id>-<name>``). ``replication_factor`` None: the
    setting, else the cluster's default (module doc).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    if replication_factor is None:
        from civicpulse.schemas.settings import get_settings

        replication_factor = get_settings().topic_replication_factor
    wanted = [new_topic_kwargs(spec, prefix, replication_factor) for spec in specs]
    wanted += [
        named_topic_kwargs(name, partitions, replication_factor)
        for name, partitions in (named or {}).items()
    ]
    if not wanted:
        return TopicReport((), ())
    admin = _admin(bootstrap)
    if replication_factor is not None:
        _check_brokers(admin, bootstrap, replication_factor, timeout)
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


def _check_brokers(admin: Any, bootstrap: str, replication_factor: int, timeout: float) -> None:
    try:
        brokers = len(admin.list_topics(timeout=timeout).brokers)
    except Exception as exc:
        raise TopicAdminError(
            f"Cannot reach {bootstrap}: {exc}. Is the broker running (`civicpulse kafka status`)?"
        ) from exc
    if replication_factor > brokers:
        raise TopicAdminError(
            f"Replication factor {replication_factor} needs at least {replication_factor} "
            f"brokers; the cluster at {bootstrap} has {brokers}. Start more nodes (`civicpulse "
            f"kafka start --nodes {replication_factor}`) or choose a smaller "
            "--replication-factor / CIVICPULSE_TOPIC_REPLICATION_FACTOR."
        )


def cluster_replication_factor(bootstrap: str, timeout: float = 30.0) -> int:
    """The cluster's ``default.replication.factor``, as one of its brokers reports it: what a
    topic created without a factor gets (for creators that must send a number, like Faust)."""
    from confluent_kafka.admin import ConfigResource

    admin = _admin(bootstrap)
    try:
        broker = next(iter(admin.list_topics(timeout=timeout).brokers))
        resource = ConfigResource(ConfigResource.Type.BROKER, str(broker))
        found = admin.describe_configs([resource], request_timeout=timeout)[resource]
        entries = found.result(timeout=timeout)
    except Exception as exc:
        raise TopicAdminError(
            f"Cannot read the default replication factor of {bootstrap}: {exc}. Set "
            "CIVICPULSE_TOPIC_REPLICATION_FACTOR, or check the broker (`civicpulse kafka status`)."
        ) from exc
    return int(entries["default.replication.factor"].value)


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
