"""A simulated city for the dashboard tests: judged presses, stream scores and alerts in chDB,
and the same data read back as plain Python rows for the independent recomputation.

Three simulated days, judged by the stream's own replay code: the day the panels look at
(Tuesday 2026-11-17), the day before, and four weeks before (2026-10-20, still summer time in
Europe/Warsaw, so "the same local hour" is another UTC hour). Scores come from the stream's pure
window functions, alerts from its alert step over the closed 15-minute windows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client

from civicpulse.analytics.review.periods import Suspect
from civicpulse.analytics.review.store import decide, store_suspects
from civicpulse.analytics.standards_mirror import mirror_standards
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import AlertEvent, JudgedPress
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.sink.rows import ACTION_COLUMNS, ALERT_COLUMNS, REASON_COLUMNS, alert_row
from civicpulse.stream.stages.alerts.state_machine import AlertBook, AlertState, step_window
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook
from tests.integration.analytics.data import TZ, insert_presses, insert_scores, stream_scores

__all__ = ["DAY_END", "DAY_START", "TZ", "Stored", "load_city"]

DAY_START = datetime(2026, 11, 17, 5, 0, tzinfo=UTC)  # 06:00 Warsaw, a Tuesday
DAY_END = datetime(2026, 11, 17, 19, 0, tzinfo=UTC)
_RUNS = (  # (start, hours, presses per second, seed): one seed per run, or event ids repeat
    (DAY_START, 14, 0.25, 7),
    (DAY_START - timedelta(days=1), 14, 0.1, 8),
    (DAY_START - timedelta(days=28), 14, 0.1, 9),
)


@dataclass
class Stored:
    """What the engine holds, read back with plain SELECTs (no FINAL, no aggregation)."""

    presses: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    site_department: dict[str, str]
    reviews: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    #: the simulated city's catalogue with the service standards mirrored into the store
    catalogue: Catalogue = field(default_factory=Catalogue)

    def final_presses(self) -> list[dict[str, Any]]:
        """One row per event, the counted verdict winning (the ReplacingMergeTree's version)."""
        best: dict[str, dict[str, Any]] = {}
        for row in self.presses:
            kept = best.get(row["event_id"])
            if kept is None or (row["verdict"] == "counted" and kept["verdict"] != "counted"):
                best[row["event_id"]] = row
        return list(best.values())

    def final_alerts(self) -> list[dict[str, Any]]:
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.alerts:
            key = (row["alert_id"], row["state"])
            if key not in latest or row["ingested_at"] > latest[key]["ingested_at"]:
                latest[key] = row
        return list(latest.values())


def _judged(sim: Simulation) -> Iterator[JudgedPress]:
    judge = Judge(sim.catalogue(), RuleBook.defaults(), MemoryStore())
    for offset, press in enumerate(sim.presses(), start=1):
        outcome = judge.judge(press.line, offset)
        if not isinstance(outcome, str):
            yield outcome


def _alerts(scores: list[Any], site_department: dict[str, str]) -> list[AlertEvent]:
    book = AlertBook()
    states: dict[tuple[str, str], AlertState] = {}
    events: list[AlertEvent] = []
    order = sorted(scores, key=lambda s: (s.window_end, s.scope, s.scope_id))
    for score in order:
        department = (
            score.scope_id
            if score.scope == "department"
            else site_department.get(score.scope_id, "")
        )
        key = (score.scope, score.scope_id)
        stepped = step_window(
            states.get(key, AlertState()),
            score,
            department_id=department,
            rules=book.for_department(department),
        )
        if stepped is None:
            continue
        states[key], event = stepped
        if event is not None:
            events.append(event)
    return events


def _reason_rows(presses: list[JudgedPress]) -> list[tuple[Any, ...]]:
    """The reasons table as the stream leaves it: running counts per (department, UTC hour,
    reason) from two source partitions, each key's earlier (smaller) count stored too, as a
    re-emitted or superseded row would be; FINAL must keep the largest."""
    counts: dict[tuple[str, datetime, str, int], int] = defaultdict(int)
    for p in presses:
        if p.verdict == "counted" and p.reason is not None and p.department_id is not None:
            hour = p.pressed_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            counts[(p.department_id, hour, p.reason, len(p.device_id) % 2)] += 1
    rows: list[tuple[Any, ...]] = []
    for (department, hour, reason, partition), n in sorted(counts.items()):
        rows.extend((department, hour, reason, partition, k) for k in range(max(1, n - 1), n + 1))
    return rows


def _rows(client: Client, sql: str) -> list[dict[str, Any]]:
    result = client.query(sql)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_city(client: Client) -> Stored:
    """Simulate, judge, score and alert the three days into ``client``'s database."""
    presses: list[JudgedPress] = []
    site_department: dict[str, str] = {}
    for start, hours, rate, seed in _RUNS:
        sim = Simulation(PRESETS["demo"], start, timedelta(hours=hours), rate, seed)
        site_department |= {s.site_id: s.department_id for s in sim.catalogue().sites}
        presses.extend(_judged(sim))
    catalogue = _with_standards(sim.catalogue())
    mirror_standards(client, catalogue)
    zone = ZoneInfo(TZ)
    since = datetime(2026, 10, 19, tzinfo=zone).astimezone(UTC)
    until = datetime(2026, 11, 19, tzinfo=zone).astimezone(UTC)
    scores = stream_scores(presses, since, until)
    alerts = _alerts(scores, site_department)
    for chunk in range(0, len(presses), 20_000):
        insert_presses(client, presses[chunk : chunk + 20_000])
    for chunk in range(0, len(scores), 50_000):
        insert_scores(client, scores[chunk : chunk + 50_000])
    if alerts:
        client.insert("alerts", [alert_row(a) for a in alerts], column_names=list(ALERT_COLUMNS))
    client.insert("reasons", _reason_rows(presses), column_names=list(REASON_COLUMNS))
    stored_presses = _rows(
        client,
        "SELECT toString(event_id) AS event_id, device_id, button, pressed_at, "
        "CAST(verdict, 'String') AS verdict, site_id, department_id, question_id, "
        "CAST(question_kind, 'Nullable(String)') AS question_kind, reason, "
        "CAST(channel, 'String') AS channel FROM presses",
    )
    for row in stored_presses:
        row["pressed_at"] = _utc(row["pressed_at"])
    stored_scores = _rows(
        client,
        "SELECT CAST(scope, 'String') AS scope, scope_id, CAST(kind, 'String') AS kind, "
        "CAST(`window`, 'String') AS `window`, window_start, window_end, n FROM scores",
    )
    stored_alerts = _rows(
        client,
        "SELECT toString(alert_id) AS alert_id, CAST(state, 'String') AS state, "
        "CAST(scope, 'String') AS scope, scope_id, department_id, score, n, threshold, at, "
        "CAST(kind, 'String') AS kind, ingested_at FROM alerts",
    )
    for row in stored_alerts:
        row["at"] = _utc(row["at"])
    _actions(client, alerts)
    stored_actions = _rows(
        client,
        "SELECT toString(action_id) AS action_id, toString(alert_id) AS alert_id, "
        "CAST(action, 'String') AS action, `by`, comment, at, ingested_at FROM alert_actions",
    )
    for row in stored_actions:
        row["at"] = _utc(row["at"])
    _reviews(client, presses)
    stored_reviews = _rows(
        client,
        "SELECT toString(id) AS id, device_id, site_id, period_from, period_to, pattern, "
        "presses, evidence, found_at, CAST(state, 'String') AS state, updated_at "
        "FROM misuse_reviews",
    )
    return Stored(
        stored_presses,
        stored_scores,
        stored_alerts,
        site_department,
        stored_reviews,
        stored_actions,
        catalogue,
    )


def _with_standards(catalogue: Catalogue) -> Catalogue:
    """A standard for every department from October (met or missed as the presses go), a
    raised target for the first from the day shown, one no day can reach (too few), a site
    standard for one question; the panels judge them over the day shown and its month."""
    departments = sorted(d.department_id for d in catalogue.departments)
    site = sorted(s.site_id for s in catalogue.sites if s.department_id == departments[-1])[0]
    standards: list[dict[str, Any]] = [
        {"scope": "department", "id": d, "target_score": 60, "min_responses_per_day": 100,
         "from": "2026-10-01"}
        for d in departments
    ]  # fmt: skip
    standards += [
        {"scope": "department", "id": departments[0], "target_score": 95,
         "min_responses_per_day": 100, "from": "2026-11-17"},
        {"scope": "department", "id": departments[1], "target_score": 50,
         "min_responses_per_day": 1_000_000, "from": "2026-11-16"},
        {"scope": "site", "id": site, "question": "q-waiting", "target_score": 40,
         "min_responses_per_day": 1, "from": "2026-11-01"},
    ]  # fmt: skip
    data = catalogue.model_dump(mode="json", by_alias=True)
    return Catalogue.model_validate({**data, "standards": standards})


def _actions(client: Client, alerts: list[AlertEvent]) -> None:
    """People at work on the first alerts: acks (two people on one alert), comments, a hand
    close before and one after the recovery, an alert closed by hand only; one action stored
    twice (re-delivered: FINAL keeps one)."""
    opened = [a for a in alerts if a.state == "opened"][:4]
    resolved = {a.alert_id: a.at for a in alerts if a.state == "resolved"}
    assert len(opened) == 4, "the simulated city should open at least four alerts"
    rows: list[tuple[Any, ...]] = []

    def act(alert: AlertEvent, action: str, by: str, minutes: float, comment: str | None) -> None:
        action_id = uuid.uuid5(alert.alert_id, f"{action}:{by}:{minutes}")
        at = alert.at + timedelta(minutes=minutes)
        rows.append((action_id, alert.alert_id, action, by, comment, at))

    first, second, third, fourth = opened
    act(first, "ack", "jan", 3, None)
    act(first, "ack", "eva", 2, "on it")  # the earlier ack counts
    act(first, "comment", "jan", 4, "queue at desk 2")
    act(second, "close", "eva", 1, "false alarm")  # before any recovery
    act(third, "comment", "ola", 5, "extra desk opened")
    for alert in (second, third, fourth):
        if alert.alert_id in resolved:
            gap = (resolved[alert.alert_id] - alert.at).total_seconds() / 60
            act(alert, "close", "ola", gap + 1, None)  # after the recovery: recovered wins
            break
    else:
        raise AssertionError("one of the first alerts should have resolved")
    client.insert("alert_actions", rows, column_names=list(ACTION_COLUMNS))
    client.insert("alert_actions", rows[:1], column_names=list(ACTION_COLUMNS))


def _reviews(client: Client, presses: list[JudgedPress]) -> None:
    """Three suspect periods on the day's first devices; one dismissed (none confirmed, so the
    other panels' figures stay those of the stored presses)."""
    found = DAY_START + timedelta(hours=14)
    devices = sorted({p.device_id for p in presses if p.site_id is not None})[:3]
    suspects = [
        Suspect(
            device_id=device,
            pattern="one_button_run",
            from_ms=int((DAY_START + timedelta(hours=i + 1)).timestamp() * 1000),
            to_ms=int((DAY_START + timedelta(hours=i + 1, minutes=20)).timestamp() * 1000),
            presses=12 + i,
            evidence=f"test period {i}",
            site_id=next(p.site_id or "" for p in presses if p.device_id == device),
        )
        for i, device in enumerate(devices)
    ]
    store_suspects(client, suspects, found)
    decide(client, suspects[1].id, state="dismissed", note="queue", by="test", tz=TZ)
