"""The alert lifecycle API: ``POST /v1/alerts/{id}/ack``, ``/comment`` and ``/close``.

An action is checked against the stored alert (:func:`refusal`, pure), produced to
``alerts.actions`` (key = alert id) and answered only once the broker acknowledged it; the sink
stores it in ``alert_actions`` and ``GET /v1/alerts`` shows it (:func:`with_lifecycles`). The
token's name is recorded as ``by``. Checks read ClickHouse, which trails the topic by about a
second: two people acknowledging at the same moment are both recorded and the lifecycle keeps
the first (:func:`civicpulse.analytics.alert_lifecycle.lifecycle_of`).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict

from civicpulse.analytics.alert_lifecycle import AlertStatus, Lifecycle, alert_status, lifecycles
from civicpulse.analytics.api_queries import Page
from civicpulse.api.ingest.models import ProblemDetail
from civicpulse.api.query.auth import bearer, get_tokens, require_token
from civicpulse.api.query.params import utc_text
from civicpulse.api.query.tokens import ApiTokens
from civicpulse.schemas.events import AlertAction, AlertCommentText
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import ALERTS_ACTIONS, topic_name
from civicpulse.sink.exceptions import SinkError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "LIFECYCLE_FIELDS",
    "ActionPublisher",
    "close_publisher",
    "refusal",
    "router",
    "with_lifecycles",
]

ActionName = Literal["ack", "comment", "close"]
LIFECYCLE_FIELDS = ("acked_by", "acked_at", "comments", "closed", "closed_by", "closed_at")

router = APIRouter(prefix="/v1", tags=["alert lifecycle"], dependencies=[Depends(require_token)])


def refusal(status: AlertStatus | None, action: ActionName) -> tuple[int, str] | None:
    """Why ``action`` cannot be taken on the stored alert (HTTP status, detail), or None."""
    if status is None:
        return (
            404,
            "no alert with this id is stored (an alert appears about a second after it opens)",
        )
    if action == "comment":
        return None
    if status.kind == "recognition":
        return 409, "a recognition is good news: comment on it, there is nothing to ack or close"
    life = status.lifecycle
    if life.closed:
        return 409, f"the alert is already closed (by {life.closed_by})"
    if action == "ack" and life.acked_by is not None:
        return 409, f"the alert is already acknowledged (by {life.acked_by})"
    return None


def _wire_lifecycle(life: Lifecycle) -> dict[str, Any]:
    return {
        "acked_by": life.acked_by,
        "acked_at": life.acked_at,
        "comments": [{**c, "at": utc_text(c["at"])} for c in life.comments],
        "closed": life.closed,
        "closed_by": life.closed_by,
        "closed_at": life.closed_at,
    }


_UNTOUCHED = _wire_lifecycle(Lifecycle())


def with_lifecycles(client: Client, page: Page) -> Page:
    """The page's alert events, each with its alert's lifecycle (:data:`LIFECYCLE_FIELDS`)."""
    ids = [uuid.UUID(row["alert_id"]) for row in page.rows]
    found = {str(k): _wire_lifecycle(v) for k, v in lifecycles(client, ids).items()}
    rows = [{**row, **found.get(row["alert_id"], _UNTOUCHED)} for row in page.rows]
    return Page(rows, page.next_key)


class ActionPublisher:
    """Produces actions to ``alerts.actions`` and waits for the broker's ack (idempotent
    producer, ``acks=all``); one producer per API process, made on first use."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout
        self._producer: Any = None
        self._lock = threading.Lock()

    def publish(self, action: AlertAction) -> str | None:
        """Produce ``action``; None once the broker stored it, else why not."""
        from civicpulse.infra import kafka_clients

        answers: list[str | None] = []

        def on_delivery(err: Any, _msg: Any) -> None:
            answers.append(None if err is None else str(err))

        with self._lock:
            if self._producer is None:
                self._producer = kafka_clients.producer(
                    self._settings, "ingest", overrides={"client.id": "civicpulse-alert-actions"}
                )
            self._producer.produce(
                topic_name(ALERTS_ACTIONS, self._settings.topic_prefix),
                key=str(action.alert_id).encode(),
                value=action.model_dump_json().encode(),
                on_delivery=on_delivery,
            )
            self._producer.flush(self._timeout)
        return answers[0] if answers else "no broker answer before the timeout"

    def close(self) -> None:
        """Drop the producer (every action was flushed when it was published)."""
        with self._lock:
            self._producer = None


def close_publisher(app: Any) -> None:
    """Called when the app stops: drop the actions producer if one was made."""
    publisher: ActionPublisher | None = getattr(app.state, "alert_actions", None)
    if publisher is not None:
        publisher.close()


def _publisher(request: Request) -> ActionPublisher:
    state = request.app.state
    if getattr(state, "alert_actions", None) is None:
        state.alert_actions = ActionPublisher(request.app.state.query_settings)
    publisher: ActionPublisher = state.alert_actions
    return publisher


def _token_name(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    tokens: Annotated[ApiTokens, Depends(get_tokens)],
) -> str:
    # require_token already refused a missing or unknown token.
    name = tokens.name_of(credentials.credentials) if credentials else None
    if name is None:
        raise HTTPException(401, "unknown or revoked API token")
    return name


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: AlertCommentText


class OptionalCommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: AlertCommentText | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemDetail, "description": "no or unknown bearer token"},
    404: {"model": ProblemDetail, "description": "no alert with this id is stored"},
    409: {"model": ProblemDetail, "description": "already acknowledged or closed; why"},
    422: {"model": ProblemDetail, "description": "invalid id or body: which field and why"},
    503: {"model": ProblemDetail, "description": "ClickHouse or the broker did not answer"},
}


def _act(
    request: Request, alert_id: uuid.UUID, action: ActionName, by: str, comment: str | None
) -> AlertAction:
    from civicpulse.sink.clickhouse import create_client

    try:
        status = alert_status(create_client(request.app.state.query_settings), alert_id)
    except SinkError as exc:
        raise HTTPException(503, str(exc)) from exc
    problem = refusal(status, action)
    if problem is not None:
        raise HTTPException(*problem)
    event = AlertAction(
        action_id=uuid.uuid4(),
        alert_id=alert_id,
        action=action,
        by=by,
        comment=comment,
        at=datetime.now(UTC),
    )
    error = _publisher(request).publish(event)
    if error is not None:
        raise HTTPException(503, f"the action was not stored by the broker: {error}")
    return event


TokenName = Annotated[str, Depends(_token_name)]


@router.post(
    "/alerts/{alert_id}/ack", status_code=201, response_model=AlertAction, responses=_ERRORS
)
def ack(
    request: Request,
    alert_id: uuid.UUID,
    by: TokenName,
    body: Annotated[OptionalCommentBody | None, Body()] = None,
) -> AlertAction:
    """Acknowledge an open alert (someone is on it); an optional comment goes with it."""
    return _act(request, alert_id, "ack", by, body.comment if body else None)


@router.post(
    "/alerts/{alert_id}/comment", status_code=201, response_model=AlertAction, responses=_ERRORS
)
def comment(request: Request, alert_id: uuid.UUID, by: TokenName, body: CommentBody) -> AlertAction:
    """Add a comment to an alert, open or closed."""
    return _act(request, alert_id, "comment", by, body.comment)


@router.post(
    "/alerts/{alert_id}/close", status_code=201, response_model=AlertAction, responses=_ERRORS
)
def close(
    request: Request,
    alert_id: uuid.UUID,
    by: TokenName,
    body: Annotated[OptionalCommentBody | None, Body()] = None,
) -> AlertAction:
    """Close an open alert by hand (an alert whose score recovers closes itself)."""
    return _act(request, alert_id, "close", by, body.comment if body else None)
