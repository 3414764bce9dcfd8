"""The sink's metrics against the real broker and chDB: rows counted = rows stored.

The sink runs in this process (as in ``civicpulse up``, where the API's /metrics shows it);
the default registry is rendered in the text format and read back with prometheus_client's
parser. Counters are process-wide, so the test compares what changed across its run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from prometheus_client import generate_latest

from civicpulse.schemas.settings import Settings
from civicpulse.sink.batch import BatchPolicy
from civicpulse.sink.writer import Sink

from .metrics_scrape import parse, total
from .test_sink_kafka import _press, _produce

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

pytestmark = pytest.mark.integration


def test_sink_rows_counter_equals_the_rows_stored(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], Any],
    clickhouse_settings: Settings,
    clickhouse_client: Client,
) -> None:
    create_test_topics()
    accepted = f"{topic_prefix}presses.accepted"
    values = [(p["device_id"], orjson.dumps(p)) for p in (_press(i) for i in range(250))]
    values.insert(40, ("dev-1", b'{"event_id": "not json'))
    _produce(kafka_bootstrap, accepted, values)
    settings = clickhouse_settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "topic_prefix": topic_prefix}
    )
    before = parse(generate_latest().decode())
    sink = Sink(settings, group_id=f"sink-{uuid.uuid4().hex}", policy=BatchPolicy(100, 0.5))
    stats = sink.run(stop_when_idle=3)
    after = parse(generate_latest().decode())

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    [(stored,)] = clickhouse_client.query("SELECT count() FROM presses").result_rows
    assert stored == 250
    assert delta("civicpulse_sink_rows_written_total", table="presses") == stored
    assert delta("civicpulse_sink_messages_total", topic=accepted) == len(values)
    assert delta("civicpulse_sink_dead_letters_total", topic=accepted) == stats.dead == 1
    assert delta("civicpulse_sink_batch_rows_sum", table="presses") == stored
    assert delta("civicpulse_sink_insert_seconds_count", table="presses") > 0
    assert delta("civicpulse_sink_offsets_committed_total", topic=accepted) >= 1
    assert total(after, "civicpulse_sink_last_commit_timestamp_seconds") > 0
