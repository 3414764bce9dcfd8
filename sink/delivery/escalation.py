"""Escalation: an opened alert nobody acknowledged within a subscription's ``escalate_after``
goes to its ``escalate_to`` (pure state + a file).

The book holds, per (alert, subscription), when the escalation is due; an ``ack`` or ``close``
on ``alerts.actions`` ends the alert, which drops its escalations and keeps a not-yet-sent
opening from being sent at all ("an acknowledged alert is not re-sent"); the alert's own
``resolved`` event only drops its escalations (its opening and resolution are both sent).
Sent escalations are remembered so a re-read opening does not escalate twice. Ended and sent
records are forgotten after ``keep`` (a week), so the book stays bounded by the
alerts of that week. The service saves the book (:func:`save`) before it commits the offsets of
the events that changed it, so a restart neither forgets a due escalation nor sends it twice
(but for a crash between sending one and saving the book: then once more, same idempotency key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from civicpulse.schemas.events import AlertEvent, format_utc
from civicpulse.schemas.files import write_private
from civicpulse.sink.delivery.matching import escalates
from civicpulse.sink.delivery.subscriptions import Subscription

__all__ = ["Due", "EscalationBook", "load", "save"]

KEEP = timedelta(days=7)


@dataclass(frozen=True)
class Due:
    """One escalation to send now."""

    event: AlertEvent
    subscription: int


@dataclass
class EscalationBook:
    #: (alert id, subscription index) -> (due, the opened event)
    pending: dict[tuple[UUID, int], tuple[datetime, AlertEvent]] = field(default_factory=dict)
    #: alerts acknowledged or closed by hand -> when
    ended: dict[UUID, datetime] = field(default_factory=dict)
    #: escalations sent -> when
    sent: dict[tuple[UUID, int], datetime] = field(default_factory=dict)
    #: escalations handed to the senders and not done yet (not saved)
    sending: set[tuple[UUID, int]] = field(default_factory=set)
    dirty: bool = False

    def is_ended(self, alert_id: UUID) -> bool:
        return alert_id in self.ended

    def opened(self, event: AlertEvent, subscriptions: tuple[Subscription, ...]) -> None:
        """An alert event was read: schedule the escalations it asks for."""
        if event.state != "opened" or event.alert_id in self.ended:
            return
        for sub in subscriptions:
            key = (event.alert_id, sub.index)
            if escalates(sub, event) and key not in self.sent and key not in self.pending:
                assert sub.escalate_after is not None
                self.pending[key] = (event.at + sub.escalate_after, event)
                self.dirty = True

    def resolved(self, alert_id: UUID) -> None:
        """The alert closed itself (its score recovered): nothing to escalate. Unlike an
        acknowledgement, this does not stop a not-yet-sent opening: the department gets both."""
        for key in [k for k in self.pending if k[0] == alert_id and k not in self.sending]:
            del self.pending[key]
            self.dirty = True

    def end(self, alert_id: UUID, at: datetime) -> None:
        """Acknowledged or closed by hand: nothing more to escalate, nor to send of its opening."""
        if alert_id not in self.ended:
            self.ended[alert_id] = at
            self.dirty = True
        for key in [k for k in self.pending if k[0] == alert_id and k not in self.sending]:
            del self.pending[key]
            self.dirty = True

    def take_due(self, now: datetime) -> list[Due]:
        """Escalations due at ``now`` and not being sent already. They stay pending (and in the
        saved book) until :meth:`done`, so a crash while sending sends them again."""
        keys = sorted(
            (k for k, (due, _) in self.pending.items() if due <= now and k not in self.sending),
            key=str,
        )
        self.sending.update(keys)
        return [Due(self.pending[k][1], k[1]) for k in keys]

    def done(self, due: Due, now: datetime) -> None:
        """Every delivery of the escalation ended (sent or dead-lettered)."""
        key = (due.event.alert_id, due.subscription)
        self.sending.discard(key)
        self.pending.pop(key, None)
        self.sent[key] = now
        self.dirty = True

    def prune(self, now: datetime, keep: timedelta = KEEP) -> None:
        """Forget ended and sent records older than ``keep``."""
        ended = [k for k, at in self.ended.items() if now - at > keep]
        sent = [k for k, at in self.sent.items() if now - at > keep]
        for alert_id in ended:
            del self.ended[alert_id]
        for key in sent:
            del self.sent[key]
        self.dirty = self.dirty or bool(ended or sent)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "pending": [
                    {"due": format_utc(due), "subscription": key[1], "event": orjson.loads(
                        event.model_dump_json())}
                    for key, (due, event) in self.pending.items()
                ],
                "ended": {str(k): format_utc(v) for k, v in self.ended.items()},
                "sent": [
                    {"alert_id": str(k[0]), "subscription": k[1], "at": format_utc(v)}
                    for k, v in self.sent.items()
                ],
            }
        )  # fmt: skip

    @classmethod
    def from_json(cls, data: bytes) -> EscalationBook:
        raw: dict[str, Any] = orjson.loads(data)
        book = cls()
        for item in raw.get("pending", []):
            event = AlertEvent.model_validate(item["event"])
            book.pending[(event.alert_id, int(item["subscription"]))] = (
                datetime.fromisoformat(item["due"]),
                event,
            )
        for key, at in raw.get("ended", {}).items():
            book.ended[UUID(key)] = datetime.fromisoformat(at)
        for item in raw.get("sent", []):
            key = (UUID(item["alert_id"]), int(item["subscription"]))
            book.sent[key] = datetime.fromisoformat(item["at"])
        return book


def load(path: Path) -> EscalationBook:
    """The book saved at ``path``, or an empty one."""
    return EscalationBook.from_json(path.read_bytes()) if path.exists() else EscalationBook()


def save(book: EscalationBook, path: Path) -> None:
    """Write the book atomically (0600) if it changed."""
    if book.dirty:
        write_private(path, book.to_json())
        book.dirty = False
