"""docs/dashboards.md carries the generated catalogue of every dashboard and panel, up to date."""

from __future__ import annotations

from pathlib import Path

from civicpulse.dashboards.docs import BEGIN, END, catalogue
from civicpulse.dashboards.specs import boards

DOC = Path(__file__).resolve().parents[3] / "docs" / "dashboards.md"


def test_doc_block_is_the_generated_catalogue() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = BEGIN + text.partition(BEGIN)[2].partition(END)[0] + END
    assert block == catalogue(), (
        "docs/dashboards.md is stale: run "
        ".venv/bin/python -m civicpulse.dashboards.docs docs/dashboards.md"
    )


def test_doc_lists_every_dashboard_and_panel() -> None:
    text = DOC.read_text(encoding="utf-8")
    for board in boards("Europe/Warsaw"):
        assert f"uid `{board.uid}`" in text
        for panel in board.panels:
            assert f"#### {panel.title}\n" in text
            assert panel.sql.strip() in text
