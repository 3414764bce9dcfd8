"""The stream at a city's volume, against the real broker, worker and sink (issue: bounded state).

* A backlog: an hour of the demo city at 10 presses/s sent at once (`simulate --speed max`),
  judged and scored by the real worker, stored by the real sink: `verify` compares windows and
  finds none that differs, every window closed (day windows included), and no window has more
  than 3 messages on `scores`.
* 2,000 presses/s for a minute: the worker keeps up without an agent crash, and the largest
  record on its changelog topics stays under the contract's 256 KiB.
* An agent that raises ends the worker (status 70); the restarted worker loses nothing.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka import Producer

from civicpulse.analytics.verify import verify_scores
from civicpulse.infra.topics import TopicReport
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import (
    CATALOGUE_DEVICES,
    DEADLETTER,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    PRESSES_REJECTED,
    SCORES,
    topic_name,
)
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.sink.batch import BatchPolicy
from civicpulse.sink.writer import Sink
from civicpulse.stream.catalogue.topic import publish_catalogue
from civicpulse.stream.framework.failfast import EXIT_AGENT_FAILED

from .readback import fresh_consumer
from .stream_worker import Collector, produce, start_worker

pytestmark = pytest.mark.integration

#: the contract's bound on one changelog record (DESIGN.md, Reading order)
RECORD_BOUND = 256 * 1024
DAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _topics(prefix: str) -> dict[str, str]:
    specs = (PRESSES_RAW, PRESSES_ACCEPTED, PRESSES_REJECTED, DEADLETTER, SCORES)
    return {spec.name: topic_name(spec, prefix) for spec in specs}


def _judged(collector: Collector, t: dict[str, str]) -> int:
    names = ("presses.accepted", "presses.rejected", "deadletter")
    return sum(len(collector.messages[t[name]]) for name in names)


def _city(bootstrap: str, prefix: str, hours: float, rate: float, seed: int) -> Simulation:
    sim = Simulation(PRESETS["demo"], DAY, timedelta(hours=hours), rate, seed)
    publish_catalogue(bootstrap, topic_name(CATALOGUE_DEVICES, prefix), sim.catalogue())
    return sim


def _largest_records(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """The largest message value of each topic, read from its start."""
    consumer = fresh_consumer(bootstrap, "sizes")
    consumer.subscribe(topics)
    largest = dict.fromkeys(topics, 0)
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 5:
        message = consumer.poll(0.5)
        if message is None or message.error() is not None:
            continue
        quiet_since = time.monotonic()
        size = len(message.value() or b"")
        largest[message.topic()] = max(largest[message.topic()], size)
    consumer.close()
    return largest


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def test_an_hours_backlog_scores_exactly_with_every_window_closed_and_few_corrections(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    clickhouse_settings: Settings,
    clickhouse_client: Client,
    tmp_path: Path,
) -> None:
    create_test_topics()
    t = _topics(topic_prefix)
    sim = _city(kafka_bootstrap, topic_prefix, hours=1, rate=10, seed=7)
    presses = list(sim.presses())
    assert len(presses) > 30_000
    produce(kafka_bootstrap, t["presses.raw"], ((p.key, p.line) for p in presses))
    collector = Collector(kafka_bootstrap, list(t.values()))
    worker = start_worker(kafka_bootstrap, topic_prefix, tmp_path / "w", "--drain", "10")
    started = time.monotonic()
    try:
        collector.until(lambda: _judged(collector, t) >= len(presses), timeout=300, worker=worker)
        judged_after = time.monotonic() - started

        def days_closed() -> bool:
            return any(b'"window":"1d"' in value for _, value in collector.messages[t["scores"]])

        collector.until(days_closed, timeout=90, worker=worker)
        collector.settle(t["scores"], quiet=4, timeout=60)
        assert worker.process.poll() is None, worker.text()[-3000:]
    finally:
        worker.stop()
        collector.close()

    settings = clickhouse_settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "topic_prefix": topic_prefix}
    )
    sink = Sink(settings, group_id=f"sink-{uuid.uuid4().hex}", policy=BatchPolicy(5000, 0.5))
    sink.run(stop_when_idle=3)

    since = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # the local day of the simulated hour
    until = since + timedelta(days=1)
    result = verify_scores(
        clickhouse_client, since=since, until=until, tz="Europe/Warsaw", city_id="city"
    )
    assert result.compared > 1_000 and result.counted > 10_000
    assert result.ok, result.mismatches[:5]
    windows = Counter(
        (s["scope"], s["scope_id"], s["kind"], s["window"], s["window_start"])
        for s in collector.values(t["scores"])
    )
    assert {window for _, _, _, window, _ in windows} == {"15m", "1h", "1d"}
    per_window = max(windows.values())
    print(
        f"backlog of {len(presses)} presses judged in {judged_after:.1f}s; {len(windows)} "
        f"windows, {sum(windows.values())} messages on scores, at most {per_window} per window"
    )
    # Few corrections: a late press re-emits the closed windows it touches once per flush
    # (coalesced), so a window is re-sent a handful of times at most, never per press (issue 15
    # saw 356 re-sends of one window, tens of thousands in all). A lane is done when the group's
    # offsets say so, not after a wall-clock silence (stages/scores/census.py): before that, a
    # busy machine re-sent 15 and 68 of 1,421 windows in CI, 25-283 at load 14-18 (issue 22);
    # seed 7's hour re-sends none now in 6 runs at that load. The 1 % bound leaves room for the
    # truly late presses only.
    corrections = sum(windows.values()) - len(windows)
    assert per_window <= 6
    assert corrections <= len(windows) // 100, corrections


def test_two_thousand_presses_a_second_for_a_minute_keep_every_record_bounded(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    tmp_path: Path,
) -> None:
    create_test_topics()
    t = _topics(topic_prefix)
    rate, seconds = 2_000, 60
    sim = _city(kafka_bootstrap, topic_prefix, hours=seconds / 3600, rate=rate, seed=11)
    presses = list(sim.presses())
    collector = Collector(kafka_bootstrap, list(t.values()))
    worker = start_worker(kafka_bootstrap, topic_prefix, tmp_path / "w")
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 20})
    rss: list[float] = []
    try:
        collector.until(lambda: "Worker]: Ready" in worker.text(), timeout=60, worker=worker)
        begin = time.monotonic()
        for n, press in enumerate(presses):  # paced: 2,000 a second of wall time
            producer.produce(t["presses.raw"], key=press.key, value=press.line)
            if n % 200 == 199:
                producer.poll(0)
                ahead = begin + (n + 1) / rate - time.monotonic()
                if ahead > 0:
                    collector.poll(ahead)  # read the outputs meanwhile
                if n % 20_000 == 19_999:
                    rss.append(_rss_mib(worker.process.pid))
        assert producer.flush(30) == 0
        sent_in = time.monotonic() - begin
        collector.until(lambda: _judged(collector, t) >= len(presses), timeout=240, worker=worker)
        drained_in = time.monotonic() - begin
        rss.append(_rss_mib(worker.process.pid))
        assert worker.process.poll() is None, worker.text()[-3000:]
    finally:
        worker.stop()
        collector.close()
    app_id = f"{topic_prefix}civicpulse-stream"
    changelogs = [f"{app_id}-antispam-changelog", f"{app_id}-scores-changelog"]
    largest = _largest_records(kafka_bootstrap, changelogs)
    print(
        f"{len(presses)} presses sent in {sent_in:.1f}s, all judged after {drained_in:.1f}s; "
        f"largest changelog records {largest}; worker RSS MiB {[round(r) for r in rss]}"
    )
    assert "failed" not in worker.text().lower() or "agent" not in worker.text().lower()
    assert all(0 < size < RECORD_BOUND for size in largest.values()), largest


SITECUSTOMIZE = """
import os
if os.environ.get("CIVICPULSE_TEST_FAIL_MARKER"):
    import civicpulse.stream.stages.scores.stage as scoring

    marker = os.environ["CIVICPULSE_TEST_FAIL_MARKER"]
    original = scoring.ScoreKeeper.settle
    batches = {"n": 0}

    async def settle(self, now, out, state):
        batches["n"] += 1
        if batches["n"] == 3 and not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("injected failure in the scores settle")
        await original(self, now, out, state)

    scoring.ScoreKeeper.settle = settle
"""


def test_an_agent_failure_ends_the_worker_and_the_restart_loses_nothing(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The failure is injected from outside the package: a sitecustomize module on the worker's
    # PYTHONPATH replaces the scores flush so that its third call raises, once.
    create_test_topics()
    t = _topics(topic_prefix)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    marker = tmp_path / "failed-once"
    monkeypatch.setenv("PYTHONPATH", f"{hooks}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("CIVICPULSE_TEST_FAIL_MARKER", str(marker))
    sim = _city(kafka_bootstrap, topic_prefix, hours=2, rate=0.5, seed=5)
    presses = list(sim.presses())
    produce(kafka_bootstrap, t["presses.raw"], ((p.key, p.line) for p in presses))
    collector = Collector(kafka_bootstrap, list(t.values()))
    data = tmp_path / "w"
    first = start_worker(kafka_bootstrap, topic_prefix, data, "--drain", "3")
    try:
        status = first.process.wait(120)
    finally:
        first.stop()
    assert marker.exists()
    assert status == EXIT_AGENT_FAILED, first.text()[-3000:]
    # the third settle may be a batch's or a tick's (a few bundles make few batches): either way
    # the scores agent's failure ends the worker
    assert re.search(r"agent scores( tick)? failed: RuntimeError: injected failure", first.text())
    second = start_worker(kafka_bootstrap, topic_prefix, data, "--drain", "3")
    try:
        collector.until(lambda: _judged(collector, t) >= len(presses), timeout=120, worker=second)

        def days_closed() -> bool:
            return any(b'"window":"1d"' in value for _, value in collector.messages[t["scores"]])

        collector.until(days_closed, timeout=90, worker=second)
        collector.settle(t["scores"], quiet=4, timeout=60)
    finally:
        second.stop()
        collector.close()
    # Nothing lost, nothing counted twice: every closed window's latest value equals the
    # recomputation from the accepted presses (each event once).
    accepted = {a["event_id"]: a for a in collector.values(t["presses.accepted"])}
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for score in collector.values(t["scores"]):
        key = (score["scope"], score["scope_id"], score["kind"], score["window"])
        latest[(*key, score["window_start"])] = score
    city_days = [v for k, v in latest.items() if k[0] == "city" and k[3] == "1d"]
    counted = sum(1 for a in accepted.values() if a.get("question_kind", "citizen") == "citizen")
    assert sum(d["n"] for d in city_days if d["kind"] == "citizen") == counted
