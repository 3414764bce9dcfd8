"""The live demo's press source: the simulator's city, sent to ``presses.raw`` at wall-clock pace.

The simulation starts *now*, so every press is produced when its ``received_at`` comes round:
the stream, the scores and the live page see a city as it would arrive, with its labelled spam
and the degraded department. Labels stay in memory (and in ``labels.jsonl`` of the run
directory) for the filter's precision and recall at the end.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from civicpulse.schemas.settings import Settings
from civicpulse.simulator.generate import Simulation
from civicpulse.simulator.run import KafkaOutput, RunOutput

__all__ = ["DemoFeed"]


class DemoFeed:
    """Feeds one simulation into Kafka (and the run directory) until it ends or ``stop``."""

    def __init__(self, settings: Settings, sim: Simulation, out: Path) -> None:
        self.sim = sim
        self.files = RunOutput(out, sim, presses=False)
        self.kafka = KafkaOutput(settings, create_topic=False)
        self.labels: list[dict[str, Any]] = []
        self.produced = 0
        #: presses the broker acknowledged (set by ``stop``)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        for press in self.sim.presses():
            lag = press.arrival_ms / 1000 - time.time()
            if lag > 0 and self._stop.wait(lag):
                return
            if self._stop.is_set():
                return
            self.files.write(press)
            self.kafka.write(press)
            self.produced += 1
            self.labels.append(
                {"line": self.files.line, "event_id": press.event_id, "label": press.label}
            )

    def stop(self) -> int:
        """Stop producing, wait for the broker's acks; how many presses got no answer."""
        self._stop.set()
        self._thread.join(timeout=10)
        unanswered = self.kafka.close(timeout=30)
        self.files.close()
        self.sent = self.kafka.delivered
        # Release the producer now: a live one keeps reconnecting (and logging) once the broker
        # this run started is stopped.
        del self.kafka.producer
        return unanswered
