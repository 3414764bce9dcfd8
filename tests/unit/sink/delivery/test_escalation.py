"""The escalation book: due times, acknowledgement, no double escalation, a file round trip."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from civicpulse.sink.delivery import escalation
from civicpulse.sink.delivery.escalation import EscalationBook

from .alerts import AT, alert, subscription

SUBS = (
    subscription(1, escalate_after="30m", escalate_to=["deputy@city.example"]),
    subscription(2),
)


def test_due_after_escalate_after_and_once() -> None:
    book = EscalationBook()
    book.opened(alert(), SUBS)
    assert book.take_due(AT + timedelta(minutes=29)) == []
    (due,) = book.take_due(AT + timedelta(minutes=30))
    assert due.subscription == 1
    assert book.take_due(AT + timedelta(minutes=31)) == []  # being sent
    book.done(due, AT + timedelta(minutes=31))
    book.opened(alert(), SUBS)  # the opening re-read after a restart
    assert book.take_due(AT + timedelta(hours=2)) == []


def test_ack_or_resolution_ends_it_even_before_the_opening_is_read() -> None:
    book = EscalationBook()
    book.opened(alert(), SUBS)
    book.end(alert().alert_id, AT + timedelta(minutes=5))
    assert book.take_due(AT + timedelta(hours=1)) == []
    later = EscalationBook()
    later.end(alert().alert_id, AT)  # the ack was read first (actions are read at start)
    later.opened(alert(), SUBS)
    assert later.pending == {} and later.is_ended(alert().alert_id)


def test_a_resolution_drops_the_escalation_but_not_the_opening() -> None:
    book = EscalationBook()
    book.opened(alert(), SUBS)
    book.resolved(alert().alert_id)
    assert book.take_due(AT + timedelta(hours=1)) == []
    assert not book.is_ended(alert().alert_id)  # an opening still queued is still sent


def test_a_crash_while_sending_keeps_it_pending(tmp_path: Path) -> None:
    path = tmp_path / "book.json"
    book = EscalationBook()
    book.opened(alert(), SUBS)
    book.take_due(AT + timedelta(hours=1))
    escalation.save(book, path)
    again = escalation.load(path)
    (due,) = again.take_due(AT + timedelta(hours=1))
    assert due.event == alert()
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_round_trip_and_prune(tmp_path: Path) -> None:
    path = tmp_path / "book.json"
    book = EscalationBook()
    book.opened(alert(), SUBS)
    other = alert(alert_id="00000000-0000-4000-8000-000000000001")
    book.opened(other, SUBS)
    book.end(other.alert_id, AT)
    escalation.save(book, path)
    loaded = escalation.load(path)
    assert loaded.pending == book.pending and loaded.ended == book.ended
    loaded.prune(AT + timedelta(days=8))
    assert loaded.ended == {} and loaded.dirty
    assert escalation.load(tmp_path / "none.json").pending == {}
