"""Run one processor as a real Faust worker against a real broker: the harness for its tests.

``processor_worker("my_package.module:MyProcessor", bootstrap, prefix, data_dir)`` starts
``python -m civicpulse.stream.testing`` in a subprocess: a worker running only that
processor
(built by calling the named class or factory without arguments) on the project's runner, with
the same order guard, flushes and fail-fast as the built-in stages. The worker imports ``spec``
with the caller's ``sys.path`` (so a processor defined in a test module works). It is a context
manager that stops the worker at the end; ``log()`` returns what the worker wrote, ``check()``
raises with its tail if it has exited. Like every worker, it creates the topics the processor
declares (``source``, ``outputs``) and the catalogue and dead-letter topics when missing.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ProcessorWorker", "load_processor", "main", "processor_worker"]


def load_processor(spec: str) -> Any:
    """``"package.module:Name"`` -> ``Name()``."""
    module_name, _, name = spec.partition(":")
    if not name:
        raise ValueError(f"processor spec {spec!r} must look like 'package.module:Name'")
    return getattr(importlib.import_module(module_name), name)()


@dataclass
class ProcessorWorker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def check(self) -> None:
        """Raise with the log's tail if the worker has exited (call it while waiting for output)."""
        if not self.running():
            raise RuntimeError(
                f"the processor worker exited with status {self.process.returncode}:\n"
                f"{self.log()[-3000:]}"
            )


@contextmanager
def processor_worker(
    spec: str, bootstrap: str, prefix: str, data_dir: Path, *, tick: float = 1.0
) -> Iterator[ProcessorWorker]:
    """A worker running only the processor ``spec`` (see module doc), stopped on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "processor-worker.log"
    env = dict(os.environ, KAFKA_BOOTSTRAP=bootstrap, CIVICPULSE_TOPIC_PREFIX=prefix)
    env["CIVICPULSE_DATA_DIR"] = str(data_dir)
    # The worker imports ``spec`` the way the caller can (a test module under the rootdir).
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "civicpulse.stream.testing", spec, str(tick)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = ProcessorWorker(process, log_path)
    try:
        yield worker
    finally:
        if worker.running():
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def main() -> None:
    import logging

    from faust import Worker

    from civicpulse.schemas.settings import get_settings
    from civicpulse.stream.app import StreamConfig, create_app
    from civicpulse.stream.worker import prepare_worker

    spec, tick = sys.argv[1], float(sys.argv[2])
    settings = get_settings()
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    processor = load_processor(spec)
    config = StreamConfig(
        bootstrap=settings.bootstrap_servers,
        prefix=settings.topic_prefix,
        data_dir=settings.data_dir / "stream",
        tick_seconds=tick,
        stages=frozenset(),
        # A group of its own, as for any added processor in its own worker (docs/processors.md)
        group=processor.name,
    )
    prepare_worker(config, [processor])
    app = create_app(config, extra=[processor])
    Worker(app, loglevel="info", quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()
