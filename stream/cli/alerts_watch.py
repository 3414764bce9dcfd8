"""``civicpulse alerts watch``: a rich Live view of an alert topic."""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from pydantic import ValidationError
from rich.console import Group
from rich.live import Live
from rich.table import Table

from civicpulse.infra import kafka_clients
from civicpulse.schemas.events import AlertEvent
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import alert_topic_name
from civicpulse.stream.exceptions import StreamError

__all__ = ["AlertBoard", "watch"]


@dataclass
class AlertBoard:
    """Open alerts by id and the latest events: what the view shows (pure)."""

    open: dict[uuid.UUID, AlertEvent] = field(default_factory=dict)
    recent: deque[AlertEvent] = field(default_factory=lambda: deque(maxlen=15))

    def add(self, event: AlertEvent) -> None:
        self.recent.appendleft(event)
        if event.state == "opened" and event.kind != "recognition":  # good news is not open
            self.open[event.alert_id] = event
        else:
            self.open.pop(event.alert_id, None)

    def render(self, title: str) -> Group:
        opened = Table(title=f"{title}: open alerts ({len(self.open)})", expand=True)
        for column in ("since", "kind", "department", "scope", "score", "n", "threshold", "mode"):
            opened.add_column(column)
        for e in sorted(self.open.values(), key=lambda e: e.at):
            opened.add_row(
                e.at.strftime("%Y-%m-%d %H:%M"),
                e.kind,
                e.department_id,
                f"{e.scope} {e.scope_id}",
                _score_cell(e, "red"),
                str(e.n),
                f"{e.threshold:.0f}",
                e.mode,
            )
        latest = Table(title="latest events", expand=True)
        for column in ("at", "event", "kind", "scope", "score", "n", "window"):
            latest.add_column(column)
        for e in self.recent:
            colour = "red" if e.state == "opened" and e.kind != "recognition" else "green"
            latest.add_row(
                e.at.strftime("%Y-%m-%d %H:%M"),
                f"[{colour}]{e.state}[/{colour}]",
                e.kind,
                f"{e.scope} {e.scope_id}",
                _score_cell(e, None),
                str(e.n),
                f"{e.window_start:%H:%M}-{e.window_end:%H:%M}",
            )
        return Group(opened, latest)


def _score_cell(event: AlertEvent, colour: str | None) -> str:
    # A silent device has no score: say since when it is quiet instead.
    if event.kind == "silent_device":
        return f"silent since {event.window_start:%H:%M}"
    text = f"{event.score:.1f}"
    return f"[{colour}]{text}[/{colour}]" if colour else text


def watch(
    settings: Settings,
    department: str | None,
    *,
    from_beginning: bool = True,
    seconds: float | None = None,
) -> AlertBoard:
    topic = alert_topic_name(department or None, settings.topic_prefix)
    consumer = kafka_clients.consumer(
        settings,
        f"civicpulse-watch-{uuid.uuid4().hex[:8]}",
        "alerts-watch",
        overrides={"auto.offset.reset": "earliest" if from_beginning else "latest"},
    )
    metadata = consumer.list_topics(topic, timeout=10)
    if metadata.topics[topic].error is not None:
        consumer.close()
        raise StreamError(
            f"alert topic {topic} does not exist; load the catalogue first "
            "(`civicpulse catalogue load`) or check the department id"
        )
    board = AlertBoard()
    consumer.subscribe([topic])
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        with Live(board.render(topic), refresh_per_second=4) as live:
            while deadline is None or time.monotonic() < deadline:
                message = consumer.poll(0.25)
                if message is None or message.error() is not None:
                    continue
                try:
                    board.add(AlertEvent.model_validate_json(message.value()))
                except ValidationError:
                    continue  # not an alert event: nothing to show
                live.update(board.render(topic))
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return board
