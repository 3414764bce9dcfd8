"""Where a simulated run goes: the run directory, ``presses.raw``, and the paced feed loop."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from civicpulse.schemas.settings import Settings
from civicpulse.simulator.generate import SimulatedPress, Simulation

__all__ = ["KafkaOutput", "RunOutput", "run"]


class RunOutput:
    """The run directory: catalogue first, then labels (and presses) as they come, scenario last."""

    def __init__(self, out: Path, sim: Simulation, *, presses: bool) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out, self.sim, self.line = out, sim, 0
        catalogue = sim.catalogue().model_dump(mode="json", exclude_none=True)
        (out / "catalogue.json").write_bytes(
            orjson.dumps(catalogue, option=orjson.OPT_INDENT_2) + b"\n"
        )
        self._labels: IO[bytes] = (out / "labels.jsonl").open("wb")
        self._presses: IO[bytes] | None = (out / "presses.jsonl").open("wb") if presses else None

    def write(self, press: SimulatedPress) -> None:
        self.line += 1
        label = {
            "line": self.line,
            "event_id": press.event_id,
            "device_id": press.device_id,
            "label": press.label,
        }
        self._labels.write(orjson.dumps(label) + b"\n")
        if self._presses is not None:
            self._presses.write(press.line + b"\n")

    def close(self) -> None:
        self._labels.close()
        if self._presses is not None:
            self._presses.close()
        scenario = orjson.dumps(self.sim.scenario(), option=orjson.OPT_INDENT_2) + b"\n"
        (self.out / "scenario.json").write_bytes(scenario)


class KafkaOutput:
    """Produces each press to ``presses.raw`` (key = device_id) and counts the broker's acks."""

    def __init__(self, settings: Settings, *, create_topic: bool) -> None:
        from civicpulse.producers.kafka_producer import create_producer, presses_topic

        if create_topic:
            from civicpulse.infra.topics import ensure_topics
            from civicpulse.schemas.topics import PRESSES_RAW

            ensure_topics(settings.bootstrap_servers, [PRESSES_RAW], settings.topic_prefix)
        self.topic = presses_topic(settings)
        self.producer = create_producer(settings, role="simulator")
        self.delivered = self.failed = 0
        self.first_error: str | None = None

    def _on_delivery(self, err: Any, _msg: Any) -> None:
        if err is None:
            self.delivered += 1
            return
        self.failed += 1
        self.first_error = self.first_error or str(err)

    def write(self, press: SimulatedPress) -> None:
        while True:
            try:
                self.producer.produce(
                    self.topic, press.line, press.key, on_delivery=self._on_delivery
                )
                break
            except BufferError:  # librdkafka's queue is full: serve acks to make room
                self.producer.poll(0.05)
        self.producer.poll(0)

    def close(self, timeout: float = 60.0) -> int:
        """Wait for the acks; returns how many presses got no answer."""
        return int(self.producer.flush(timeout))


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("event time {task.fields[clock]}"),
        TextColumn("{task.fields[presses]:>9,} presses"),
        TextColumn("{task.fields[rate]:>8,.0f}/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def run(
    sim: Simulation,
    outputs: Iterable[RunOutput | KafkaOutput],
    *,
    speed: float | None,
    show_progress: bool = True,
) -> int:
    """Feed every press to every output, paced by ``speed`` (None = as fast as possible)."""
    sinks = list(outputs)
    start_ms, span = sim.start_ms, max(1, sim.end_ms - sim.start_ms)
    wall0 = time.monotonic()
    n = 0
    with _progress() as progress:
        task = progress.add_task(
            f"simulate {sim.city.preset.name}", total=span, clock="-", presses=0, rate=0.0,
            visible=show_progress,
        )  # fmt: skip
        for press in sim.presses():
            if speed is not None:
                lag = (press.arrival_ms - start_ms) / 1000 / speed - (time.monotonic() - wall0)
                if lag > 0.002:
                    time.sleep(lag)
            for sink in sinks:
                sink.write(press)
            n += 1
            if n % 2048 == 0 or (speed is not None and n % 16 == 0):
                elapsed = max(time.monotonic() - wall0, 1e-6)
                moment = datetime.fromtimestamp(press.arrival_ms / 1000, UTC).strftime("%H:%M:%S")
                progress.update(
                    task, completed=min(span, press.arrival_ms - start_ms), clock=moment,
                    presses=n, rate=n / elapsed,
                )  # fmt: skip
        elapsed = max(time.monotonic() - wall0, 1e-6)
        progress.update(task, completed=span, presses=n, rate=n / elapsed)
    return n
