"""Sink throughput: Kafka -> validate -> ClickHouse (chDB) rows/s vs a raw chDB insert.

Both sides store the same messages in the same batches (per partition, up to 10k rows) into
identical fresh ``presses`` tables of one embedded engine:

* sink: ``civicpulse.sink.writer.Sink`` consuming ``presses.accepted`` from the real broker,
  validating every message, inserting with dedup tokens and committing offsets, timed from the
  first message read to the last commit;
* baseline: the message values of each batch handed straight to ClickHouse
  (``INSERT ... FORMAT JSONEachRow``): no Kafka, no validation, no commit.

Broker: ``KAFKA_BOOTSTRAP`` if set, else a throw-away launcher broker on free loopback ports.
Target: sink >= 70 % of the baseline.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from benchmarks.common import Figure, broker, parser, report, stopwatch
from civicpulse.schemas.settings import Settings
from civicpulse.sink.batch import BatchPolicy

PARTITIONS = 6
BATCH_ROWS = 10_000


def presses(count: int) -> list[tuple[bytes, bytes]]:
    """``count`` judged presses (key, value) as the stream writes them."""
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    out = []
    for i in range(count):
        at = start + timedelta(milliseconds=1700 * i)
        device = f"dev-{i % 400:03d}"
        value = {
            "event_id": str(uuid.uuid4()),
            "channel": "terminal",
            "device_id": device,
            "button": 1 + (i * 7) % 4,
            "pressed_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "received_at": (at + timedelta(milliseconds=350))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "lang": "pl",
            "verdict": "counted",
            "site_id": f"site-{i % 40:02d}",
            "department_id": f"dep-{i % 8}",
            "question_id": "q-visit",
            "question_kind": "citizen",
        }
        out.append((device.encode(), orjson.dumps(value)))
    return out


def produce(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 50}
    )
    for key, value in values:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.1)
    if producer.flush(120):
        raise SystemExit("could not produce the benchmark messages")


def partition_batches(bootstrap: str, topic: str, total: int) -> list[list[bytes]]:
    """Read the topic back as the sink sees it: per-partition batches of up to BATCH_ROWS."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-read-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    per_partition: dict[int, list[bytes]] = {}
    seen = 0
    while seen < total:
        for message in consumer.consume(num_messages=10_000, timeout=1.0):
            if message.error() is None:
                per_partition.setdefault(message.partition(), []).append(message.value())
                seen += 1
    consumer.close()
    return [
        values[i : i + BATCH_ROWS]
        for values in per_partition.values()
        for i in range(0, len(values), BATCH_ROWS)
    ]


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    count = 60_000 if args.quick else 600_000
    runs = 2 if args.quick else 3
    best_raw = best_sink = float("inf")
    from civicpulse.sink.clickhouse import close_clients

    values = presses(count)
    with tempfile.TemporaryDirectory(prefix="bench-chdb-") as chdb, broker() as bootstrap:
        from civicpulse.infra.topics import create_topics

        prefix = f"bench{uuid.uuid4().hex[:8]}."
        create_topics(bootstrap, prefix)
        topic = f"{prefix}presses.accepted"
        produce(bootstrap, topic, values)
        base = Settings(
            clickhouse_dsn=f"chdb://{chdb}", kafka_bootstrap=bootstrap, topic_prefix=prefix
        )
        batches = partition_batches(bootstrap, topic, count)
        # The machine is shared: the best of a few runs is the least disturbed one.
        for run in range(runs):
            raw_seconds, raw_rows = raw_insert(base, f"bench_raw{run}", batches)
            sink_seconds, sink_rows, checkpoints = sink_run(base, f"bench_sink{run}")
            if raw_rows != count or sink_rows != count:
                raise SystemExit(f"rows differ: produced {count}, raw {raw_rows}, sink {sink_rows}")
            best_raw = min(best_raw, raw_seconds)
            best_sink = min(best_sink, sink_seconds)
            print(
                f"run {run + 1}: {count} presses in {len(batches)} batches: sink "
                f"{sink_seconds:.2f} s ({checkpoints} checkpoints), raw insert {raw_seconds:.2f} s",
                file=sys.stderr,
            )
        close_clients()

    sink_rate = count / best_sink
    raw_rate = count / best_raw
    report(
        [
            Figure(
                "sink_rows_per_s",
                sink_rate,
                "rows/s",
                ">=70% of raw chDB insert",
                sink_rate >= 0.7 * raw_rate,
                baseline=raw_rate,
            )
        ]
    )


def raw_insert(base: Settings, database: str, batches: list[list[bytes]]) -> tuple[float, int]:
    """The baseline: each batch's message values straight into ClickHouse as JSONEachRow."""
    from civicpulse.sink.clickhouse import create_client
    from civicpulse.sink.migrate import migrate

    settings = base.model_copy(update={"clickhouse_database": database})
    migrate(settings)
    client = create_client(settings)
    with stopwatch() as watch:
        for batch in batches:
            client.raw_insert(
                "presses",
                insert_block=b"\n".join(batch),
                fmt="JSONEachRow",
                settings={
                    "date_time_input_format": "best_effort",
                    "input_format_skip_unknown_fields": 1,
                },
            )
    return watch.seconds, int(client.query("SELECT count() FROM presses").result_rows[0][0])


def sink_run(base: Settings, database: str) -> tuple[float, int, int]:
    """The sink from the topic's start (fresh group), first message read to last commit."""
    from civicpulse.sink.clickhouse import create_client
    from civicpulse.sink.migrate import migrate
    from civicpulse.sink.writer import Sink

    settings = base.model_copy(update={"clickhouse_database": database})
    migrate(settings)
    sink = Sink(
        settings,
        group_id=f"bench-sink-{uuid.uuid4().hex}",
        policy=BatchPolicy(max_rows=BATCH_ROWS, max_age=1.0),
    )
    stats = sink.run(stop_when_idle=3)
    assert stats.first_message_at is not None and stats.last_commit_at is not None
    stored = create_client(settings).query("SELECT count() FROM presses FINAL")
    return (
        stats.last_commit_at - stats.first_message_at,
        int(stored.result_rows[0][0]),
        stats.checkpoints,
    )


if __name__ == "__main__":
    main()
