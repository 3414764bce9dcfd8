"""``GET /v1/alerts/stream``: alert events as Server-Sent Events, straight from the alert topics.

Reads ``alerts.all`` (or ``alerts.<department>``) with a confluent-kafka consumer that joins no
group (``assign`` at explicit offsets, never ``subscribe``, never a commit): every client has its
own position, and the SSE ``Last-Event-ID`` is that position. Each event's ``id`` is
``topic/partition/offset``; :mod:`civicpulse.api.alerts.order` defines the order and the resume
rule. The consumer is polled in a worker thread, never on the event loop; sse-starlette sends a
``: ping`` comment every ``sse_ping_seconds`` (15 s) so proxies keep an idle stream open.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from confluent_kafka import KafkaException
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sse_starlette import EventSourceResponse, ServerSentEvent

from civicpulse.api.alerts.order import MergeBuffer, format_event_id, parse_event_id
from civicpulse.api.ingest.models import ProblemDetail
from civicpulse.api.query.auth import require_token
from civicpulse.schemas.events import AlertEvent
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import alert_topic_name

__all__ = ["AlertReader", "router"]

router = APIRouter(prefix="/v1", tags=["queries"], dependencies=[Depends(require_token)])

_METADATA_TIMEOUT = 10.0


class StreamRequestError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class AlertReader:
    """One client's position on one alert topic; blocking calls, run in a worker thread."""

    def __init__(self, settings: Settings, topic: str, last_event_id: str | None) -> None:
        from civicpulse.infra import kafka_clients

        self.topic = topic
        # A group id is mandatory in librdkafka's config, but assign() never joins the group and
        # nothing is committed: the id is throw-away.
        self._consumer: Any = kafka_clients.consumer(
            settings, f"civicpulse-sse-{uuid.uuid4().hex}", "alert-stream"
        )
        try:
            self._assign(last_event_id)
        except BaseException:
            self._consumer.close()
            raise

    def _assign(self, last_event_id: str | None) -> None:
        from confluent_kafka import TopicPartition

        metadata = self._consumer.list_topics(self.topic, timeout=_METADATA_TIMEOUT)
        info = metadata.topics.get(self.topic)
        if info is None or info.error is not None:
            raise StreamRequestError(404, f"no alert topic {self.topic}: unknown department?")
        partitions = tuple(sorted(info.partitions))
        resume = parse_event_id(last_event_id) if last_event_id else None
        if last_event_id and (resume is None or resume[0] != self.topic):
            raise StreamRequestError(
                422, f"Last-Event-ID {last_event_id!r} is not an event id of {self.topic}"
            )
        if resume is None:
            # Live from now: the ends are resolved before the response starts, so any alert
            # produced once the client sees the headers is delivered.
            offsets = {p: self._end(p) for p in partitions}
            self.buffer = MergeBuffer(partitions)
        else:
            _, partition, offset = resume
            if partition not in partitions:
                raise StreamRequestError(422, f"{self.topic} has no partition {partition}")
            stamp = self._timestamp_at(partition, offset)
            after = (stamp, partition, offset)
            offsets = self._offsets_at(partitions, stamp)
            offsets[partition] = offset + 1
            self.buffer = MergeBuffer(partitions, after=after)
        self._consumer.assign([TopicPartition(self.topic, p, o) for p, o in offsets.items()])

    def _end(self, partition: int) -> int:
        from confluent_kafka import TopicPartition

        _, high = self._consumer.get_watermark_offsets(
            TopicPartition(self.topic, partition), timeout=_METADATA_TIMEOUT
        )
        return int(high)

    def _timestamp_at(self, partition: int, offset: int) -> int:
        """The timestamp of the event the client named (0 when it is gone: replay from start)."""
        from confluent_kafka import TopicPartition

        self._consumer.assign([TopicPartition(self.topic, partition, offset)])
        deadline = time.monotonic() + _METADATA_TIMEOUT
        try:
            while time.monotonic() < deadline:
                message = self._consumer.poll(0.2)
                if message is None:
                    continue
                if message.error() is not None:
                    return 0  # at the end: no such event (any more)
                if message.offset() == offset:
                    return int(message.timestamp()[1])
                return 0  # the event was removed by retention
            return 0
        finally:
            self._consumer.unassign()

    def _offsets_at(self, partitions: tuple[int, ...], stamp: int) -> dict[int, int]:
        from confluent_kafka import TopicPartition

        found = self._consumer.offsets_for_times(
            [TopicPartition(self.topic, p, stamp) for p in partitions], timeout=_METADATA_TIMEOUT
        )
        # -1: no message at or after the timestamp, so start at the end
        return {
            tp.partition: tp.offset if tp.offset >= 0 else self._end(tp.partition) for tp in found
        }

    def next_events(self, wait: float) -> list[tuple[str, bytes]]:
        """Events ready within ``wait`` seconds: ``(event id, value)`` in stream order."""
        from confluent_kafka import KafkaError

        deadline = time.monotonic() + wait
        while True:
            for message in self._consumer.consume(num_messages=500, timeout=0.1):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        self.buffer.at_end(message.partition())
                    continue
                self.buffer.add(
                    int(message.timestamp()[1]),
                    message.partition(),
                    message.offset(),
                    message.value() or b"",
                )
            ready = self.buffer.ready(int(time.time() * 1000))
            if ready or time.monotonic() >= deadline:
                return [(format_event_id(self.topic, *e.key[1:]), e.value) for e in ready]

    def close(self) -> None:
        self._consumer.close()


def _topic(settings: Settings, department: str | None) -> str:
    return alert_topic_name(department or None, settings.topic_prefix)


def _event(event_id: str, value: bytes) -> ServerSentEvent | None:
    try:
        alert = AlertEvent.model_validate_json(value)
    except ValidationError:
        return None  # not an alert event: nothing a client could use
    return ServerSentEvent(data=alert.model_dump_json(), id=event_id, event="alert")


@router.get(
    "/alerts/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "text/event-stream: `event: alert`, `id: topic/partition/offset`, "
            "`data:` the alert event JSON; `: ping` comments every 15 s",
            "content": {"text/event-stream": {}},
        },
        401: {"model": ProblemDetail, "description": "no or unknown bearer token"},
        404: {"model": ProblemDetail, "description": "no alert topic for that department"},
        422: {"model": ProblemDetail, "description": "invalid parameter or Last-Event-ID"},
        503: {"model": ProblemDetail, "description": "the broker did not answer"},
    },
)
async def alert_stream(
    request: Request,
    department: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$", description="alerts.<department>"),
    ] = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=300, description="resume after")
    ] = None,
) -> Response:
    """Alert events as they happen; reconnecting with ``Last-Event-ID`` loses and repeats none."""
    settings: Settings = request.app.state.query_settings
    topic = _topic(settings, department)
    try:
        reader = await anyio.to_thread.run_sync(AlertReader, settings, topic, last_event_id)
    except StreamRequestError as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)
    except KafkaException as exc:
        return JSONResponse({"detail": f"the broker did not answer: {exc}"}, status_code=503)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            while True:
                batch = await anyio.to_thread.run_sync(reader.next_events, 0.5)
                for event_id, value in batch:
                    event = _event(event_id, value)
                    if event is not None:
                        yield event
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(reader.close)

    ping = float(getattr(request.app.state, "sse_ping_seconds", 15.0))
    return EventSourceResponse(events(), ping=ping)
