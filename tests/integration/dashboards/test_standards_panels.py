"""The service-standards panels over a simulated month on the real engine (issue 24).

Standards are set for every department (and one site question) in the catalogue, mirrored into
ClickHouse by :mod:`civicpulse.analytics.standards_mirror`; the panels' SQL, expanded as Grafana
expands it, run on chDB and through the SQL endpoint, gives exactly the items of
``GET /v1/standards`` (granularity day and month), which equal an independent recomputation from
the stored presses (``recompute`` of the API's own test). A changed and a removed standard
reach the table.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from civicpulse.analytics.standards_mirror import StandardsMirror, current_rows, mirror_standards
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.api.sql_endpoint import start_sql_server
from civicpulse.dashboards.macros import ALL, QueryContext, Value, expand
from civicpulse.dashboards.specs import Board, boards
from civicpulse.infra.kafka_process import free_port
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.settings import Settings
from tests.fixtures.clickhouse import _server_dsn
from tests.integration.analytics.api_setup import walk
from tests.integration.analytics.data import TZ
from tests.integration.analytics.test_standards import (  # noqa: F401 (fixtures)
    MONTH_END,
    MONTH_START,
    STANDARDS,
    _catalogue,
    api,
    month,
    recompute,
)

pytestmark = pytest.mark.integration

BOARD = next(b for b in boards(TZ) if b.uid == "civicpulse-department")
PANELS = {p.title: p.sql for p in BOARD.panels}
MONTH = QueryContext(MONTH_START, MONTH_END, timedelta(days=1))
PARAMS = {"from": "2026-09-01", "to": "2026-10-01"}


def _expand(title: str, board: Board = BOARD, ctx: QueryContext = MONTH, **sel: Value) -> str:
    variables: dict[str, Value] = {"tz": TZ, "department": [ALL], "site": [ALL], "question": [ALL]}
    return expand(PANELS[title], ctx, {**variables, **sel}, board.all_values)


def _run(client: Client, sql: str) -> list[dict[str, Any]]:
    result = client.query(sql)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _same(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _day_items(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (r["standard"], _city_day(r["time"]), _same(r["score"]), r["target_score"]) for r in rows
    ]


def _city_day(moment: datetime) -> str:
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return utc.astimezone(ZoneInfo(TZ)).date().isoformat()


def _standard(item: dict[str, Any]) -> str:
    question = f" · {item['question']}" if item["question"] else ""
    return f"{item['scope']} {item['id']}{question}"


@pytest.fixture
def mirrored(clickhouse_client: Client, month: list[JudgedPress]) -> Client:  # noqa: F811
    assert mirror_standards(clickhouse_client, _catalogue())
    return clickhouse_client


@pytest.fixture
def grafana_client(clickhouse_settings: Settings, mirrored: Client) -> Iterator[Client]:
    """clickhouse-connect over the SQL endpoint (as Grafana's data source reads it)."""
    if _server_dsn():
        pytest.skip("a ClickHouse server is configured: the SQL endpoint is off by design")
    settings = clickhouse_settings.model_copy(update={"sql_port": free_port()})
    tokens = ApiTokens(settings.data_dir / f"h24-tokens-{settings.clickhouse_database}.json")
    server = start_sql_server(settings, tokens)
    assert server is not None
    try:
        yield clickhouse_connect.get_client(
            host=server.host,
            port=server.port,
            username="grafana",
            password=tokens.add("grafana"),
            database=settings.clickhouse_database,
        )
    finally:
        server.stop()


def test_panels_equal_the_api_and_the_recomputation(
    mirrored: Client,
    api: tuple[TestClient, str],  # noqa: F811
    month: list[JudgedPress],  # noqa: F811
    grafana_client: Client,
) -> None:
    client, token = api
    expected = recompute(month)
    days = list(walk(client, "/v1/standards", PARAMS, token))
    months = list(walk(client, "/v1/standards", {**PARAMS, "granularity": "month"}, token))

    per_day = _run(mirrored, _expand("Service standards per day"))
    assert [r["time"] for r in per_day] == sorted(r["time"] for r in per_day)
    assert sorted(_day_items(per_day)) == sorted(
        (_standard(i), i["period"], i["score"], i["target_score"]) for i in days
    )
    recomputed = sorted(
        (_standard(dict(zip(("scope", "id", "question"), key, strict=True))), day, *item)
        for key, items in expected.items()
        for day, item in items.items()
    )
    assert [(s, d, target) for s, d, _, _, _, target in recomputed] == sorted(
        (s, d, target) for s, d, _, target in _day_items(per_day)
    )
    assert [score for _, _, _, score, _, _ in recomputed] == [
        pytest.approx(score) if score is not None else None
        for _, _, score, _ in sorted(_day_items(per_day))
    ]

    fields = ("scope", "id", "question", "score", "responses", "target_score",
              "min_responses_per_day", "status", "days_met", "days_missed",
              "days_too_few")  # fmt: skip
    by_month = _run(mirrored, _expand("Service standards by month"))
    want = [{**{f: i[f] for f in fields}, "month": i["period"]} for i in months]
    assert [{**r, "score": pytest.approx(r["score"])} for r in by_month] == want
    # the range is one month: "this month" is the same month
    assert _run(mirrored, _expand("Service standards this month")) == by_month

    for title in ("Service standards per day", "Service standards by month"):
        sql = _expand(title)
        assert grafana_client.query(sql).result_rows == mirrored.query(sql).result_rows, title

    only_b = _run(mirrored, _expand("Service standards by month", department=["dep-b"]))
    assert [(r["scope"], r["id"]) for r in only_b] == [("department", "dep-b")]


def _generations(client: Client) -> int:
    return int(client.query("SELECT count() FROM standards_generations").result_rows[0][0])


def _changed_catalogue() -> Catalogue:
    """dep-b's standard removed, dep-a's September target raised from 70 to 80."""
    standards = [
        {**s, "target_score": 80} if s["id"] == "dep-a" and s["from"] == "2026-09-15" else s
        for s in STANDARDS
        if s["id"] != "dep-b"
    ]
    data = _catalogue().model_dump(mode="json", by_alias=True)
    return Catalogue.model_validate({**data, "standards": standards})


def test_a_changed_and_a_removed_standard_reach_the_table_and_the_panels(
    mirrored: Client, clickhouse_settings: Settings, tmp_path: Any
) -> None:
    from civicpulse.api.app import create_app

    changed = _changed_catalogue()
    assert not mirror_standards(mirrored, _catalogue())  # the same set: nothing written
    generations = _generations(mirrored)
    assert mirror_standards(mirrored, changed)
    assert _generations(mirrored) == generations + 1
    stored = {(r[1], r[5].isoformat()): r[3] for r in current_rows(mirrored)}
    assert "dep-b" not in {key[0] for key in stored}
    assert stored[("dep-a", "2026-09-15")] == 80.0 and stored[("dep-a", "2026-01-01")] == 66.0

    settings = clickhouse_settings.model_copy(update={"data_dir": tmp_path, "city_timezone": TZ})
    token = ApiTokens.in_data_dir(tmp_path).add("tests")
    api_client = TestClient(create_app(settings, catalogue=changed))
    months = list(walk(api_client, "/v1/standards", {**PARAMS, "granularity": "month"}, token))
    by_month = _run(mirrored, _expand("Service standards by month"))
    assert [(r["id"], r["target_score"], r["status"], r["days_met"]) for r in by_month] == [
        (i["id"], i["target_score"], i["status"], i["days_met"]) for i in months
    ]
    assert {r["id"] for r in by_month} == {"dep-a", "site-a"}


def test_the_mirror_follows_the_catalogue_once_it_was_read(clickhouse_client: Client) -> None:
    catalogue = {"now": _catalogue()}
    ready = {"now": False}
    mirror = StandardsMirror(clickhouse_client, lambda: catalogue["now"], lambda: ready["now"])
    mirror.poll()  # not read yet: the empty catalogue of a starting process writes nothing
    assert mirror.writes == 0 and current_rows(clickhouse_client) == []
    ready["now"] = True
    mirror.poll()
    mirror.poll()
    assert mirror.writes == 1 and len(current_rows(clickhouse_client)) == len(STANDARDS)
    catalogue["now"] = _changed_catalogue()
    mirror.poll()
    assert mirror.writes == 2 and len(current_rows(clickhouse_client)) == len(STANDARDS) - 1
    catalogue["now"] = Catalogue()  # every standard removed
    mirror.poll()
    assert mirror.writes == 3 and current_rows(clickhouse_client) == []
    # a restarted process finds the stored set equal to the catalogue's and writes nothing
    again = StandardsMirror(clickhouse_client, Catalogue, lambda: True)
    again.poll()
    assert again.writes == 0
