"""The report's print layout in a real Chromium: a 120-site annex spans pages, and every page
of it repeats the table head; no row is split; pages are numbered "Strona N z M"."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from civicpulse.analytics.report.figures import counts_of, resolve_stats, shrunk
from civicpulse.analytics.report.gather import ReportData
from civicpulse.analytics.report.html import render
from civicpulse.analytics.report.pdf import find_chromium, print_pdf

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        find_chromium() is None or shutil.which("pdftotext") is None,
        reason="needs chromium and poppler-utils: scripts/bootstrap --dev",
    ),
]
SITES = 120


def _year_with_many_sites() -> dict[str, Any]:
    rng = random.Random(3)
    sites = []
    for i in range(SITES):
        counts = counts_of(*(rng.randint(5, 300) for _ in range(4)))
        name = f"Placówka {i:03d} – Śródmieście Północne"
        sites.append({"id": f"s{i}", "name": name, "department_id": "d"} | counts)
    city = counts_of(*(sum(s[k] for s in sites) for k in ("n1", "n2", "n3", "n4")))
    for site in sites:
        site["fair_score"] = shrunk(site["n"], site["score"], city["score"])
    sites.sort(key=lambda s: -s["fair_score"])
    for rank, site in enumerate(sites, start=1):
        site["rank"] = rank
    return {
        "year": 2026,
        "city": city,
        "departments": [{"id": "d", "name": "Wydział"} | city],
        "sites": sites,
        "monthly": [{"month": m} | counts_of(0, 0, 0, 0) for m in range(1, 13)],
        "heatmap": [],
        "channels": [],
        "employee": [],
        "filtered": {"total": 0, "filtered": 0, "verdicts": {}, "devices": []},
        "alerts": {"list": [], "stats": resolve_stats([]).__dict__},
        "reviews": {},
    }


def _page_text(pdf: Path, page: int) -> str:
    args = ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout


def test_a_long_table_repeats_its_head_on_every_page_and_never_splits_a_row(
    tmp_path: Path,
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(ReportData(2026, "Europe/Warsaw", _year_with_many_sites()), "pl"))
    pdf = tmp_path / "report.pdf"
    print_pdf(page, pdf)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout)[1])  # type: ignore[index]
    texts = [_page_text(pdf, n) for n in range(1, pages + 1)]
    annex = next(i for i, t in enumerate(texts) if "Załącznik" in t)
    annex_pages = texts[annex:]
    assert len(annex_pages) >= 3, "120 sites fill several pages"
    rows_seen: list[int] = []
    for number, text in enumerate(annex_pages, start=annex + 1):
        assert re.search(r"miejsce\s+placówka\s+oceny", text), f"page {number} lost its table head"
        assert f"Strona {number} z {pages}" in text
        rows_seen += [int(r) for r in re.findall(r"^\s*(\d+)\s+Placówka \d{3}", text, re.M)]
    assert rows_seen == list(range(1, SITES + 1)), "every row once, whole, in rank order"
