"""The annual report's pure parts: ranking lists, alert handling times, formats, words, charts."""

from __future__ import annotations

import re
import statistics
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from civicpulse.analytics.report.figures import (
    HEATMAP_MIN_CELLS,
    MIN_CELL,
    best_and_weakest,
    change,
    heatmap_readable,
    resolve_stats,
    shrunk,
)
from civicpulse.analytics.report.svg import Bar, LinePoint, bars, heat_colour, heatmap, monthly_line
from civicpulse.analytics.report.texts import (
    REPORT_TEXTS,
    change_text,
    duration,
    integer,
    local_datetime,
    number,
    percent,
)


@given(st.lists(st.integers(), unique=True, max_size=40), st.integers(min_value=1, max_value=8))
def test_best_and_weakest_never_overlap_and_come_from_the_two_ends(
    ranked: list[int], size: int
) -> None:
    best, weakest = best_and_weakest(ranked, size)
    assert not set(best) & set(weakest)
    assert len(best) == len(weakest) == min(size, len(ranked) // 2)
    assert best == ranked[: len(best)]
    assert weakest == ranked[::-1][: len(weakest)]


def test_a_single_site_is_neither_best_nor_weakest() -> None:
    assert best_and_weakest(["only"]) == ([], [])


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)), max_size=30))
def test_resolve_stats_are_the_median_and_the_longest_of_the_resolved(
    durations: list[float | None],
) -> None:
    stats = resolve_stats(durations)
    done = [d for d in durations if d is not None]
    assert (stats.opened, stats.resolved, stats.still_open) == (
        len(durations),
        len(done),
        len(durations) - len(done),
    )
    assert stats.median_s == (statistics.median(done) if done else None)
    assert stats.longest_s == (max(done) if done else None)


def test_shrinkage_pulls_few_responses_toward_the_city() -> None:
    assert shrunk(50, 100.0, 50.0) == 75.0
    assert shrunk(0, None, 60.0) == 60.0
    assert change(70.0, 65.5) == 4.5 and change(None, 3.0) is None


def test_the_heat_map_needs_enough_hours_with_enough_responses() -> None:
    cells = [{"n": MIN_CELL} for _ in range(HEATMAP_MIN_CELLS - 1)]
    assert not heatmap_readable(cells)
    assert not heatmap_readable([*cells, {"n": MIN_CELL - 1}])
    assert heatmap_readable([*cells, {"n": MIN_CELL}])


def test_both_languages_have_the_same_words_and_placeholders() -> None:
    pl, en = REPORT_TEXTS["pl"], REPORT_TEXTS["en"]
    assert set(pl) == set(en)
    for key in pl:
        assert set(re.findall(r"{(\w+)}", pl[key])) == set(re.findall(r"{(\w+)}", en[key])), key
    assert len(pl["months_genitive"].split(",")) == len(en["months"].split(",")) == 12
    assert len(pl["weekdays"].split(",")) == 7


def test_numbers_read_as_each_language_writes_them() -> None:
    assert number(63.94, "pl") == "63,9" and number(63.94, "en") == "63.9"
    assert number(None, "pl") == "–"
    assert integer(1582, "pl") == "1582" and integer(24127, "pl") == "24\u00a0127"
    assert integer(24127, "en") == "24,127"
    assert percent(1, 8, "pl") == "12,5\u00a0%" and percent(1, 8, "en") == "12.5%"
    assert percent(1, 0, "en") == "–"
    assert change_text(2.345, "pl") == "+2,3" and change_text(-0.44, "en") == "\u22120.4"
    assert change_text(0.04, "en") == "±0.0" and change_text(None, "pl") == "–"


def test_times_are_the_citys_in_each_language() -> None:
    # 22:40 UTC on New Year's Eve is 23:40 in Warsaw (winter), 10:00 UTC in July is 12:00
    nye = datetime(2026, 12, 31, 22, 40, tzinfo=UTC)
    july = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert local_datetime(nye, "Europe/Warsaw", "pl") == "31\u00a0grudnia\u00a02026,\u00a023:40"
    assert local_datetime(july, "Europe/Warsaw", "en") == "1\u00a0July\u00a02026,\u00a012:00"
    assert duration(45 * 60, "pl") == "45\u00a0min"
    assert duration(2 * 3600 + 5 * 60, "en") == "2\u00a0h 05\u00a0min"
    assert duration(3 * 86400 + 3600, "pl") == "3\u00a0dni 1\u00a0h"
    assert duration(None, "en") == "–"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_charts_are_well_formed_svg_with_escaped_labels() -> None:
    svg = bars([Bar("<Wydział & Ś>", 62.5, "62,5 (10)", 60.0), Bar("b", None, "–")], "t")
    root = _parse(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<Wydział & Ś>" in texts and "62,5 (10)" in texts
    line = monthly_line([LinePoint(50.0, 40.0, i % 2 == 0) for i in range(12)],
                        [str(m) for m in range(12)], ("2026", "2025"), "m")  # fmt: skip
    circles = list(_parse(line).iter("{http://www.w3.org/2000/svg}circle"))
    assert len(circles) == 12 and sum(c.get("fill") == "#fff" for c in circles) == 6


def test_the_heat_map_greys_cells_with_too_few_responses() -> None:
    svg = heatmap({(1, 9): (80.0, MIN_CELL), (2, 9): (13.0, MIN_CELL - 1)},
                  list("MTWTFSS"), "hour", MIN_CELL, "h")  # fmt: skip
    fills = [r.get("fill") for r in _parse(svg).iter("{http://www.w3.org/2000/svg}rect")]
    assert heat_colour(80.0) in fills and "#d8d8d8" in fills
    assert heat_colour(13.0) not in fills  # drawn grey, not in its colour
    assert heat_colour(0) == "#c82828" and heat_colour(100) == "#289646"
