"""Boards (plain specs) to Grafana dashboard JSON with grafana-foundation-sdk.

One builder per visualisation, every panel and query variable bound to the ClickHouse data
source (uid ``civicpulse-clickhouse``), JSON out through the SDK's encoder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from grafana_foundation_sdk.builders import barchart, bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    FieldColorModeId,
    VariableHide,
    VariableRefresh,
)

from civicpulse.dashboards.query import (
    DATASOURCE,
    ClickHouseQuery,
    ClickHouseQueryBuilder,
    QueryFormat,
)
from civicpulse.dashboards.specs import Board, PanelSpec, VariableSpec

__all__ = ["dashboard_json", "render"]

PanelBuilder = Any  # the SDK's per-visualisation Panel builders share no typed base


def _query(spec: PanelSpec) -> ClickHouseQueryBuilder:
    fmt = QueryFormat.TIME_SERIES if spec.viz in ("timeseries", "barchart") else QueryFormat.TABLE
    return ClickHouseQueryBuilder().raw_sql(spec.sql.strip()).format(fmt)


def _grid() -> PanelBuilder:
    """Weekday rows x hour columns, each cell coloured by its score (0 red .. 100 green)."""
    matrix = DataTransformerConfig(
        id_val="groupingToMatrix",
        options={"columnField": "hour_of_day", "rowField": "weekday", "valueField": "score"},
    )
    cells = common.TableColoredBackgroundCellOptions(
        mode=common.TableCellBackgroundDisplayMode.BASIC
    )
    return (
        table.Panel()
        .with_transformation(matrix)
        .cell_options(cells)
        .min(0)
        .max(100)
        .decimals(0)
        .color_scheme(dash.FieldColor().mode(FieldColorModeId.CONTINUOUS_RD_YL_GR))
    )


_BUILDERS: dict[str, Callable[[], PanelBuilder]] = {
    "stat": stat.Panel,
    "table": table.Panel,
    "timeseries": timeseries.Panel,
    "barchart": barchart.Panel,
    "bargauge": bargauge.Panel,
    "grid": _grid,
}


def _panel(spec: PanelSpec) -> PanelBuilder:
    panel = (
        _BUILDERS[spec.viz]()
        .title(spec.title)
        .description(spec.question)
        .datasource(DATASOURCE)
        .with_target(_query(spec))
        .span(spec.width)
        .height(spec.height)
    )
    if spec.unit:
        panel = panel.unit(spec.unit)
    return panel


def _variable(spec: VariableSpec) -> Any:
    if spec.constant is not None:
        return dash.ConstantVariable(spec.name).label(spec.label).value(spec.constant)
    assert spec.query is not None
    variable = (
        dash.QueryVariable(spec.name)
        .label(spec.label)
        .datasource(DATASOURCE)
        .query(ClickHouseQuery(spec.query.strip(), ref_id=spec.name).to_json())
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(spec.multi)
        .include_all(spec.include_all)
        .hide(VariableHide.DONT_HIDE)
    )
    if spec.all_value is not None:
        variable = variable.all_value(spec.all_value)
    return variable


def render(board: Board) -> Any:
    """The SDK's Dashboard model of one board."""
    builder = (
        dash.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(["civicpulse"])
        .editable()
        .time(board.time_from, "now")
        .timezone("browser")
        .refresh("1m")
    )
    for variable in board.variables:
        builder = builder.with_variable(_variable(variable))
    for panel in board.panels:
        builder = builder.with_panel(_panel(panel))
    return builder.build()


def dashboard_json(board: Board) -> dict[str, Any]:
    """Grafana dashboard JSON (a plain dict) of one board."""
    data: dict[str, Any] = json.loads(json.dumps(render(board), cls=JSONEncoder))
    return data
