"""SQL endpoint: panel queries through ClickHouse's HTTP interface vs chDB directly, and whether
dashboards refreshing through it slow the pipeline down.

One process holds the engine, as ``civicpulse up`` does: the simulated city of the dashboard
tests in a fresh database, the SQL endpoint on a free port, and (second part) the sink
consuming ``presses.accepted`` from a real broker into the same database. The endpoint's clients
run in a child process of their own, as Grafana does (in this process they would share its GIL
with the endpoint and the sink).

* ``sql_endpoint_panel_p95``: every panel's and query variable's SQL (expanded as Grafana
  expands it), run through the endpoint by clickhouse-connect over HTTP, against the same
  queries through clickhouse-connect's chDB client in the same run (rounds alternate).
  Target: p95 <= 1.5 x the direct p95 + 10 ms.
* ``sql_endpoint_press_queryable_p99``: presses produced to Kafka one every 50 ms, each timed
  until a direct query finds it in ``presses``, with 8 dashboard clients refreshing every panel
  every 5 s through the endpoint, against the same with no clients. Target: <= 1.5 x.

Broker: ``KAFKA_BOOTSTRAP`` if set, else a throw-away launcher broker on free loopback ports.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks.common import Figure, broker, parser, percentile, report
from civicpulse.schemas.settings import Settings
from civicpulse.sink.batch import BatchPolicy

CLIENTS = 8
REFRESH_SECONDS = 5.0
PROBE_SECONDS = 0.05


def _press(event_id: str) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return orjson.dumps(
        {
            "event_id": event_id, "channel": "terminal", "device_id": "bench-dev", "button": 3,
            "pressed_at": now, "received_at": now, "lang": "pl", "verdict": "counted",
            "site_id": "bench-site", "department_id": "bench-dep", "question_id": "q-visit",
            "question_kind": "citizen",
        }
    )  # fmt: skip


def _timed(client: Any, queries: list[str]) -> list[float]:
    samples = []
    for sql in queries:
        started = time.perf_counter()
        client.query(sql)
        samples.append(time.perf_counter() - started)
    return samples


def _http_client(port: int, token: str) -> Any:
    import clickhouse_connect

    return clickhouse_connect.get_client(
        host="127.0.0.1", port=port, username="bench", password=token, database="bench"
    )


def client_process() -> None:
    """The child: ``timed`` runs the queries once and prints their seconds; ``dashboards``
    runs CLIENTS threads refreshing every query every REFRESH_SECONDS until stdin closes."""
    job = orjson.loads(sys.stdin.readline())
    queries: list[str] = job["queries"]
    if job["mode"] == "timed":
        client = _http_client(job["port"], job["token"])
        _timed(client, queries)  # warm
        print(orjson.dumps(_timed(client, queries)).decode(), flush=True)
        return
    stop, refreshes = threading.Event(), list[int]()

    def refresh() -> None:
        client = _http_client(job["port"], job["token"])
        while not stop.is_set():
            started = time.monotonic()
            _timed(client, queries)
            refreshes.append(1)
            stop.wait(max(0.0, REFRESH_SECONDS - (time.monotonic() - started)))

    threads = [threading.Thread(target=refresh, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    sys.stdin.read()  # until the parent closes it
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    print(len(refreshes), flush=True)


def _child(job: dict[str, Any]) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.sql_endpoint", "--client"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    child.stdin.write(orjson.dumps(job).decode() + "\n")
    child.stdin.flush()
    return child


def panel_latencies(
    direct: Any, port: int, token: str, queries: list[str], rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds per query, directly and through the endpoint (from a child process), alternating
    rounds so both see the same machine."""
    _timed(direct, queries)  # warm
    direct_s: list[float] = []
    endpoint_s: list[float] = []
    for _ in range(rounds):
        direct_s += _timed(direct, queries)
        out, _ = _child(
            {"mode": "timed", "queries": queries, "port": port, "token": token}
        ).communicate()
        endpoint_s += orjson.loads(out)
    return direct_s, endpoint_s


def press_to_queryable(bootstrap: str, topic: str, direct: Any, seconds: float) -> list[float]:
    """Produce a press every PROBE_SECONDS for ``seconds``; seconds until each is queryable."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set() or len(seen) < len(sent):
            pending = [event for event in list(sent) if event not in seen]
            if pending:
                found = direct.query(
                    "SELECT event_id FROM presses WHERE event_id IN {ids:Array(String)}",
                    parameters={"ids": pending},
                ).result_rows
                now = time.perf_counter()
                for (event_id,) in found:
                    seen.setdefault(str(event_id), now)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        event_id = str(uuid.uuid4())
        producer.produce(topic, key=b"bench-dev", value=_press(event_id))
        producer.poll(0)
        sent[event_id] = time.perf_counter()
        time.sleep(PROBE_SECONDS)
    producer.flush(30)
    finished.set()
    watcher.join(timeout=60)
    return [seen[event] - sent[event] for event in sent if event in seen]


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--client", action="store_true", help="(internal) the client process")
    arguments.add_argument(
        "--max-threads",
        type=int,
        default=Settings().sql_max_threads,
        help="CIVICPULSE_SQL_MAX_THREADS of the endpoint under test",
    )
    arguments.add_argument(
        "--slots",
        type=int,
        default=Settings().sql_max_concurrent_queries,
        help="CIVICPULSE_SQL_MAX_CONCURRENT_QUERIES of the endpoint",
    )
    args = arguments.parse_args()
    if args.client:
        client_process()
        return
    rounds, phase = (2, 10.0) if args.quick else (20, 60.0)
    from civicpulse.api.query.tokens import ApiTokens
    from civicpulse.api.sql_endpoint import start_sql_server
    from civicpulse.infra.kafka_process import free_port
    from civicpulse.infra.topics import create_topics
    from civicpulse.schemas.topics import PRESSES_ACCEPTED, topic_name
    from civicpulse.sink.clickhouse import close_clients, create_client
    from civicpulse.sink.migrate import migrate
    from civicpulse.sink.writer import Sink
    from tests.integration.dashboards.city import load_city
    from tests.integration.sql_endpoint.conftest import panel_queries

    with tempfile.TemporaryDirectory(prefix="bench-sql-") as folder, broker() as bootstrap:
        prefix = f"bench{uuid.uuid4().hex[:8]}."
        settings = Settings(
            clickhouse_dsn=f"chdb://{Path(folder) / 'chdb'}",
            clickhouse_database="bench",
            data_dir=Path(folder),
            topic_prefix=prefix,
            sql_port=free_port(),
            sql_max_threads=args.max_threads,
            sql_max_concurrent_queries=args.slots,
            kafka_bootstrap=bootstrap,
        )
        migrate(settings)
        direct = create_client(settings)
        queries = [sql for _, sql in panel_queries(load_city(direct))]
        tokens = ApiTokens(Path(folder) / "api-tokens.json")
        token = tokens.add("bench")
        server = start_sql_server(settings, tokens)
        assert server is not None
        direct_s, endpoint_s = panel_latencies(direct, server.port, token, queries, rounds)

        create_topics(bootstrap, prefix)
        sink = Sink(settings, group_id=f"bench-{uuid.uuid4().hex}", policy=BatchPolicy())
        sink_thread = threading.Thread(target=sink.run, daemon=True)
        sink_thread.start()
        topic = topic_name(PRESSES_ACCEPTED, prefix)
        press_to_queryable(bootstrap, topic, direct, 3.0)  # the sink has joined and warmed up
        quiet = press_to_queryable(bootstrap, topic, direct, phase)
        dashboards = _child(
            {"mode": "dashboards", "queries": queries, "port": server.port, "token": token}
        )
        loaded = press_to_queryable(bootstrap, topic, direct, phase)
        refreshes, _ = dashboards.communicate()  # closes its stdin: the clients stop
        sink.stop()
        sink_thread.join(timeout=60)
        server.stop()
        close_clients()

    direct_p95, endpoint_p95 = percentile(direct_s, 95), percentile(endpoint_s, 95)
    quiet_p99, loaded_p99 = percentile(quiet, 99), percentile(loaded, 99)
    print(
        f"endpoint: {args.slots} slot(s), max_threads {args.max_threads}; "
        f"{len(queries)} panel queries x {rounds} rounds; {len(quiet)}/{len(loaded)} probe "
        f"presses (quiet/loaded); {refreshes.strip()} dashboard refreshes by {CLIENTS} clients "
        f"in {phase:g} s"
    )
    report(
        [
            Figure("sql_endpoint_panel_p95", endpoint_p95 * 1000, "ms",
                   "<= 1.5x direct + 10 ms", endpoint_p95 <= 1.5 * direct_p95 + 0.010,
                   baseline=direct_p95 * 1000),
            Figure("sql_endpoint_press_queryable_p99", loaded_p99 * 1000, "ms",
                   f"<= 1.5x without clients ({CLIENTS} clients, refresh {REFRESH_SECONDS:g} s)",
                   loaded_p99 <= 1.5 * quiet_p99, baseline=quiet_p99 * 1000),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    main()
