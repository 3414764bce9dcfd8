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

from benchmarks.e2e_pipeline import paced_send

__all__ = ["main"]


def main() -> None:
    bootstrap, topic, rate_text, records_path, out_path = sys.argv[1:6]
    records = [orjson.loads(line) for line in Path(records_path).read_bytes().splitlines()]
    stop = False

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    sent = paced_send(
        bootstrap,
        topic,
        [(key.encode(), value.encode(), event_id) for key, value, event_id in records],
        float(rate_text),
        started=lambda: print(f"START {time.time():.3f}", flush=True),
        stopped=lambda: stop,
        flush_seconds=60.0,
    )
    Path(out_path).write_bytes(orjson.dumps(sent))
    print(f"DONE {len(sent)}", flush=True)


if __name__ == "__main__":
    main()
