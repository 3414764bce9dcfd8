"""Service standards over a simulated month on the real engine: ``/v1/standards`` (days and
months) equals an independent recomputation from the stored presses, with a confirmed misuse
period left out and re-delivered presses counted once."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from civicpulse.api.app import create_app
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.settings import Settings

from .api_setup import counted, walk
from .data import TZ, insert_presses, make_presses

pytestmark = pytest.mark.integration

ZONE = ZoneInfo(TZ)
MONTH_START = datetime(2026, 9, 1, tzinfo=ZONE).astimezone(UTC)
MONTH_END = datetime(2026, 10, 1, tzinfo=ZONE).astimezone(UTC)
# t1 (site-a, q1) over 2026-09-10 local noon .. 20:00: confirmed misuse
MISUSE = (datetime(2026, 9, 10, 10, tzinfo=UTC), datetime(2026, 9, 10, 18, tzinfo=UTC))

STANDARDS: list[dict[str, Any]] = [
    {"scope": "department", "id": "dep-a", "target_score": 66, "min_responses_per_day": 20,
     "from": "2026-01-01"},
    {"scope": "department", "id": "dep-a", "target_score": 70, "min_responses_per_day": 72,
     "from": "2026-09-15"},
    {"scope": "department", "id": "dep-b", "target_score": 65, "min_responses_per_day": 36,
     "from": "2026-09-01"},
    {"scope": "site", "id": "site-a", "question": "q1", "target_score": 60,
     "min_responses_per_day": 10, "from": "2026-09-05"},
]  # fmt: skip


def _catalogue() -> Catalogue:
    question = {"text": {"pl": "Jak?", "en": "How?"}, "kind": "citizen"}
    return Catalogue.model_validate(
        {
            "departments": [
                {"department_id": "dep-a", "name": "Civil affairs"},
                {"department_id": "dep-b", "name": "Transport"},
            ],
            "sites": [
                {"site_id": "site-a", "department_id": "dep-a", "name": "Town hall"},
                {"site_id": "site-b", "department_id": "dep-a", "name": "North office"},
                {"site_id": "site-c", "department_id": "dep-b", "name": "Depot"},
            ],
            "questions": [
                {"question_id": "q1", **question},
                {"question_id": "q2", **question},
                {"question_id": "qe", "text": question["text"], "kind": "employee"},
            ],
            "standards": STANDARDS,
        }
    )


def _confirm_misuse(client: Client) -> None:
    from civicpulse.analytics.review.store import REVIEW_COLUMNS

    row = {
        "id": str(uuid.uuid4()), "device_id": "t1", "site_id": "site-a",
        "period_from": MISUSE[0], "period_to": MISUSE[1], "pattern": "self_rating",
        "presses": 1, "evidence": "test", "figures": "{}", "found_at": MISUSE[1],
        "state": "confirmed", "note": "", "decided_at": MISUSE[1], "decided_by": "test",
        "updated_at": MISUSE[1],
    }  # fmt: skip
    client.insert(
        "misuse_reviews", [[row[c] for c in REVIEW_COLUMNS]], column_names=list(REVIEW_COLUMNS)
    )


@pytest.fixture
def month(clickhouse_client: Client) -> list[JudgedPress]:
    presses = make_presses(count=4000, seed=24, start=MONTH_START, span=MONTH_END - MONTH_START)
    # every fifth press came through the web widget: the quarterly export splits channels
    presses = [
        p.model_copy(update={"channel": "web"}) if i % 5 == 0 else p for i, p in enumerate(presses)
    ]
    insert_presses(clickhouse_client, presses)
    insert_presses(clickhouse_client, presses[:300])  # re-delivered: counted once
    _confirm_misuse(clickhouse_client)
    inside = [p for p in presses if p.device_id == "t1" and MISUSE[0] <= p.pressed_at <= MISUSE[1]]
    assert any(p.verdict == "counted" for p in inside)  # the period removes counted presses
    return presses


def recompute(presses: Sequence[JudgedPress]) -> dict[tuple[str, str, str | None], dict[str, Any]]:
    """Independent: per standard target and local day, the counted citizen presses' status."""
    catalogue = _catalogue()
    site_dep = {s.site_id: s.department_id for s in catalogue.sites}
    cells: dict[tuple[str, str, str | None, date], Counter[int]] = {}
    for press in counted(presses, MONTH_START, MONTH_END):
        inside = press.device_id == "t1" and MISUSE[0] <= press.pressed_at <= MISUSE[1]
        if inside or (press.question_kind or "citizen") != "citizen" or press.site_id is None:
            continue
        day = press.pressed_at.astimezone(ZONE).date()
        for s in {r.target_key: r for r in catalogue.standards}.values():
            in_scope = (
                press.site_id == s.id if s.scope == "site" else site_dep[press.site_id] == s.id
            )
            if in_scope and (s.question is None or s.question == press.question_id):
                cells.setdefault((*s.target_key, day), Counter())[press.button] += 1
    out: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for offset in range(30):
        day = date(2026, 9, 1) + timedelta(days=offset)
        for s in catalogue.standards:
            rules = [r for r in catalogue.standards if r.target_key == s.target_key]
            rule = max(
                (r for r in rules if r.valid_from <= day), key=lambda r: r.valid_from, default=None
            )
            if rule is not s:
                continue
            c = cells.get((*s.target_key, day), Counter())
            n = sum(c.values())
            score = 100 * sum((b - 1) * k for b, k in c.items()) / (3 * n) if n else None
            status = ("too_few" if score is None or n < s.min_responses_per_day
                      else "met" if score >= s.target_score else "missed")  # fmt: skip
            out.setdefault(s.target_key, {})[day.isoformat()] = (n, score, status, s.target_score)
    return out


@pytest.fixture
def api(
    clickhouse_settings: Settings, month: list[JudgedPress], tmp_path: Path
) -> tuple[TestClient, str]:
    settings = clickhouse_settings.model_copy(update={"data_dir": tmp_path, "city_timezone": TZ})
    token = ApiTokens.in_data_dir(tmp_path).add("tests")
    return TestClient(create_app(settings, catalogue=_catalogue())), token


def test_daily_and_monthly_attainment_equal_the_recomputation(
    api: tuple[TestClient, str], month: list[JudgedPress]
) -> None:
    client, token = api
    expected = recompute(month)
    params = {"from": "2026-09-01", "to": "2026-10-01", "limit": 17}
    days = list(walk(client, "/v1/standards", params, token))
    got: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for item in days:
        key = (item["scope"], item["id"], item["question"])
        got.setdefault(key, {})[item["period"]] = (
            item["responses"],
            item["score"],
            item["status"],
            item["target_score"],
        )
    assert set(got) == set(expected)
    for key, per_day in expected.items():
        assert sorted(got[key]) == sorted(per_day)
        for period, (n, score, status, target) in per_day.items():
            assert got[key][period][0] == n and got[key][period][2] == status, (key, period)
            assert got[key][period][1] == pytest.approx(score) and got[key][period][3] == target
    statuses = Counter(
        status for per_day in expected.values() for _, _, status, _ in per_day.values()
    )
    assert set(statuses) == {"met", "missed", "too_few"}, statuses  # the month exercises each rule

    months = list(walk(client, "/v1/standards", {**params, "granularity": "month"}, token))
    assert len(months) == len(expected)
    for item in months:
        per_day = expected[(item["scope"], item["id"], item["question"])]
        tally = Counter(status for _, _, status, _ in per_day.values())
        assert (item["days_met"], item["days_missed"], item["days_too_few"]) == (
            tally["met"],
            tally["missed"],
            tally["too_few"],
        )
        assert item["responses"] == sum(n for n, _, _, _ in per_day.values())
        assert item["status"] == (
            "missed" if tally["missed"] else "met" if tally["met"] else "too_few"
        )
        assert item["period"] == "2026-09"


def test_department_filter_and_range_checks(api: tuple[TestClient, str]) -> None:
    client, token = api
    only = list(
        walk(
            client,
            "/v1/standards",
            {"from": "2026-09-01", "to": "2026-09-08", "department": "dep-b"},
            token,
        )
    )
    assert {(i["scope"], i["id"]) for i in only} == {("department", "dep-b")} and len(only) == 7
    auth = {"Authorization": f"Bearer {token}"}
    assert (
        client.get(
            "/v1/standards", params={"from": "2026-09-02", "to": "2026-09-01"}, headers=auth
        ).status_code
        == 422
    )
    assert (
        client.get("/v1/standards", params={"from": "2026-09-01", "to": "2026-09-02"}).status_code
        == 401
    )


def test_the_report_standards_table_agrees_with_the_api(
    api: tuple[TestClient, str], clickhouse_client: Client, month: list[JudgedPress]
) -> None:
    from civicpulse.analytics.channels import channel_gaps
    from civicpulse.analytics.report.gather import collect, render_html

    client, token = api
    params = {"from": "2026-09-01", "to": "2026-10-01", "granularity": "month"}
    from_api = list(walk(client, "/v1/standards", params, token))
    data = collect(clickhouse_client, 2026, TZ, _catalogue())
    september = [i for i in data.current["standards"] if i["period"] == "2026-09"]
    assert september == from_api
    assert {i["period"] for i in data.current["standards"]} == {"2026-09"} | {
        f"2026-{m:02d}"
        for m in range(1, 13)
        if m != 9 and date(2026, m, 1) <= datetime.now(ZONE).date()
    }  # every month from January (dep-a's standard applies from 2026-01-01) up to today
    expected = recompute(month)[("department", "dep-a", None)]
    tally = Counter(status for _, _, status, _ in expected.values())
    year = {"from": "2026-01-01T00:00:00+01:00", "to": "2027-01-01T00:00:00+01:00"}
    by_channel = {**year, "by": "channel", "scope": "department"}
    assert data.current["channels_by_department"] == list(
        walk(client, "/v1/scores", by_channel, token)
    )
    gaps = channel_gaps(data.current["channels_by_department"])
    english = render_html(data, "en")
    if gaps:
        assert f"a gap of {gaps[0].points:.1f} points" in english
    else:
        assert "No department has such a gap between its channels." in english
    for lang, word in (("en", "days met"), ("pl", "dni spełnione")):
        page = render_html(data, lang)
        assert word in page
        cell = f"{tally['met']}/{tally['missed']}/{tally['too_few']}"
        assert cell in page  # dep-a's September cell: days met / missed / too few


def test_live_cards_carry_this_months_standard(api: tuple[TestClient, str]) -> None:
    client, token = api
    auth = {"Authorization": f"Bearer {token}"}
    at = "2026-09-20T12:00:00Z"
    month = {"from": "2026-09-01", "to": "2026-09-21", "granularity": "month"}
    expected = {(i["scope"], i["id"]): i for i in walk(client, "/v1/standards", month, token)}
    wall = client.get("/v1/live/summary", params={"at": at}, headers=auth).json()
    cards = {f["id"]: f["standard"] for f in wall["items"]}
    assert set(cards) == {"dep-a", "dep-b"}
    for dep, shown in cards.items():
        want = expected[("department", dep)]
        assert shown == {k: want[k] for k in shown}
        assert shown["status"] in {"met", "missed"} and shown["period"] == "2026-09"
    page = client.get("/v1/live/summary", params={"at": at, "department": "dep-a"}, headers=auth)
    sites = {f["id"]: f["standard"] for f in page.json()["items"]}
    assert sites["site-b"] is None  # no standard of its own
    assert sites["site-a"] is None  # its standard is for one question (q1), not every question
    assert page.json()["department"]["standard"] == cards["dep-a"]


def test_quarterly_export_per_service_and_channel(
    clickhouse_client: Client, month: list[JudgedPress], tmp_path: Path
) -> None:
    import csv

    from civicpulse.analytics.quarterly import export_quarter

    out = tmp_path / "q3.csv"
    rows = export_quarter(
        clickhouse_client, _catalogue(), quarter="2026Q3", tz=TZ, out=out, today=date(2026, 12, 4)
    )
    with out.open(encoding="utf-8") as handle:
        got = {(r["department_id"], r["site_id"], r["channel"]): r for r in csv.DictReader(handle)}
    assert rows == len(got)
    cells: dict[tuple[str, str, str], Counter[int]] = {}
    for press in counted(month, MONTH_START, MONTH_END):
        inside = press.device_id == "t1" and MISUSE[0] <= press.pressed_at <= MISUSE[1]
        if inside or (press.question_kind or "citizen") != "citizen" or press.site_id is None:
            continue
        assert press.department_id is not None
        key = (press.department_id, press.site_id, press.channel)
        cells.setdefault(key, Counter())[press.button] += 1
    assert set(got) == set(cells) and {k[2] for k in cells} == {"terminal", "web"}
    expected = recompute(month)
    for (dep, site, channel), c in cells.items():
        row, n = got[(dep, site, channel)], sum(c.values())
        assert int(row["responses"]) == n
        assert float(row["share_satisfied"]) == pytest.approx((c[3] + c[4]) / n, abs=1e-4)
        mean = 100 * sum((b - 1) * k for b, k in c.items()) / (3 * n)
        assert float(row["mean_score"]) == pytest.approx(mean, abs=0.01)
        # site-a's standard is for one question: every service falls back to its department's
        days = expected[("department", dep, None)]
        statuses = {status for _, _, status, _ in days.values()}
        want = "missed" if "missed" in statuses else "met" if "met" in statuses else "too_few"
        assert row["attained"] == want
        assert float(row["target_score"]) == max(days.items())[1][3]


def test_public_pages_agree_with_the_standards_and_show_nothing_individual(
    clickhouse_settings: Settings,
    clickhouse_client: Client,
    month: list[JudgedPress],
    tmp_path: Path,
) -> None:
    settings = clickhouse_settings.model_copy(
        update={"data_dir": tmp_path, "city_timezone": TZ, "public_results": True}
    )
    token = ApiTokens.in_data_dir(tmp_path).add("tests")
    client = TestClient(create_app(settings, catalogue=_catalogue()))
    september = {"from": "2026-09-01", "to": "2026-10-01", "granularity": "month"}
    items = {(i["scope"], i["id"]): i for i in walk(client, "/v1/standards", september, token)}
    words = {"met": "yes", "missed": "no", "too_few": "too few responses to tell"}
    for dep in ("dep-a", "dep-b"):
        page = client.get(f"/public/{dep}", params={"lang": "en"})  # no token
        assert page.status_code == 200
        assert page.headers["cache-control"] == "public, max-age=300"
        item = items[("department", dep)]
        row = (
            f'<tr><th scope="row">September 2026</th><td class="n">{item["score"]:.1f}</td>'
            f'<td class="n">{item["responses"]}</td>'
        )
        assert row in page.text
        assert f"<td>{words[item['status']]}</td></tr>" in page.text.split(row)[1]
        for private in ("site-a", "site-b", "site-c", "event_id", "pressed_at"):
            assert private not in page.text
        assert re.search(r"\bt[1-4]\b", page.text) is None  # no device id
    polish = client.get("/public/dep-a").text
    assert (
        'lang="pl"' in polish
        and f"{items[('department', 'dep-a')]['score']:.1f}".replace(".", ",") in polish
    )
    index = client.get("/public", params={"lang": "en"}).text
    assert 'href="/public/dep-a?lang=en"' in index and "Transport" in index
    # cached: presses stored now do not change the page until the TTL runs out
    before = page_of(client, "dep-a")
    insert_presses(clickhouse_client, make_presses(count=200, seed=99, start=MONTH_START))
    assert page_of(client, "dep-a") == before
    fresh = TestClient(create_app(settings, catalogue=_catalogue()))
    assert page_of(fresh, "dep-a") != before  # the new presses do change an uncached page
    off = TestClient(
        create_app(
            clickhouse_settings.model_copy(update={"data_dir": tmp_path}), catalogue=_catalogue()
        )
    )
    assert off.get("/public").status_code == 404  # opt-in only
    assert client.get("/public/no-such").status_code == 404


def page_of(client: TestClient, dep: str) -> str:
    return str(client.get(f"/public/{dep}", params={"lang": "en"}).text)


def test_scores_by_channel_side_by_side(
    api: tuple[TestClient, str], month: list[JudgedPress]
) -> None:
    client, token = api
    cells: dict[tuple[str, str], Counter[int]] = {}
    for press in counted(month, MONTH_START, MONTH_END):
        inside = press.device_id == "t1" and MISUSE[0] <= press.pressed_at <= MISUSE[1]
        if inside or (press.question_kind or "citizen") != "citizen" or press.site_id is None:
            continue
        assert press.department_id is not None
        cells.setdefault((press.department_id, press.channel), Counter())[press.button] += 1
    span = {"from": MONTH_START.isoformat(), "to": MONTH_END.isoformat()}
    params = {**span, "by": "channel", "scope": "department", "limit": 1}
    items = {(i["scope_id"], i["channel"]): i for i in walk(client, "/v1/scores", params, token)}
    assert set(items) == set(cells)
    for (dep, channel), c in cells.items():
        n, total = sum(c.values()), sum(sum(v.values()) for (d, _), v in cells.items() if d == dep)
        assert items[(dep, channel)]["n"] == n
        assert items[(dep, channel)]["share"] == pytest.approx(n / total)
        mean = 100 * sum((b - 1) * k for b, k in c.items()) / (3 * n)
        assert items[(dep, channel)]["score"] == pytest.approx(mean)
    auth = {"Authorization": f"Bearer {token}"}
    city = client.get("/v1/scores", params={**span, "by": "channel", "scope": "city"}, headers=auth)
    assert city.status_code == 422
    no_window = client.get("/v1/scores", params={**span, "scope": "site"}, headers=auth)
    assert no_window.status_code == 422
