"""Ingest throughput: presses/s through ``POST /v1/presses`` (batches) and p99 request latency,
against the raw idempotent producer's rate in the same run.

* ingest: the API served by uvicorn in its own process (as in production), a load generator on
  loopback (httpx, ``--concurrency`` terminals each posting batches of ``--batch`` presses with
  their own device key). A request counts when its 202 arrived, i.e. after the broker acked
  every press of the batch (acks=all).
* baseline: the same number of presses produced straight to ``presses.raw`` with the same
  producer configuration (``civicpulse.producers.kafka_producer``), timed until the last ack.

Broker: ``KAFKA_BOOTSTRAP`` if set, else a throw-away launcher broker on free loopback ports.
Targets: >= 5000 presses/s through the API (a large city's terminals together send well under
100/s), p99 <= 250 ms per batch request.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from benchmarks.common import Figure, broker, parser, percentile, report, stopwatch
from civicpulse.api.ingest.keys import DeviceKeys
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import create_topics
from civicpulse.producers.kafka_producer import create_producer, deliver, presses_topic
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import PressEvent, format_utc
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
from civicpulse.stream.catalogue.topic import publish_catalogue


def catalogue(devices: int) -> dict[str, object]:
    return {
        "departments": [{"department_id": "bench", "name": "Bench"}],
        "sites": [{"site_id": "bench-site", "department_id": "bench", "name": "Bench site"}],
        "questions": [],
        "devices": [
            {
                "device_id": f"bench-{i}",
                "channel": "terminal",
                "site_id": "bench-site",
                "department_id": "bench",
                "active_from": "2024-01-01T00:00:00Z",
            }
            for i in range(devices)
        ],
    }


def batch(device: str, size: int, start: datetime) -> dict[str, object]:
    return {
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "device_id": device,
                "button": 1 + i % 4,
                "pressed_at": format_utc(start + timedelta(milliseconds=i)),
            }
            for i in range(size)
        ]
    }


def serve(data_dir: Path, bootstrap: str, prefix: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": prefix,
        "CIVICPULSE_DATA_DIR": str(data_dir),
    }
    argv = [sys.executable, "-m", "uvicorn", "--factory", "civicpulse.api.app:create_app"]
    argv += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(argv, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError("the ingest API did not become ready within 60 s")


async def load(
    url: str, keys: dict[str, str], requests: int, size: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    start_at = datetime(2026, 1, 5, 8, tzinfo=UTC)

    async def terminal(device: str, client: httpx.AsyncClient) -> None:
        headers = {
            "X-Device-Id": device,
            "X-Device-Key": keys[device],
            "Content-Type": "application/json",
        }
        while not queue.empty():
            i = queue.get_nowait()
            body = orjson.dumps(batch(device, size, start_at + timedelta(seconds=i)))
            t0 = time.perf_counter()
            response = await client.post(
                f"{url}/v1/presses",
                content=body,
                headers={**headers, "Content-Type": "application/json"},
            )
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 202:
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:200]}")

    async with httpx.AsyncClient(
        timeout=60, limits=httpx.Limits(max_connections=len(keys))
    ) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(terminal(device, client) for device in keys))
        return time.perf_counter() - t0, latencies


def raw_producer_rate(bootstrap: str, prefix: str, count: int) -> float:
    settings = Settings(kafka_bootstrap=bootstrap, topic_prefix=prefix)
    producer = create_producer(settings, client_id="bench-raw")
    now = datetime.now(UTC)
    events = [
        PressEvent(
            event_id=uuid.uuid4(),
            channel="terminal",
            device_id=f"bench-{i % 8}",
            button=1 + i % 4,
            pressed_at=now,
            received_at=now,
        )
        for i in range(count)
    ]
    # Warm-up: connection and idempotent producer id, as the API's producer has them too.
    deliver(producer, presses_topic(settings), events[: count // 20], timeout=60)
    with stopwatch() as watch:
        deliveries = deliver(producer, presses_topic(settings), events, timeout=120)
    if not all(d.ok for d in deliveries):
        raise RuntimeError("the raw producer did not get every ack")
    return count / watch.seconds


def main() -> None:
    arguments = parser(__doc__ or "ingest benchmark")
    arguments.add_argument("--batch", type=int, default=200, help="presses per request")
    arguments.add_argument("--concurrency", type=int, default=8, help="terminals posting at once")
    args = arguments.parse_args()
    presses = 20_000 if args.quick else 200_000
    requests = presses // args.batch

    with broker() as bootstrap, tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        prefix = f"bench{uuid.uuid4().hex[:8]}."
        create_topics(bootstrap, prefix)
        data_dir = Path(tmp)
        # The API resolves devices from the catalogue topic, as the stream does.
        publish_catalogue(
            bootstrap,
            topic_name(CATALOGUE_DEVICES, prefix),
            Catalogue.model_validate(catalogue(args.concurrency)),
        )
        store = DeviceKeys.in_data_dir(data_dir)
        keys = {f"bench-{i}": store.add(f"bench-{i}") for i in range(args.concurrency)}

        baseline = raw_producer_rate(bootstrap, prefix, presses)
        port = free_port()
        server = serve(data_dir, bootstrap, prefix, port)
        try:
            asyncio.run(load(f"http://127.0.0.1:{port}", keys, max(requests // 20, 2), args.batch))
            seconds, latencies = asyncio.run(
                load(f"http://127.0.0.1:{port}", keys, requests, args.batch)
            )
        finally:
            server.terminate()
            server.wait(timeout=30)

    rate = requests * args.batch / seconds
    p99_ms = percentile(latencies, 99) * 1000
    print(
        f"ingest: {requests} requests x {args.batch} presses in {seconds:.2f}s, "
        f"{args.concurrency} concurrent terminals; raw producer {baseline:.0f} presses/s",
        file=sys.stderr,
    )
    report(
        [
            Figure("ingest_presses_per_s", rate, "presses/s", ">= 5000", rate >= 5000, baseline),
            Figure("ingest_batch_p99_ms", p99_ms, "ms", "<= 250", p99_ms <= 250),
        ]
    )


if __name__ == "__main__":
    main()
