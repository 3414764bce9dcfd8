"""The pipeline health board against a real Prometheus scraping a real ``civicpulse up``.

``civicpulse up`` (stream worker on ``CIVICPULSE_METRICS_PORT``; sink, API and supervisor on the
API's /metrics) judges and stores a simulated hour of presses; Debian's ``prometheus`` scrapes
both pages every second. Then, for every query of every panel, as Grafana sends it:

* every metric it names is served by one of the two pages (a family the code declares, samples
  or not): a misspelt metric fails here even where Prometheus would answer an empty result;
* Prometheus evaluates it through its HTTP API without an error (a PromQL typo fails);
* when every metric it names has samples, it answers series, and each series carries the labels
  the panel's legend prints (a misspelt ``by (...)`` label fails).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from civicpulse.dashboards.health import HEALTH, PromQuery, expand, metric_names, metrics_of
from civicpulse.infra.kafka_process import free_port
from civicpulse.infra.topics import TopicReport
from civicpulse.schemas.topics import CATALOGUE_DEVICES, PRESSES_RAW, topic_name
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.catalogue.topic import publish_catalogue

from ..metrics_scrape import parse, served_names, total
from ..stream_worker import produce

PROMETHEUS = shutil.which("prometheus")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        PROMETHEUS is None,
        reason="prometheus missing: scripts/bootstrap --dev installs Debian's prometheus",
    ),
]

#: Grafana's $__rate_interval for the test's 1 s scrape interval: four intervals and more
RATE_INTERVAL = "10s"


def _wait(
    what: str, check: Callable[[], bool], timeout: float, *alive: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        for process in alive:
            assert process.poll() is None, f"pid {process.pid} exited waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _page(url: str) -> str:
    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return ""
    return response.text if response.status_code == 200 else ""


def _config(path: Path, targets: list[str]) -> Path:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "civicpulse", "static_configs": [{"targets": targets}]},
        ],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.post(f"{prometheus}/api/v1/query", data={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", f"{expr}: {answer}"
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _queries() -> Iterator[tuple[str, PromQuery]]:
    for panel in HEALTH.panels:
        for query in panel.queries:
            yield panel.title, query


def _legend_labels(legend: str) -> set[str]:
    return {part.split("}}")[0].strip() for part in legend.split("{{")[1:]}


def _answers_with_labels(prometheus: str, query: PromQuery) -> bool:
    series = _query(prometheus, expand(query.expr, RATE_INTERVAL))
    wanted = _legend_labels(query.legend)
    return bool(series) and all(wanted <= set(s["metric"]) for s in series)


def _start_prometheus(
    binary: str, config: Path, tmp_path: Path, port: int
) -> subprocess.Popen[bytes]:
    with (tmp_path / "prometheus.log").open("wb") as log:
        return subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=log,
        )


def _start_up(
    tmp_path: Path, bootstrap: str, prefix: str, ports: dict[str, int]
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": prefix,
        "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
        "CIVICPULSE_CLICKHOUSE_DSN": f"chdb:///{tmp_path / 'chdb'}",
        "CIVICPULSE_METRICS_PORT": str(ports["worker"]),
    }
    command = [sys.executable, "-m", "civicpulse", "up", "--api-port", str(ports["api"])]
    with (tmp_path / "up.log").open("wb") as log:
        return subprocess.Popen(
            [*command, "--sql-port", str(ports["sql"])], env=env, stdout=log, stderr=log
        )


def _web_presses(api: str, device: str) -> None:
    """One web press accepted (the API follows the catalogue topic: retried until it knows the
    device) and one refused (a device the catalogue does not have): both API press counters."""
    body = {"device_id": device, "button": 4, "pressed_at": datetime.now(UTC).isoformat()}

    def accepted() -> bool:
        sent = {**body, "event_id": str(uuid.uuid4()), "browser_id": uuid.uuid4().hex}
        return httpx.post(f"{api}/v1/web/presses", json=sent, timeout=10).status_code == 202

    _wait(f"the API to accept a press of {device}", accepted, 60)
    unknown = {**body, "event_id": str(uuid.uuid4()), "device_id": "web-nobody"}
    assert httpx.post(f"{api}/v1/web/presses", json=unknown, timeout=10).status_code >= 400


#: sample names this run cannot give a sample, and why: every other queried name must have one,
#: and each of these must still have none (an entry that gets samples fails: delete it)
NO_SAMPLE = {
    "civicpulse_sink_dead_letters_total": "ClickHouse refuses no row of a valid press",
    "civicpulse_supervisor_restarts_total": "nothing restarts in this run",
}


def test_every_health_query_evaluates_in_prometheus_over_a_real_stack(
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], TopicReport],
    tmp_path: Path,
) -> None:
    assert PROMETHEUS is not None
    create_test_topics()
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    sim = Simulation(PRESETS["demo"], start, timedelta(hours=1), 0.05, 23)
    catalogue = sim.catalogue()
    publish_catalogue(kafka_bootstrap, topic_name(CATALOGUE_DEVICES, topic_prefix), catalogue)
    ports = {name: free_port() for name in ("api", "sql", "worker", "prometheus")}
    pages = {name: f"http://127.0.0.1:{ports[name]}/metrics" for name in ("api", "worker")}
    up = _start_up(tmp_path, kafka_bootstrap, topic_prefix, ports)
    config = _config(tmp_path / "prometheus.yml", [f"127.0.0.1:{ports[n]}" for n in pages])
    prometheus = _start_prometheus(PROMETHEUS, config, tmp_path, ports["prometheus"])
    server = f"http://127.0.0.1:{ports['prometheus']}"
    try:
        _wait("both /metrics pages", lambda: all(_page(u) for u in pages.values()), 120, up)
        web = next(d.device_id for d in catalogue.devices if d.channel == "web")
        _web_presses(f"http://127.0.0.1:{ports['api']}", web)
        produce(
            kafka_bootstrap,
            topic_name(PRESSES_RAW, topic_prefix),
            ((p.key, p.line) for p in sim.presses()),
        )

        def sampled() -> set[str]:
            return {name for url in pages.values() for name, _ in parse(_page(url))}

        def flowed() -> bool:
            worker, api = parse(_page(pages["worker"])), parse(_page(pages["api"]))
            judged = total(worker, "civicpulse_stream_records_out_total", processor="antispam")
            stored = total(api, "civicpulse_sink_rows_written_total", table="presses")
            return judged > 0 and stored > 0

        _wait("presses judged and stored", flowed, 90, up, prometheus)
        # every metric a panel names is served by the real processes (samples or not) ...
        served = set().union(*(served_names(_page(url)) for url in pages.values()))
        assert metric_names() <= served, sorted(metric_names() - served)
        # ... and gets samples (the lag gauge at the watchdog's next look) unless it cannot here
        _wait(
            f"samples of every queried metric but {sorted(NO_SAMPLE)}",
            lambda: metric_names() - sampled() <= set(NO_SAMPLE),
            30,
            up,
        )
        with_samples = sampled()
        stale = set(NO_SAMPLE) & with_samples
        assert not stale, f"these have samples now: delete them from NO_SAMPLE: {sorted(stale)}"
        answering = [q for _, q in _queries() if metrics_of(q.expr) <= with_samples]
        deadline = time.monotonic() + 30
        while failing := [q.expr for q in answering if not _answers_with_labels(server, q)]:
            assert prometheus.poll() is None, "prometheus exited"
            assert time.monotonic() < deadline, f"no series with the legend's labels: {failing}"
            time.sleep(0.5)
        for _, query in _queries():  # the rest must evaluate too (an empty answer)
            _query(server, expand(query.expr, RATE_INTERVAL))
    finally:
        for process in (prometheus, up):
            process.terminate()
        assert up.wait(timeout=60) == 0, (tmp_path / "up.log").read_text()[-3000:]
        prometheus.wait(timeout=30)
