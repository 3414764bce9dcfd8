"""The "pipeline health" board: the processes' own Prometheus metrics, not the city's data.

Unlike the other boards (ClickHouse SQL, :mod:`.specs`), every panel here is PromQL on the
Prometheus data source (uid ``civicpulse-prometheus``, provisioned beside the ClickHouse one by
:mod:`.provisioning`) over the metrics of ``stream/framework/metrics.py`` (workers),
``sink/metrics.py``, ``api/metrics.py`` and ``civicpulse/supervisor.py``. The specs are plain
data, the single source for the JSON (:func:`health_json`), the docs (:mod:`.docs`) and the tests
(each expression evaluated by a real Prometheus over a real ``civicpulse up``).

``$__rate_interval`` is Grafana's window for ``rate``: at least four scrape intervals of the data
source (its ``timeInterval``), so a rate always spans two samples or more.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

__all__ = [
    "HEALTH",
    "PROMETHEUS",
    "PROMETHEUS_TYPE",
    "PROMETHEUS_UID",
    "RATE_INTERVAL",
    "HealthBoard",
    "HealthPanel",
    "PromQuery",
    "expand",
    "health_json",
    "metric_names",
    "metrics_of",
]

PROMETHEUS_TYPE = "prometheus"
PROMETHEUS_UID = "civicpulse-prometheus"
PROMETHEUS = DataSourceRef(type_val=PROMETHEUS_TYPE, uid=PROMETHEUS_UID)
#: Grafana's rate window variable, in the expressions as Grafana receives them
RATE_INTERVAL = "$__rate_interval"

Viz = Literal["timeseries", "stat", "bargauge"]


@dataclass(frozen=True)
class PromQuery:
    expr: str
    legend: str


@dataclass(frozen=True)
class HealthPanel:
    title: str
    question: str
    queries: tuple[PromQuery, ...]
    viz: Viz = "timeseries"
    unit: str | None = None
    width: int = 12
    height: int = 8


@dataclass(frozen=True)
class HealthBoard:
    uid: str
    title: str
    description: str
    panels: tuple[HealthPanel, ...]
    time_from: str = "now-6h"


def _rate(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}[{RATE_INTERVAL}]))"


def _p99(histogram: str, by: str) -> str:
    return (
        f"histogram_quantile(0.99, sum by ({by}, le) (rate({histogram}_bucket[{RATE_INTERVAL}])))"
    )


_FLOW = (
    HealthPanel(
        "Presses into the pipeline",
        "How many presses per second does the API accept per channel, and how many press "
        "requests does it refuse (by status)?",
        (
            PromQuery(_rate("civicpulse_api_presses_accepted_total", "channel"), "{{channel}}"),
            PromQuery(
                _rate("civicpulse_api_press_requests_refused_total", "channel, status"),
                "refused {{channel}} {{status}}",
            ),
        ),
        unit="ops",
    ),
    HealthPanel(
        "Records in per stage",
        "How many records per second does each stream processor read, by outcome (processed, "
        "skipped as already applied, held back behind a hole, undecodable)?",
        (
            PromQuery(
                _rate("civicpulse_stream_records_in_total", "processor, outcome"),
                "{{processor}} {{outcome}}",
            ),
        ),
        unit="ops",
    ),
    HealthPanel(
        "Records out per stage and verdict",
        "How many records per second does each processor emit per topic (anti-spam's "
        "presses.accepted and presses.rejected are its verdicts)?",
        (
            PromQuery(
                _rate("civicpulse_stream_records_out_total", "processor, topic"),
                "{{processor}} → {{topic}}",
            ),
        ),
        unit="ops",
    ),
    HealthPanel(
        "Rows stored per table",
        "How many rows per second does the sink insert into each ClickHouse table?",
        (PromQuery(_rate("civicpulse_sink_rows_written_total", "table"), "{{table}}"),),
        unit="ops",
    ),
)

_PROGRESS = (
    HealthPanel(
        "Consumer lag per partition",
        "How many records wait between the group's committed offset and the log end, per "
        "source partition (growing: the workers cannot keep up or one is stuck)?",
        (
            PromQuery(
                "sum by (topic, partition) (civicpulse_stream_consumer_lag_records)",
                "{{topic}}[{{partition}}]",
            ),
        ),
        unit="short",
    ),
    HealthPanel(
        "Watermark age",
        "How far behind the wall clock is each windowing processor's event-time watermark "
        "(flat and growing while presses arrive: a lane holds it back, no window closes)?",
        (
            PromQuery(
                "time() - max by (processor) (civicpulse_stream_watermark_timestamp_seconds)",
                "{{processor}}",
            ),
        ),
        unit="s",
    ),
    HealthPanel(
        "Open windows",
        "How many score windows holding a press are not closed yet, per scope level and window?",
        (
            PromQuery(
                "sum by (scope, window) (civicpulse_stream_open_windows)", "{{scope}} {{window}}"
            ),
        ),
        unit="short",
    ),
    HealthPanel(
        "State size",
        "How many keys does each processor's table hold on the workers (anti-spam's device "
        "histories, scores' minute records, reasons)?",
        (PromQuery("sum by (table) (civicpulse_stream_state_keys)", "{{table}}"),),
        unit="short",
    ),
    HealthPanel(
        "Time since the last commit",
        "How long ago did each stream processor and the sink last commit a checkpoint?",
        (
            PromQuery(
                "time() - max by (processor) (civicpulse_stream_last_commit_timestamp_seconds)",
                "{{processor}}",
            ),
            PromQuery("time() - max(civicpulse_sink_last_commit_timestamp_seconds)", "sink"),
        ),
        unit="s",
    ),
)

_LATENCY_AND_FAULTS = (
    HealthPanel(
        "Stream batch and commit latency (p99)",
        "How long does one agent batch (commit included) and one checkpoint commit take, 99th "
        "percentile per processor?",
        (
            PromQuery(_p99("civicpulse_stream_batch_seconds", "processor"), "batch {{processor}}"),
            PromQuery(
                _p99("civicpulse_stream_commit_seconds", "processor"), "commit {{processor}}"
            ),
        ),
        unit="s",
    ),
    HealthPanel(
        "Sink insert latency (p99) and API latency (p99)",
        "How long does one sink insert take per table, and the API's answer per route, 99th "
        "percentile?",
        (
            PromQuery(_p99("civicpulse_sink_insert_seconds", "table"), "insert {{table}}"),
            PromQuery(_p99("civicpulse_api_request_seconds", "route"), "api {{route}}"),
        ),
        unit="s",
    ),
    HealthPanel(
        "Dead letters",
        "How many messages did the stream processors and the sink send to the dead-letter "
        "topic (per interval)?",
        (
            PromQuery(
                f"sum by (processor) (increase(civicpulse_stream_dead_letters_total"
                f"[{RATE_INTERVAL}]))",
                "stream {{processor}}",
            ),
            PromQuery(
                f"sum by (topic) (increase(civicpulse_sink_dead_letters_total[{RATE_INTERVAL}]))",
                "sink {{topic}}",
            ),
        ),
        viz="timeseries",
        unit="short",
    ),
    HealthPanel(
        "Worker restarts (last hour)",
        "How often was a stream worker restarted: by `civicpulse up`'s supervisor, or (under "
        "systemd, Kubernetes, Compose) seen as a new start time?",
        (
            PromQuery(
                "sum by (child) (increase(civicpulse_supervisor_restarts_total[1h]))",
                "supervised {{child}}",
            ),
            PromQuery(
                "sum by (instance) (changes(civicpulse_stream_worker_start_time_seconds[1h]))",
                "started {{instance}}",
            ),
        ),
        viz="stat",
        unit="short",
        width=24,
        height=6,
    ),
)

HEALTH = HealthBoard(
    uid="civicpulse-pipeline-health",
    title="civicpulse · Pipeline health",
    description="Is the pipeline keeping up? Presses in and out per stage, lag, watermark, open "
    "windows, state, latency, dead letters and restarts, from the processes' Prometheus metrics.",
    panels=(*_FLOW, *_PROGRESS, *_LATENCY_AND_FAULTS),
)


def expand(expr: str, rate_interval: str) -> str:
    """``expr`` as Grafana sends it to Prometheus, with ``$__rate_interval`` = ``rate_interval``
    (Grafana's choice: the larger of four scrape intervals and the step plus one interval)."""
    return expr.replace(RATE_INTERVAL, rate_interval)


_METRIC = re.compile(r"\bcivicpulse_[a-z0-9_]+")


def metrics_of(expr: str) -> set[str]:
    """The sample names (``_total``, ``_bucket`` ... included) one expression reads."""
    return set(_METRIC.findall(expr))


def metric_names(board: HealthBoard = HEALTH) -> set[str]:
    """Every sample name the board's queries read."""
    return {name for panel in board.panels for q in panel.queries for name in metrics_of(q.expr)}


def _target(query: PromQuery, ref_id: str) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .expr(query.expr)
        .legend_format(query.legend)
        .range()
        .ref_id(ref_id)
        .datasource(PROMETHEUS)
    )


_BUILDERS: dict[str, Any] = {
    "timeseries": timeseries.Panel,
    "stat": stat.Panel,
    "bargauge": bargauge.Panel,
}


def _panel(spec: HealthPanel) -> Any:
    panel = (
        _BUILDERS[spec.viz]()
        .title(spec.title)
        .description(spec.question)
        .datasource(PROMETHEUS)
        .span(spec.width)
        .height(spec.height)
    )
    for index, query in enumerate(spec.queries):
        panel = panel.with_target(_target(query, chr(ord("A") + index)))
    if spec.unit:
        panel = panel.unit(spec.unit)
    return panel


def health_json(board: HealthBoard = HEALTH) -> dict[str, Any]:
    """Grafana dashboard JSON (a plain dict) of the pipeline health board."""
    builder = (
        dash.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(["civicpulse", "operations"])
        .editable()
        .time(board.time_from, "now")
        .timezone("browser")
        .refresh("30s")
    )
    for panel in board.panels:
        builder = builder.with_panel(_panel(panel))
    data: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return data
