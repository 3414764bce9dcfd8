"""An alert's lifecycle folded from its actions and recovery; what the lifecycle API refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from hypothesis import given
from hypothesis import strategies as st

from civicpulse.analytics.alert_lifecycle import (
    RECOVERED,
    ActionRecord,
    AlertStatus,
    Lifecycle,
    lifecycle_of,
)
from civicpulse.api.alerts.actions import refusal

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_no_action_and_no_recovery_is_an_open_unacknowledged_alert() -> None:
    assert lifecycle_of([], None) == Lifecycle()


def test_the_first_ack_and_the_first_closing_win_and_comments_keep_time_order() -> None:
    actions = [
        ActionRecord("comment", "eva", "back at 10", at(7)),
        ActionRecord("ack", "jan", None, at(5)),
        ActionRecord("ack", "eva", "on it", at(3)),
        ActionRecord("close", "jan", "fixed the queue", at(20)),
    ]
    life = lifecycle_of(actions, resolved_at=at(30))
    assert (life.acked_by, life.acked_at) == ("eva", at(3))
    assert [(c["by"], c["comment"], c["action"]) for c in life.comments] == [
        ("eva", "on it", "ack"),
        ("eva", "back at 10", "comment"),
        ("jan", "fixed the queue", "close"),
    ]
    assert (life.closed, life.closed_by, life.closed_at) == (True, "jan", at(20))


def test_an_alert_whose_score_recovered_first_is_closed_by_recovery() -> None:
    life = lifecycle_of([ActionRecord("close", "jan", None, at(40))], resolved_at=at(30))
    assert (life.closed, life.closed_by, life.closed_at) == (True, RECOVERED, at(30))
    assert lifecycle_of([], resolved_at=at(1)).closed_by == RECOVERED


records = st.builds(
    ActionRecord,
    action=st.sampled_from(["ack", "comment", "close"]),
    by=st.sampled_from(["eva", "jan", "ola"]),
    comment=st.one_of(st.none(), st.sampled_from(["a", "b"])),
    at=st.integers(0, 30).map(at),
)


@given(st.lists(records, max_size=8), st.one_of(st.none(), st.integers(0, 30).map(at)))
def test_redelivery_and_arrival_order_do_not_change_the_lifecycle(
    actions: list[ActionRecord], resolved: datetime | None
) -> None:
    once = lifecycle_of(actions, resolved)
    assert lifecycle_of(list(reversed(actions)), resolved) == once
    assert lifecycle_of(actions + actions[:3], resolved).closed_by == once.closed_by
    assert lifecycle_of(actions + actions[:3], resolved).acked_by == once.acked_by
    assert once.closed == (resolved is not None or any(a.action == "close" for a in actions))


def code(status: AlertStatus | None, action: Literal["ack", "comment", "close"]) -> int | None:
    problem = refusal(status, action)
    return None if problem is None else problem[0]


def test_refusals_name_the_reason_and_comments_are_always_welcome() -> None:
    assert code(None, "ack") == code(None, "comment") == 404
    fresh = AlertStatus("low_score", Lifecycle())
    assert code(fresh, "ack") is None and code(fresh, "close") is None
    acked = AlertStatus("low_score", Lifecycle(acked_by="eva", acked_at=at(1)))
    assert refusal(acked, "ack") == (409, "the alert is already acknowledged (by eva)")
    assert code(acked, "close") is None
    closed = AlertStatus("low_score", Lifecycle(closed=True, closed_by=RECOVERED))
    assert refusal(closed, "ack") == (409, "the alert is already closed (by recovered)")
    assert code(closed, "close") == 409 and code(closed, "comment") is None
    good_news = AlertStatus("recognition", Lifecycle())
    assert code(good_news, "ack") == code(good_news, "close") == 409
    assert code(good_news, "comment") is None
