"""The capacity benchmark's load: a paced producer in a process of its own, so its CPU time is
its own (librdkafka's threads included).

``python -m benchmarks.e2e_load BOOTSTRAP TOPIC RATE RECORDS OUT``: ``RECORDS`` holds one JSON
array a line, ``[key, value, event_id]``; the presses go to ``TOPIC`` at ``RATE`` per second
(idempotent producer, ``linger.ms`` 0, as a terminal's API call would) and each event id's
CreateTime (ms) is written to ``OUT`` as one JSON object at the end. Prints ``START <epoch s>``
when the first press goes out. SIGTERM stops the pacing early (a step whose backlog ran away);
what was sent is still flushed and written.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType

import orjson
from confluent_kafka import Message, Producer

__all__ = ["main"]


def main() -> None:
    bootstrap, topic, rate_text, records_path, out_path = sys.argv[1:6]
    rate = float(rate_text)
    records = [orjson.loads(line) for line in Path(records_path).read_bytes().splitlines()]
    stop = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 0}
    )
    sent: dict[str, float] = {}

    def delivered(error: object, message: Message, event_id: str) -> None:
        if error is None:
            sent[event_id] = float(message.timestamp()[1])

    start = time.monotonic()
    print(f"START {time.time():.3f}", flush=True)
    for n, (key, value, event_id) in enumerate(records):
        if stop:
            break
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        producer.produce(
            topic,
            key=key.encode(),
            value=value.encode(),
            on_delivery=lambda e, m, i=event_id: delivered(e, m, i),
        )
        producer.poll(0)
    producer.flush(60)
    Path(out_path).write_bytes(orjson.dumps(sent))
    print(f"DONE {len(sent)}", flush=True)


if __name__ == "__main__":
    main()
