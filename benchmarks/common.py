"""What every benchmark script shares: the RESULT line of the benchmarks contract, and timing.

Each script ends with one line per figure::

    RESULT <name> value=<number> unit=<unit> baseline=<number|none> ratio=<number|none>
        target=<text> ok|short

(one line in the output; folded here).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Broker",
    "Figure",
    "Stopwatch",
    "best_of",
    "broker",
    "broker_with_pid",
    "parser",
    "percentile",
    "report",
    "stopwatch",
]


@dataclass(frozen=True)
class Figure:
    """One measured figure and how it compares with its same-run baseline and its target."""

    name: str
    value: float
    unit: str
    target: str
    ok: bool
    baseline: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def line(self) -> str:
        def number(x: float | None) -> str:
            return "none" if x is None else f"{x:.4g}"

        return (
            f"RESULT {self.name} value={number(self.value)} unit={self.unit} "
            f"baseline={number(self.baseline)} ratio={number(self.ratio)} "
            f"target={self.target.replace(' ', '_')} {'ok' if self.ok else 'short'}"
        )


def report(figures: Sequence[Figure]) -> None:
    """Print the RESULT lines last, so that a reader (or a parser) finds them at the end."""
    for figure in figures:
        print(figure.line(), flush=True)


def parser(description: str) -> argparse.ArgumentParser:
    """The common command line: every benchmark accepts --quick."""
    arguments = argparse.ArgumentParser(description=description)
    arguments.add_argument(
        "--quick", action="store_true", help="a smaller run that finishes within a minute"
    )
    return arguments


@dataclass
class Stopwatch:
    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    watch = Stopwatch()
    start = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - start


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation; samples need not be sorted."""
    if not samples:
        raise ValueError("no samples")
    if len(samples) == 1:
        return samples[0]
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    index = min(max(round(q) - 1, 0), 98)
    return cuts[index]


def best_of(runs: int, measure: Callable[[], float]) -> float:
    """The best of several runs: on a shared 2-core machine the best is the least disturbed."""
    return max(measure() for _ in range(runs))


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    pid: int | None  # None: an outside broker (KAFKA_BOOTSTRAP), whose CPU is not counted


@contextmanager
def broker_with_pid() -> Iterator[Broker]:
    """``KAFKA_BOOTSTRAP`` if set, else a throw-away launcher broker on free loopback ports."""
    if os.environ.get("KAFKA_BOOTSTRAP"):
        yield Broker(os.environ["KAFKA_BOOTSTRAP"], None)
        return
    from civicpulse.infra.kafka import LauncherConfig, start_broker, stop_broker
    from civicpulse.infra.kafka_process import free_port
    from civicpulse.schemas.settings import Settings

    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="bench-kafka-") as data_dir:
        config = LauncherConfig(
            data_dir=Path(data_dir),
            kafka_version=settings.kafka_version,
            port=free_port(),
            controller_port=free_port(),
            cache_dir=settings.cache_dir,
        )
        print(f"starting a throw-away Kafka broker on {config.bootstrap} ...", file=sys.stderr)
        status = start_broker(config, timeout=180)
        try:
            yield Broker(config.bootstrap, status.pid)
        finally:
            stop_broker(config)


@contextmanager
def broker() -> Iterator[str]:
    """The bootstrap address of ``broker_with_pid``'s broker."""
    with broker_with_pid() as found:
        yield found.bootstrap
