"""A stream worker's /metrics against the real broker: its counters account for every press fed.

The worker (``civicpulse stream worker``, a subprocess) serves
``CIVICPULSE_METRICS_PORT``; the test scrapes it over HTTP, parses it with prometheus_client's
parser and compares it with what the topics hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import TopicReport
from civicpulse.schemas.topics import (
    CATALOGUE_DEVICES,
    DEADLETTER,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    topic_name,
)
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.catalogue.topic import publish_catalogue

from .metrics_scrape import Samples, scrape, total
from .stream_worker import Collector, produce, start_worker

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def judged(samples: Samples, topics: dict[str, str]) -> float:
    out = "civicpulse_stream_records_out_total"
    return (
        total(samples, out, processor="antispam", topic=topics["accepted"])
        + total(samples, out, processor="antispam", topic=topics["rejected"])
        + total(samples, "civicpulse_stream_dead_letters_total", processor="antispam")
    )


def lag_by_partition(samples: Samples, topic: str) -> dict[str, float]:
    return {
        dict(labels)["partition"]: value
        for (name, labels), value in samples.items()
        if name == "civicpulse_stream_consumer_lag_records" and ("topic", topic) in labels
    }


def test_worker_metrics_account_for_every_press(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_test_topics()
    sim = Simulation(PRESETS["demo"], START, timedelta(hours=4), 0.05, 11)
    publish_catalogue(kafka_bootstrap, topic_name(CATALOGUE_DEVICES, topic_prefix), sim.catalogue())
    topics = {
        "raw": topic_name(PRESSES_RAW, topic_prefix),
        "accepted": topic_name(PRESSES_ACCEPTED, topic_prefix),
        "rejected": topic_name(PRESSES_REJECTED, topic_prefix),
        "deadletter": topic_name(DEADLETTER, topic_prefix),
    }
    presses = list(sim.presses())
    assert any(p.label == "malformed" for p in presses)
    fed = produce(kafka_bootstrap, topics["raw"], ((p.key, p.line) for p in presses))
    port = free_port()
    monkeypatch.setenv("CIVICPULSE_METRICS_PORT", str(port))
    collector = Collector(
        kafka_bootstrap, [topics[k] for k in ("accepted", "rejected", "deadletter")]
    )
    worker = start_worker(kafka_bootstrap, topic_prefix, tmp_path / "w")
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        collector.until(lambda: sum(len(m) for m in collector.messages.values()) >= fed, 60, worker)
        # The counters follow the outputs; the lag gauge follows the watchdog's next look (5 s).
        deadline = time.monotonic() + 30
        samples = scrape(url)
        caught_up = {str(p): 0.0 for p in range(PRESSES_RAW.partitions)}
        watermark = "civicpulse_stream_watermark_timestamp_seconds"
        while (
            judged(samples, topics) < fed
            or lag_by_partition(samples, topics["raw"]) != caught_up
            or not total(samples, watermark)
        ):
            assert time.monotonic() < deadline, f"metrics stopped short: {samples}"
            time.sleep(0.5)
            samples = scrape(url)
    finally:
        worker.stop()
        collector.close()

    assert f"metrics on http://127.0.0.1:{port}/metrics" in worker.text()
    out = "civicpulse_stream_records_out_total"
    for name in ("accepted", "rejected"):
        sent = total(samples, out, processor="antispam", topic=topics[name])
        assert sent == len(collector.messages[topics[name]]) > 0
    letters = total(samples, "civicpulse_stream_dead_letters_total", processor="antispam")
    assert letters == len(collector.messages[topics["deadletter"]]) > 0
    assert judged(samples, topics) == fed
    records_in = "civicpulse_stream_records_in_total"
    read = total(samples, records_in, processor="antispam", outcome="processed") + total(
        samples, records_in, processor="antispam", outcome="undecodable"
    )
    assert read == fed
    assert total(samples, "civicpulse_stream_commit_seconds_count", processor="antispam") > 0
    assert total(samples, "civicpulse_stream_batch_seconds_count", processor="antispam") > 0
    # the scores stage's event-time watermark: within the simulated hours (less its grace)
    assert START.timestamp() - 3600 < total(samples, watermark, processor="scores")
    assert total(samples, watermark, processor="scores") < (START + timedelta(hours=4)).timestamp()
    assert total(samples, "civicpulse_stream_worker_starts_total") == 1
    assert total(samples, "civicpulse_stream_worker_start_time_seconds") > START.timestamp()
