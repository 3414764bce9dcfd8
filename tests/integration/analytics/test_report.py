"""`civicpulse report` over a simulated year and the one before, on the real engine: every
figure equals an independent recomputation from the stored presses; the PDF (real Chromium)
has page numbers, Polish letters and the summary's numbers in its text (pdftotext), and renders
to non-blank pages (pdftoppm)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clickhouse_connect.driver.client import Client
from typer.testing import CliRunner

from civicpulse.analytics.report.figures import SHRINKAGE_K
from civicpulse.schemas.settings import Settings
from tests.fixtures.clickhouse import _server_dsn

from .report_year import (
    TZ,
    YEAR,
    AlertSpec,
    Expected,
    demo_catalogue,
    insert,
    insert_alerts,
    insert_reviews,
    recompute,
    score,
    simulate_year,
)

pytestmark = pytest.mark.integration
POPPLER = shutil.which("pdftotext") is not None and shutil.which("pdftoppm") is not None


@dataclass
class Stored:
    settings: Settings
    client: Client
    alerts: list[AlertSpec]
    confirmed_presses: int
    catalogue: Path
    env: dict[str, str]


def report_data(html_text: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                      html_text, re.S)  # fmt: skip
    assert match, "the page embeds its figures"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def run_report(stored: Stored, *args: str, env: dict[str, str] | None = None) -> str:
    from civicpulse.cli import app

    command = ["report", "--year", str(YEAR), *args]
    result = CliRunner().invoke(app, command, env={**stored.env, **(env or {})})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def stored(chdb_session_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    """Two simulated years, alerts and review decisions in a fresh migrated database."""
    from civicpulse.sink.clickhouse import create_client
    from civicpulse.sink.migrate import migrate

    settings = Settings(
        clickhouse_dsn=_server_dsn() or f"chdb://{chdb_session_path}",
        clickhouse_database=f"t_{uuid.uuid4().hex[:12]}",
        data_dir=tmp_path_factory.mktemp("report-data"),
    )
    migrate(settings)
    client = create_client(settings)
    catalogue = demo_catalogue()
    current = simulate_year(catalogue, YEAR, seed=1)
    insert(client, simulate_year(catalogue, YEAR - 1, seed=2) + current)
    alerts = insert_alerts(client)
    confirmed = insert_reviews(client, current)
    path = settings.data_dir / "catalogue.json"
    path.write_text(catalogue.model_dump_json(), encoding="utf-8")
    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
        "CIVICPULSE_DATA_DIR": str(settings.data_dir),
        "CIVICPULSE_KAFKA_PORT": "9",  # discard port: no broker, names from --catalogue
    }
    yield Stored(settings, client, alerts, confirmed, path, env)
    create_client(settings, database="default").command(
        f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}`"
    )


@pytest.fixture(scope="module")
def polish_pdf(stored: Stored, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "raport.pdf"
    output = run_report(stored, "--lang", "pl", "--catalogue", str(stored.catalogue), str(out))
    assert "pdf  ->" in output and out.exists()
    return out


def _check_scored(entry: dict[str, Any], counts: list[int]) -> None:
    assert [entry[k] for k in ("n1", "n2", "n3", "n4")] == counts
    assert entry["n"] == sum(counts)
    assert entry["score"] == pytest.approx(score(counts), abs=1e-9)


def _check_change(entry: dict[str, Any], before: list[int] | None) -> None:
    if before is None or sum(before) == 0:
        assert entry["previous"] is None and entry["change"] is None
        return
    assert entry["previous"]["n"] == sum(before)
    assert entry["change"] == pytest.approx(entry["score"] - score(before), abs=1e-9)


def _check_section(
    entries: list[dict[str, Any]], expected: dict[Any, list[int]], before: dict[Any, list[int]],
    key: str = "id",
) -> None:  # fmt: skip
    got = {e[key]: e for e in entries if e["n"] > 0}
    assert set(got) == {k for k, c in expected.items() if sum(c)}
    for ident, entry in got.items():
        _check_scored(entry, expected[ident])
        _check_change(entry, before.get(ident))


def test_every_figure_equals_a_recomputation_from_the_stored_presses(
    stored: Stored, polish_pdf: Path
) -> None:
    data = report_data(polish_pdf.with_suffix(".html").read_text(encoding="utf-8"))
    now: Expected = recompute(stored.client, YEAR)
    before: Expected = recompute(stored.client, YEAR - 1)
    cur = data["current"]
    _check_scored(cur["city"], now.city)
    _check_change(cur["city"], before.city)
    _check_section(cur["departments"], now.departments, before.departments)
    _check_section(cur["channels"], now.channels, before.channels)
    _check_section(cur["employee"], now.employee, before.employee)
    _check_section(cur["monthly"], now.months, before.months, key="month")
    assert len(cur["monthly"]) == 12
    heat = {(c["weekday"], c["hour"]): [c["n1"], c["n2"], c["n3"], c["n4"]] for c in cur["heatmap"]}
    assert heat == dict(now.heatmap)

    _check_section(cur["sites"], now.sites, before.sites)
    city_mean = score(now.city)
    fair = {
        site: (sum(c) * score(c) + SHRINKAGE_K * city_mean) / (sum(c) + SHRINKAGE_K)
        for site, c in now.sites.items()
    }
    for site in cur["sites"]:
        assert site["fair_score"] == pytest.approx(fair[site["id"]], abs=1e-9)
        assert site["department_id"] == now.site_department[site["id"]]
    ranked = sorted(fair, key=lambda s: (-fair[s], s))
    assert [s["id"] for s in cur["sites"]] == ranked
    assert [s["rank"] for s in cur["sites"]] == list(range(1, len(ranked) + 1))

    filtered = cur["filtered"]
    assert filtered["verdicts"] == dict(now.verdicts)
    assert filtered["total"] == sum(now.verdicts.values())
    assert filtered["filtered"] == filtered["total"] - now.verdicts["counted"]
    assert now.verdicts["misuse"] > 0, "the confirmed period holds counted presses"
    assert cur["reviews"] == {
        "confirmed": {"periods": 1, "presses": stored.confirmed_presses},
        "dismissed": {"periods": 1, "presses": 3},
    }

    zone = ZoneInfo(TZ)
    opened = [a for a in stored.alerts if a[1].astimezone(zone).year == YEAR]
    durations = sorted(s for _, _, s in opened if s is not None)
    stats = cur["alerts"]["stats"]
    assert (stats["opened"], stats["resolved"]) == (len(opened), len(durations))
    assert stats["still_open"] == len(opened) - len(durations)
    middle = len(durations) // 2
    median = (durations[middle - 1] + durations[middle]) / 2 if len(durations) % 2 == 0 else \
        durations[middle]  # fmt: skip
    assert stats["median_s"] == pytest.approx(median)
    assert stats["longest_s"] == pytest.approx(durations[-1])
    assert data["previous"]["alerts"]["stats"]["opened"] == len(stored.alerts) - len(opened)


def _text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True, timeout=60)  # fmt: skip
    return done.stdout.replace("\u00a0", " ")


@pytest.mark.skipif(not POPPLER, reason="pdftotext/pdftoppm missing: scripts/bootstrap --dev")
def test_the_pdf_reads_in_polish_with_page_numbers_and_the_summarys_numbers(
    stored: Stored, polish_pdf: Path, tmp_path: Path
) -> None:
    from PIL import Image

    data = report_data(polish_pdf.with_suffix(".html").read_text(encoding="utf-8"))
    text = _text(polish_pdf)
    city = data["current"]["city"]
    assert f"{city['score']:.1f}".replace(".", ",") in text
    assert f"{city['n']:,}".replace(",", " ") in text
    assert "Podsumowanie roku" in text and "Najwyżej oceniany wydział" in text
    for letters in ("ą", "ę", "ł", "ń", "ó", "ś", "ż", "Ś"):
        assert letters in text, letters
    assert "31 grudnia 2026, 23:40" in text, "the New Year's Eve alert in city time"
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(polish_pdf)], capture_output=True, text=True, check=True).stdout)[1])  # type: ignore[index]  # fmt: skip
    assert pages >= 6
    assert f"Strona 2 z {pages}" in text and f"Strona {pages} z {pages}" in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(polish_pdf), str(tmp_path / "page")],
                   check=True, timeout=120)  # fmt: skip
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    for image in images:
        colours = Image.open(image).convert("RGB").getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 20, f"{image.name} is blank"


def _visible(html_text: str) -> str:
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<svg.*?</svg>", " ", html_text,
                  flags=re.S)  # fmt: skip
    return re.sub(r"<[^>]+>", " ", text).replace("\u00a0", " ")


def test_english_comes_from_the_same_template_with_local_times(
    stored: Stored, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    run_report(stored, "--lang", "en", "--catalogue", str(stored.catalogue), str(out))
    page = out.read_text(encoding="utf-8")
    text = _visible(page)
    assert '<html lang="en">' in page
    assert "The year in brief" in text and "Podsumowanie" not in text
    assert "31 December 2026, 23:40" in text
    data = report_data(page)
    best = data["current"]["departments"][0]
    assert f"Best-rated department: {best['name']} – score {best['score']:.1f}" in text
    sites = data["current"]["sites"]
    assert f"Sites with responses in {YEAR}: {len(sites)}." in text
    best_part = page.split("Best sites</h3>")[1].split("Sites needing attention</h3>")[0]
    weakest_part = page.split("Sites needing attention</h3>")[1].split("Channels</h3>")[0]
    best = [s["name"] for s in sites if f"<td>{s['name']}</td>" in best_part]
    weakest = [s["name"] for s in sites if f"<td>{s['name']}</td>" in weakest_part]
    assert len(best) == len(weakest) == min(5, len(sites) // 2)
    assert not set(best) & set(weakest)
    assert best == [s["name"] for s in sites[: len(best)]]
    assert page.count("<svg") == 3, "departments, months, heat map"


def test_names_come_from_the_newest_demo_run_without_catalogue(
    stored: Stored, tmp_path: Path
) -> None:
    run = stored.settings.data_dir / "demo" / "20260101T000000Z"
    run.mkdir(parents=True, exist_ok=True)
    shutil.copy(stored.catalogue, run / "catalogue.json")
    out = tmp_path / "r.html"
    output = run_report(stored, "--lang", "pl", str(out))
    assert str(run / "catalogue.json") in output.replace("\n", "")
    text = _visible(out.read_text(encoding="utf-8"))
    assert "Śródmieście" in text


def test_names_come_from_the_catalogue_topic_when_a_broker_answers(
    stored: Stored,
    tmp_path: Path,
    kafka_bootstrap: str,
    topic_prefix: str,
    create_test_topics: Callable[[], object],
) -> None:
    from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
    from civicpulse.stream.catalogue.topic import publish_catalogue

    create_test_topics()
    catalogue = demo_catalogue()
    renamed = catalogue.model_copy(
        update={"sites": tuple(s.model_copy(update={"name": f"Topic {s.name}"})
                               for s in catalogue.sites)}
    )  # fmt: skip
    publish_catalogue(kafka_bootstrap, topic_name(CATALOGUE_DEVICES, topic_prefix), renamed)
    out = tmp_path / "r.html"
    env = {"CIVICPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CIVICPULSE_TOPIC_PREFIX": topic_prefix}
    output = run_report(stored, "--lang", "pl", str(out), env=env)
    assert "topic catalogue.devices" in output
    text = _visible(out.read_text(encoding="utf-8"))
    assert all(f"Topic {s.name}" in text for s in catalogue.sites)


def test_a_pdf_without_chromium_says_how_to_get_it_before_reading_anything(
    stored: Stored, tmp_path: Path
) -> None:
    from civicpulse.cli import app

    env = {**stored.env, "PATH": str(tmp_path)}  # no chromium on this PATH
    result = CliRunner().invoke(app, ["report", "--year", "2026", str(tmp_path / "r.pdf")], env=env)
    assert result.exit_code == 2
    assert "apt-get install chromium" in result.output
    assert not (tmp_path / "r.html").exists()


def test_a_short_period_says_its_figures_are_too_few(
    clickhouse_settings: Settings, clickhouse_client: Client, tmp_path: Path
) -> None:
    from civicpulse.cli import app

    from .data import insert_presses, make_presses

    insert_presses(clickhouse_client, make_presses(count=60, seed=3))
    out = tmp_path / "r.html"
    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": clickhouse_settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": clickhouse_settings.clickhouse_database,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
        "CIVICPULSE_DATA_DIR": str(tmp_path),
        "CIVICPULSE_KAFKA_PORT": "9",
    }
    result = CliRunner().invoke(app, ["report", "--year", "2026", "--lang", "en", str(out)],
                                env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    text = _visible(page)
    assert "Too few responses for a map by weekday and hour" in text
    assert "fewer than 30 responses: read with care" in text
    assert "No figures stored for 2025 to compare with." in text
    assert page.count("<svg") == 2, "no heat map of a few cells"
