"""The lifecycle of alerts: who acknowledged, commented or closed them, read from ClickHouse.

The actions come from ``alert_actions`` (topic ``alerts.actions``, migration 0009); closing by
recovery is the alert's own ``resolved`` row in ``alerts``. :func:`lifecycle_of` folds both into
one :class:`Lifecycle` (pure); :func:`lifecycles` reads them for a page of alerts and
:func:`alert_status` for one alert (what the lifecycle API checks before it records an action).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "RECOVERED",
    "ActionRecord",
    "AlertStatus",
    "Lifecycle",
    "alert_status",
    "lifecycle_of",
    "lifecycles",
]

#: ``closed_by`` of an alert that closed itself because its score recovered (or, for a silent
#: device, because the device pressed again): its ``resolved`` event.
RECOVERED = "recovered"


@dataclass(frozen=True)
class ActionRecord:
    """One stored action on an alert."""

    action: str
    by: str
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class Lifecycle:
    """Where an alert stands: acknowledged (first ack), comments in time order, closed (first of
    a hand close or the recovery)."""

    acked_by: str | None = None
    acked_at: datetime | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    closed_by: str | None = None
    closed_at: datetime | None = None


def lifecycle_of(actions: Iterable[ActionRecord], resolved_at: datetime | None) -> Lifecycle:
    """Fold an alert's actions and its recovery time into its lifecycle.

    Actions may arrive more than once or out of order (at-least-once delivery, two people at
    once): the earliest ack and the earliest closing win, ties broken by name, so every reader
    computes the same answer. A comment given with ``ack`` or ``close`` is listed too.
    """
    ordered = sorted(actions, key=lambda a: (a.at, a.by, a.action, a.comment or ""))
    ack = next((a for a in ordered if a.action == "ack"), None)
    closings = [(a.at, a.by) for a in ordered if a.action == "close"]
    if resolved_at is not None:
        closings.append((resolved_at, RECOVERED))
    closed_at, closed_by = min(closings) if closings else (None, None)
    comments = [
        {"by": a.by, "at": a.at, "comment": a.comment, "action": a.action}
        for a in ordered
        if a.comment is not None
    ]
    return Lifecycle(
        acked_by=ack.by if ack else None,
        acked_at=ack.at if ack else None,
        comments=comments,
        closed=closed_at is not None,
        closed_by=closed_by,
        closed_at=closed_at,
    )


# One query for both sources: the actions, and each recovered alert's `resolved` time as a
# pseudo-action.
_LIFECYCLE = """
SELECT alert_id, CAST(action, 'String') AS act, `by`, comment, at
FROM alert_actions FINAL
WHERE alert_id IN {ids:Array(UUID)}
UNION ALL
SELECT alert_id, 'resolved' AS act, '' AS `by`, CAST(NULL, 'Nullable(String)') AS comment,
       min(at) AS at
FROM alerts
WHERE state = 'resolved' AND alert_id IN {ids:Array(UUID)}
GROUP BY alert_id
"""


def lifecycles(client: Client, alert_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lifecycle]:
    """The lifecycle of the alerts in ``alert_ids`` that have one (an action or a recovery), in
    one query; an alert left out is open and untouched: ``Lifecycle()``."""
    ids = sorted(set(alert_ids))
    if not ids:
        return {}
    actions: dict[uuid.UUID, list[ActionRecord]] = {}
    resolved: dict[uuid.UUID, datetime] = {}
    rows = client.query(_LIFECYCLE, parameters={"ids": ids}).result_rows
    for alert_id, action, by, comment, at in rows:
        if action == "resolved":
            resolved[alert_id] = at
        else:
            actions.setdefault(alert_id, []).append(ActionRecord(action, by, comment, at))
    found = {i: lifecycle_of(acts, resolved.get(i)) for i, acts in actions.items()}
    for i, at in resolved.items():  # the common case, recovered and nobody acted: no folding
        found.setdefault(i, Lifecycle(closed=True, closed_by=RECOVERED, closed_at=at))
    return found


@dataclass(frozen=True)
class AlertStatus:
    """What the lifecycle API needs to know of one stored alert."""

    kind: str
    lifecycle: Lifecycle


_KIND = "SELECT CAST(kind, 'String') FROM alerts WHERE alert_id = {id:UUID} LIMIT 1"


def alert_status(client: Client, alert_id: uuid.UUID) -> AlertStatus | None:
    """The stored alert's kind and lifecycle, or None when no event of it is stored."""
    rows = client.query(_KIND, parameters={"id": alert_id}).result_rows
    if not rows:
        return None
    return AlertStatus(rows[0][0], lifecycles(client, [alert_id]).get(alert_id, Lifecycle()))
