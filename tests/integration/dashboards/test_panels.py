"""Every panel's SQL (and every query variable's), expanded as Grafana and the ClickHouse plugin
expand it, runs on the real engine over a simulated city and shows the numbers a Python
recomputation from the stored presses gives."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from civicpulse.dashboards.macros import ALL, MACROS, QueryContext, Value, expand, macro_names
from civicpulse.dashboards.specs import Board, boards
from civicpulse.schemas.settings import Settings

from .city import DAY_END, DAY_START, TZ, Stored, load_city
from .oracles import ORACLES, VARIABLE_ORACLES

pytestmark = pytest.mark.integration

BOARDS = {board.uid: board for board in boards(TZ)}
CTX = QueryContext(DAY_START, DAY_END, timedelta(minutes=5))
# Selections per dashboard, by label; values that depend on the data are filled in by `city`.
SELECTIONS: dict[str, list[str]] = {
    "civicpulse-department": ["one-department", "sites-and-question"],
    "civicpulse-site": ["busiest-site"],
    "civicpulse-heatmap": ["all-departments", "one-department"],
}


@pytest.fixture(scope="module")
def city(chdb_session_path: Path) -> Iterator[tuple[Client, Stored]]:
    """One migrated database loaded once for the module (dropped afterwards)."""
    from civicpulse.sink.clickhouse import create_client
    from civicpulse.sink.migrate import migrate
    from tests.fixtures.clickhouse import _server_dsn

    database = f"t_{uuid.uuid4().hex[:12]}"
    settings = Settings(
        clickhouse_dsn=_server_dsn() or f"chdb://{chdb_session_path}",
        clickhouse_database=database,
        data_dir=chdb_session_path.parent,
    )
    migrate(settings)
    client = create_client(settings)
    yield client, load_city(client)
    create_client(settings, database="default").command(f"DROP DATABASE IF EXISTS `{database}`")


def _selection(uid: str, label: str, stored: Stored) -> dict[str, Value]:
    counted = [p for p in stored.final_presses() if p["verdict"] == "counted" and p["site_id"]]
    departments = sorted({p["department_id"] for p in counted})
    by_site: dict[str, int] = {}
    for p in counted:
        by_site[p["site_id"]] = by_site.get(p["site_id"], 0) + 1
    if uid == "civicpulse-site":
        busiest: str = max(sorted(by_site), key=by_site.__getitem__)
        return {"site": busiest}
    if label == "all-departments":
        return {"department": ALL}
    if label == "one-department":
        return (
            {"department": [departments[0]], "site": [ALL], "question": [ALL]}
            if uid == "civicpulse-department"
            else {"department": departments[0]}
        )
    sites = sorted({p["site_id"] for p in counted if p["department_id"] == departments[-1]})[:2]
    questions = sorted(
        {p["question_id"] for p in counted if p["site_id"] in sites and p["question_id"]}
    )
    return {"department": [ALL], "site": sites, "question": questions[:1]}


def _variables(board: Board, selection: Mapping[str, Value]) -> dict[str, Value]:
    constants = {v.name: v.constant for v in board.variables if v.constant is not None}
    return {**constants, **selection}


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else pytest.approx(value, rel=1e-9, abs=1e-9)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _cases() -> list[Any]:
    cases = []
    for uid, board in BOARDS.items():
        for label in SELECTIONS.get(uid, ["default"]):
            for panel in board.panels:
                cases.append(
                    pytest.param(uid, panel.title, label, id=f"{uid}/{panel.title}/{label}")
                )
    return cases


def _variable_cases() -> list[Any]:
    cases = []
    for uid, board in BOARDS.items():
        for label in SELECTIONS.get(uid, ["default"]):
            for variable in board.variables:
                if variable.query is not None:
                    cases.append(
                        pytest.param(
                            uid, variable.name, label, id=f"{uid}/${variable.name}/{label}"
                        )
                    )
    return cases


def _run(
    client: Client, sql: str, board: Board, selection: Mapping[str, Value]
) -> list[tuple[Any, ...]]:
    expanded = expand(sql, CTX, _variables(board, selection), board.all_values)
    assert "$" not in expanded, f"unexpanded macro or variable left in:\n{expanded}"
    return [tuple(row) for row in client.query(expanded).result_rows]


@pytest.mark.parametrize(("uid", "title", "label"), _cases())
def test_panel_matches_recomputation(
    city: tuple[Client, Stored], uid: str, title: str, label: str
) -> None:
    client, stored = city
    board = BOARDS[uid]
    panel = next(p for p in board.panels if p.title == title)
    assert macro_names(panel.sql) <= {*MACROS, "conditionalAll"}
    selection = _selection(uid, label, stored)
    got = _run(client, panel.sql, board, selection)
    want = ORACLES[(uid, title)](stored, CTX, selection)
    assert want, "the simulated city should give this panel something to show"
    assert [tuple(map(_normal, row)) for row in got] == [tuple(map(_normal, row)) for row in want]


@pytest.mark.parametrize(("uid", "name", "label"), _variable_cases())
def test_query_variable_matches_recomputation(
    city: tuple[Client, Stored], uid: str, name: str, label: str
) -> None:
    client, stored = city
    board = BOARDS[uid]
    variable = next(v for v in board.variables if v.name == name)
    assert variable.query is not None
    selection = _selection(uid, label, stored)
    selection = {k: v for k, v in selection.items() if k != name}
    got = _run(client, variable.query, board, selection)
    want = VARIABLE_ORACLES[(uid, name)](stored, CTX, selection)
    assert want and got == want


def test_every_panel_has_an_oracle() -> None:
    panels = {(uid, p.title) for uid, b in BOARDS.items() for p in b.panels}
    assert panels == set(ORACLES)
