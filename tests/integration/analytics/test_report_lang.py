"""`civicpulse report --lang pl|en --catalogue`: sites and departments by name, pl and en."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from typer.testing import CliRunner

from civicpulse.schemas.settings import Settings
from tests.browser.wall_setup import NAMES, wall_catalogue

from .data import DAY_START, TZ, insert_presses, make_presses

pytestmark = pytest.mark.integration

HEADINGS = {"pl": ["Wydziały", "Placówki"], "en": ["Departments", "Sites"]}


def _visible(html_text: str) -> str:
    """The page's text as a reader sees it: no embedded data, no images, no markup."""
    text = re.sub(
        r"<script.*?</script>|<style.*?</style>|<svg.*?</svg>", " ", html_text, flags=re.S
    )
    return re.sub(r"<[^>]+>", " ", text)


def _report(settings: Settings, out: Path, *args: str, env: dict[str, str] | None = None) -> str:
    from civicpulse.cli import app

    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
        **(env or {}),
    }
    command = ["report", "--year", "2026", str(out), *args]
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_report_names_sites_and_departments_in_each_language(
    clickhouse_settings: Settings, clickhouse_client: Client, tmp_path: Path, lang: str
) -> None:
    presses = make_presses(count=500, seed=5, start=DAY_START - timedelta(days=20))
    insert_presses(clickhouse_client, presses)
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(wall_catalogue().model_dump_json(), encoding="utf-8")
    page = _report(
        clickhouse_settings, tmp_path / "r.html", "--lang", lang, "--catalogue", str(catalogue)
    )
    assert f'<html lang="{lang}">' in page
    text = _visible(page)
    for heading in HEADINGS[lang]:
        assert heading in text
    other = HEADINGS["en" if lang == "pl" else "pl"][0]
    assert other not in text
    for name in NAMES.values():
        assert name in text
    for ident in NAMES:
        assert not re.search(rf"\b{ident}\b", text), f"{ident} shown as an id"
    city_score = re.search(r'<div class="kpi"><b>(\d+[.,]\d)</b>', page)
    assert city_score and ("," in city_score.group(1)) == (lang == "pl")
    department_rows = re.findall(r'<tr><td>([^<]+)</td><td class="n">(\d+)</td>', page)
    counted = {
        dep: len(
            {
                p.event_id
                for p in presses
                if p.verdict == "counted"
                and p.department_id == dep
                and p.question_kind != "employee"
            }
        )
        for dep in ("dep-a", "dep-b")
    }
    shown = dict(department_rows[:2])
    assert {NAMES[d]: str(n) for d, n in counted.items()} == shown


def test_report_without_catalogue_falls_back_to_ids(
    clickhouse_settings: Settings, clickhouse_client: Client, tmp_path: Path
) -> None:
    insert_presses(clickhouse_client, make_presses(count=200, seed=6))
    env = {"CIVICPULSE_DATA_DIR": str(tmp_path), "CIVICPULSE_KAFKA_PORT": "9"}
    text = _visible(_report(clickhouse_settings, tmp_path / "r.html", "--lang", "en", env=env))
    assert "dep-a" in text and NAMES["dep-a"] not in text
