"""`civicpulse verify` against the real engine: stream-computed scores match, tampering is found."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clickhouse_connect.driver.client import Client
from typer.testing import CliRunner

from civicpulse.analytics.verify import VerifyResult, verify_scores
from civicpulse.schemas.settings import Settings

from .data import (
    CITY,
    DAY_END,
    DAY_START,
    TZ,
    insert_presses,
    insert_scores,
    make_presses,
    stream_scores,
)

pytestmark = pytest.mark.integration


def _verify(client: Client) -> VerifyResult:
    return verify_scores(client, since=DAY_START, until=DAY_END, tz=TZ, city_id=CITY)


def test_scores_from_the_stream_functions_verify_clean(clickhouse_client: Client) -> None:
    presses = make_presses()
    insert_presses(clickhouse_client, presses)
    insert_presses(clickhouse_client, presses[:50])  # re-delivered: stored once in effect
    scores = stream_scores(presses, DAY_START, DAY_END)
    # the DST day holds 23 hourly windows per busy scope, and every window kind is present
    assert {s.window for s in scores} == {"15m", "1h", "1d"}
    assert {s.kind for s in scores} == {"citizen", "employee"}
    assert len({s.window_start for s in scores if s.window == "1h"}) == 23
    insert_scores(clickhouse_client, scores)
    result = _verify(clickhouse_client)
    assert result.ok, result.mismatches[:5]


def test_perturbed_dropped_and_extra_rows_are_each_listed(clickhouse_client: Client) -> None:
    presses = make_presses(seed=11)
    insert_presses(clickhouse_client, presses)
    scores = stream_scores(presses, DAY_START, DAY_END)
    day = next(s for s in scores if s.window == "1d" and s.scope == "site")
    hour = next(s for s in scores if s.window == "1h" and s.scope == "department")
    dropped = next(s for s in scores if s.window == "15m" and s.scope == "question")
    kept = [s for s in scores if s not in (day, dropped)]
    wrong = day.model_copy(update={"n": day.n + 1, "n4": day.n4 + 1})
    extra = hour.model_copy(update={"scope_id": "ghost-dep"})
    insert_scores(clickhouse_client, [*kept, wrong, extra])

    result = _verify(clickhouse_client)
    found = {(m.problem, m.scope, m.scope_id, m.window, m.window_start) for m in result.mismatches}
    assert found == {
        ("different", "site", day.scope_id, "1d", day.window_start),
        ("missing in scores", "question", dropped.scope_id, "15m", dropped.window_start),
        ("extra in scores", "department", "ghost-dep", "1h", hour.window_start),
    }
    different = next(m for m in result.mismatches if m.problem == "different")
    assert different.expected == (day.n, day.n1, day.n2, day.n3, day.n4)
    assert different.stored == (day.n + 1, day.n1, day.n2, day.n3, day.n4 + 1)


def test_a_score_off_by_more_than_1e_9_is_a_mismatch(clickhouse_client: Client) -> None:
    presses = make_presses(seed=5)
    insert_presses(clickhouse_client, presses)
    scores = stream_scores(presses, DAY_START, DAY_END)
    target = next(s for s in scores if s.window == "1d" and s.scope == "city")
    bumped = target.model_copy(update={"score": (target.score or 0) + 1e-6})
    insert_scores(clickhouse_client, [s for s in scores if s is not target] + [bumped])
    result = _verify(clickhouse_client)
    assert [(m.problem, m.scope) for m in result.mismatches] == [("different", "city")]


def test_cli_exit_codes(clickhouse_settings: Settings, clickhouse_client: Client) -> None:
    from civicpulse.cli import app

    presses = make_presses(seed=3)
    insert_presses(clickhouse_client, presses)
    scores = stream_scores(presses, DAY_START, DAY_END)
    insert_scores(clickhouse_client, scores)
    env = {
        "CIVICPULSE_CLICKHOUSE_DSN": clickhouse_settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": clickhouse_settings.clickhouse_database,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
        "CIVICPULSE_CITY_ID": CITY,
        "COLUMNS": "200",
    }
    args = ["verify", "--since", "2026-03-29", "--until", "2026-03-30"]
    ok = CliRunner().invoke(app, args, env=env)
    assert ok.exit_code == 0, ok.output
    assert "ok" in ok.output

    victim = next(s for s in scores if s.window == "1h" and s.scope == "device")
    insert_scores(
        clickhouse_client, [victim.model_copy(update={"n": victim.n + 1, "n1": victim.n1 + 1})]
    )
    bad = CliRunner().invoke(app, args, env=env)
    assert bad.exit_code == 1, bad.output
    assert "different" in bad.output and victim.scope_id in bad.output
    assert "1 mismatching window" in bad.output


def _cli_env(settings: Settings) -> dict[str, str]:
    return {
        "CIVICPULSE_CLICKHOUSE_DSN": settings.clickhouse_url,
        "CIVICPULSE_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "CIVICPULSE_CITY_TIMEZONE": TZ,
        "CIVICPULSE_CITY_ID": CITY,
        "COLUMNS": "200",
    }


def test_without_a_range_verify_checks_the_stored_days_and_says_how_many_windows(
    clickhouse_settings: Settings, clickhouse_client: Client
) -> None:
    from civicpulse.cli import app

    env = _cli_env(clickhouse_settings)
    empty = CliRunner().invoke(app, ["verify"], env=env)
    assert empty.exit_code == 0 and "nothing" in empty.output, empty.output
    # Presses whose every window lies inside the day: the stream would have scored them all.
    edge = timedelta(minutes=15)
    presses = [p for p in make_presses(seed=7) if DAY_START + edge <= p.pressed_at < DAY_END - edge]
    insert_presses(clickhouse_client, presses)
    scores = stream_scores(presses, DAY_START, DAY_END)
    insert_scores(clickhouse_client, scores)
    ok = CliRunner().invoke(app, ["verify"], env=env)
    assert ok.exit_code == 0, ok.output
    compared = len({(s.scope, s.scope_id, s.kind, s.window, s.window_start) for s in scores})
    assert f"{compared} closed windows" in ok.output  # the stored day, not yesterday
    assert "2026-03-29" in ok.output or "2026-03-28T23:00" in ok.output


def test_presses_without_any_stored_window_fail(
    clickhouse_settings: Settings, clickhouse_client: Client
) -> None:
    from civicpulse.cli import app

    insert_presses(clickhouse_client, make_presses(seed=8))  # the stream never scored them
    result = _verify(clickhouse_client)
    assert not result.ok and result.counted > 0
    run = CliRunner().invoke(app, ["verify"], env=_cli_env(clickhouse_settings))
    assert run.exit_code == 1, run.output
    assert "missing in scores" in run.output
