"""Faust's own ceiling: the worker's consumption path with the judging taken out.

A Faust app with the stream worker's settings (``stream.app.app_settings``) and the anti-spam
agent's shape (``take_events`` batches, outputs through ``stream.framework.outputs.Outputs``,
flushed before the batch is acknowledged) that forwards each press unjudged.
``stream_throughput`` runs it as a subprocess next to the real worker: whatever this reaches, no
anti-spam code on Faust can beat. ``e2e_latency`` paces it at the capacity rate: its CPU per
message is the floor the worker's cost per press is compared with. Environment:
``KAFKA_BOOTSTRAP``, ``CIVICPULSE_TOPIC_PREFIX``, ``CIVICPULSE_DATA_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from civicpulse.schemas.topics import PRESSES_RAW
from civicpulse.stream.app import StreamConfig, app_settings
from civicpulse.stream.framework.outputs import Outputs
from civicpulse.stream.worker import wait_for_group_coordinator

OUTPUT = "noop.out"


def main() -> None:
    import faust

    config = StreamConfig(
        bootstrap=os.environ["KAFKA_BOOTSTRAP"],
        prefix=os.environ.get("CIVICPULSE_TOPIC_PREFIX", ""),
        data_dir=Path(os.environ["CIVICPULSE_DATA_DIR"]),
    )
    app = faust.App(f"{config.app_id}-noop", **app_settings(config))
    raw = app.topic(config.topic(PRESSES_RAW), key_serializer="raw", value_serializer="raw")
    out_topic = config.prefix + OUTPUT

    async def forward(stream: Any) -> None:
        out = Outputs(config.bootstrap)
        async for batch in stream.take_events(config.batch_size, within=config.batch_within):
            for event in batch:
                out.send(out_topic, event.message.key, event.message.value)
            await out.flush()

    app.agent(raw, name="noop")(forward)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    wait_for_group_coordinator(config.bootstrap, config.topic(PRESSES_RAW))
    worker = faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
