"""The catalogue on its compacted topic: publish a catalogue file, read it back as an index.

Records (key -> value, both UTF-8): ``device:<id>`` -> ``{"devices": [every entry of the
device]}``, ``site:<id>`` -> ``{"sites": [entry]}``, ``department:<id>``, ``question:<id>``
likewise; ``standard:<scope>:<id>`` -> ``{"standards": [every entry of that scope and id]}``.
A key that disappeared since the previously loaded catalogue gets a tombstone, so the compacted
topic always holds exactly the latest file. ``fragments``/``assemble`` are pure; the rest talks
to the broker with confluent-kafka.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from civicpulse.infra import kafka_clients
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.stream.catalogue.index import CatalogueIndex
from civicpulse.stream.exceptions import StreamError

__all__ = [
    "CatalogueReader",
    "LoadReport",
    "assemble",
    "fragments",
    "publish_catalogue",
    "read_records",
]

log = logging.getLogger(__name__)
_KINDS = (("device", "devices"), ("site", "sites"), ("department", "departments"))


def fragments(catalogue: Catalogue) -> dict[str, bytes]:
    """The topic records of a catalogue: key -> JSON fragment."""
    data = catalogue.model_dump(mode="json", by_alias=True)
    out: dict[str, list[Any]] = {}
    for kind, field in (*_KINDS, ("question", "questions")):
        id_field = f"{kind}_id"
        for entry in data[field]:
            out.setdefault(f"{kind}:{entry[id_field]}", []).append(entry)
    for entry in data["standards"]:
        out.setdefault(f"standard:{entry['scope']}:{entry['id']}", []).append(entry)
    plural = {kind: field for kind, field in (*_KINDS, ("question", "questions"))}
    plural["standard"] = "standards"
    return {
        key: orjson.dumps({plural[key.split(":", 1)[0]]: entries}, option=orjson.OPT_SORT_KEYS)
        for key, entries in sorted(out.items())
    }


def assemble(records: Mapping[str, bytes]) -> Catalogue:
    """The catalogue the records describe (raises StreamError when they do not validate)."""
    merged: dict[str, list[Any]] = {
        "devices": [],
        "sites": [],
        "departments": [],
        "questions": [],
        "standards": [],
    }
    for key in sorted(records):
        for field, entries in orjson.loads(records[key]).items():
            merged.setdefault(field, []).extend(entries)
    try:
        return Catalogue.model_validate(merged)
    except ValidationError as exc:
        raise StreamError(
            f"the catalogue topic does not hold a valid catalogue: {exc.errors()[0]['msg']}; "
            "load a complete file with `civicpulse catalogue load FILE.json`"
        ) from None


def read_records(bootstrap: str, topic: str, timeout: float = 30.0) -> dict[str, bytes]:
    """Every live record of the topic (latest value per key), read to its end."""
    consumer = _reader(bootstrap)
    try:
        return _read_to_end(consumer, topic, {}, timeout)
    finally:
        consumer.close()


def _reader(bootstrap: str) -> Any:
    """A consumer in a group of its own that never commits: it reads the topic from its start."""
    group = f"civicpulse-catalogue-{uuid.uuid4().hex}"
    return kafka_clients.consumer(bootstrap, group, "catalogue")


def _read_to_end(
    consumer: Any, topic: str, records: dict[str, bytes], timeout: float
) -> dict[str, bytes]:
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    metadata = consumer.list_topics(topic, timeout=timeout)
    if metadata.topics[topic].error is not None:
        raise StreamError(
            f"catalogue topic {topic} is not available ({metadata.topics[topic].error}); "
            "create the topics first (`civicpulse topics create`)"
        )
    partitions = list(metadata.topics[topic].partitions)
    ends = {p: _high_watermark(consumer, topic, p, timeout) for p in partitions}
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    pending = {p for p, end in ends.items() if end > 0}
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise StreamError(f"reading catalogue topic {topic} timed out after {timeout:.0f}s")
        message = consumer.poll(0.5)
        if message is None or message.error() is not None:
            continue
        _apply(records, message)
        if message.offset() + 1 >= ends[message.partition()]:
            pending.discard(message.partition())
    return records


def _high_watermark(consumer: Any, topic: str, partition: int, timeout: float) -> int:
    from confluent_kafka import KafkaException, TopicPartition

    deadline = time.monotonic() + timeout
    while True:
        try:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout
            )
            return int(high)
        except KafkaException:
            # A topic created a moment ago may not have its leader elected yet.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _apply(records: dict[str, bytes], message: Any) -> None:
    key = (message.key() or b"").decode()
    value = message.value()
    if value is None:
        records.pop(key, None)
    else:
        records[key] = value


@dataclass(frozen=True)
class LoadReport:
    written: int
    deleted: int
    unchanged: int


def publish_catalogue(
    bootstrap: str, topic: str, catalogue: Catalogue, timeout: float = 30.0
) -> LoadReport:
    """Make the topic hold exactly ``catalogue``: changed records, tombstones for the gone."""
    current = read_records(bootstrap, topic, timeout)
    wanted = fragments(catalogue)
    producer = kafka_clients.producer(bootstrap, "catalogue")
    errors: list[str] = []

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            errors.append(str(error))

    written = deleted = 0
    for key, value in wanted.items():
        if current.get(key) != value:
            producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
            written += 1
    for key in sorted(set(current) - set(wanted)):
        producer.produce(topic, key=key.encode(), value=None, on_delivery=delivered)
        deleted += 1
    if producer.flush(timeout) or errors:
        raise StreamError(f"publishing the catalogue to {topic} failed: {errors or 'timeout'}")
    return LoadReport(written, deleted, len(wanted) - written)


class CatalogueReader:
    """Follows the catalogue topic in a thread; ``index()`` is the latest valid catalogue.

    ``start`` returns once the topic was read to its end, so the worker judges no press with
    an older catalogue than the one loaded before it started.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self._records: dict[str, bytes] = {}
        self._index: CatalogueIndex | None = None
        self._dirty = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None

    def start(self, timeout: float = 60.0) -> None:
        self._consumer = _reader(self.bootstrap)
        _read_to_end(self._consumer, self.topic, self._records, timeout)
        self.index()
        self._thread = threading.Thread(target=self._follow, name="catalogue", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.is_set():
            message = self._consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            with self._lock:
                _apply(self._records, message)
                self._dirty = True
        self._consumer.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def index(self) -> CatalogueIndex:
        """The index of the latest valid catalogue (rebuilt lazily after a change)."""
        if self._dirty:
            with self._lock:
                records, self._dirty = dict(self._records), False
            try:
                self._index = CatalogueIndex(assemble(records))
            except StreamError as exc:
                if self._index is None:
                    raise
                log.warning("keeping the previous catalogue: %s", exc)
        assert self._index is not None
        return self._index
