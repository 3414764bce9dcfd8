"""The live wall's assembly of query rows and catalogue names (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civicpulse.api.pages.live_summary import Rows, assemble
from tests.browser.wall_setup import NAMES, wall_catalogue

AT = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
END = AT.replace(tzinfo=None)  # ClickHouse hands back naive UTC


def _rows(**parts: list[tuple[object, ...]]) -> Rows:
    empty: dict[str, list[tuple[object, ...]]] = {
        "scores": [], "spark": [], "presses": [], "alerts": [], "total_scores": [],
        "total_spark": [],
    }  # fmt: skip
    return Rows(**{**empty, **parts})


def test_departments_in_catalogue_order_with_names_and_figures() -> None:
    rows = _rows(
        scores=[("dep-b", END, 8, 25.0), ("dep-x", END, 2, 100.0)],
        presses=[("dep-a", 1, 5), ("dep-b", 2, 8)],
        spark=[("dep-b", END - timedelta(minutes=5), 7, 30.0), ("dep-b", END, 8, 25.0)],
        total_scores=[("krakow", END, 10, 40.0)],
        total_spark=[("krakow", END, 10, 40.0)],
        alerts=[("a1", "department", "dep-b", "dep-b", 25.0, 8, 50.0, END, "low_score", END)],
    )
    summary = assemble(rows, wall_catalogue(), at=AT, level="department")
    assert [i.id for i in summary.items] == ["dep-a", "dep-b", "dep-x"]  # unknown id kept, last
    a, b, x = summary.items
    assert (a.name, a.score, a.n, a.presses_1m, a.presses_15m) == (NAMES["dep-a"], None, 0, 1, 5)
    assert (b.name, b.score, b.n, b.open_alerts) == (NAMES["dep-b"], 25.0, 8, 1)
    assert b.window_end == AT and [p.score for p in b.spark] == [30.0, 25.0]
    assert x.name == "dep-x"
    assert summary.total.id == "city" and summary.total.score == 40.0
    assert (summary.total.presses_1m, summary.total.presses_15m) == (3, 13)
    assert summary.alerts[0].name == NAMES["dep-b"] and summary.department is None


def test_one_department_lists_its_sites_only() -> None:
    rows = _rows(
        scores=[("site-a", END, 4, 75.0)],
        total_scores=[("dep-a", END, 6, 50.0)],
        alerts=[("a2", "site", "site-b", "dep-a", 10.0, 5, 40.0, END, "low_score", END)],
    )
    summary = assemble(rows, wall_catalogue(), at=AT, level="site", department="dep-a")
    assert [(i.id, i.name) for i in summary.items] == [
        ("site-a", NAMES["site-a"]),
        ("site-b", NAMES["site-b"]),
    ]
    assert summary.items[1].open_alerts == 1 and summary.items[0].open_alerts == 0
    assert summary.department is not None and summary.department.name == NAMES["dep-a"]
    assert summary.total.score == 50.0
