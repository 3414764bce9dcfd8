"""Silent devices, the wiring: a periodic check in the process that owns ClickHouse.

Why here and not as a stream stage over ``presses.raw``: the question "did this desk press at
this time on the previous weeks?" is weeks of history per device, which the store already has
(``presses``, every judged press with its device, site and department), while a stream stage
would have to keep and checkpoint that history itself. The open alerts are read back from the
``alerts`` table too, so the check keeps no state of its own: a restart, or two sinks, produce
the same events (deterministic ids, see :mod:`.silence`). The price is the sink's lag (about a
second), small next to a silence limit of minutes.

Each check (:meth:`SilentWatch.check`): terminal devices with their last press and their presses
in the reference spans -> :func:`.silence.silent_event` for devices without an open silence;
open silences -> :func:`.silence.back_event` on the device's first press after it. Events go to
``alerts.<department>`` and ``alerts.all`` (key ``device:<device_id>``), like the stream's.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from civicpulse.analytics.silence import (
    DeviceActivity,
    SilenceRules,
    back_event,
    reference_spans,
    silent_event,
)
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import AlertEvent
from civicpulse.schemas.settings import Settings
from civicpulse.schemas.topics import alert_topic_name

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["OpenAt", "SilentWatch", "opening_hours_of", "rules_from_settings", "start_silent_watch"]

log = logging.getLogger("civicpulse.sink.silent")

#: (site_id, moment) -> is the site open then? None when its opening hours are not known.
OpenAt = Callable[[str, datetime], bool | None]

_ACTIVITY = """
SELECT device_id, argMax(site_id, received_at), argMax(department_id, received_at),
       max(received_at)
FROM presses
WHERE channel = 'terminal' AND department_id IS NOT NULL
  AND received_at >= {oldest:DateTime64(3, 'UTC')} AND received_at < {now:DateTime64(3, 'UTC')}
GROUP BY device_id
"""
# Presses of each device in each reference span (k = 1 is last week); uniqExact: a re-delivered
# press not merged yet is still one press.
_WEEKLY = """
SELECT device_id, k, uniqExact(event_id)
FROM presses
ARRAY JOIN [arrayFirstIndex((s, e) -> received_at >= s AND received_at < e,
    {starts:Array(DateTime64(3, 'UTC'))}, {ends:Array(DateTime64(3, 'UTC'))})] AS k
WHERE channel = 'terminal' AND k > 0
  AND received_at >= {oldest:DateTime64(3, 'UTC')} AND received_at < {newest:DateTime64(3, 'UTC')}
GROUP BY device_id, k
"""
_OPEN = """
SELECT toString(alert_id), scope_id, department_id, site_id, threshold, expected_presses,
       window_start, window_end, at
FROM alerts FINAL
WHERE kind = 'silent_device' AND state = 'opened'
  AND alert_id NOT IN (SELECT alert_id FROM alerts WHERE state = 'resolved')
"""
_KNOWN = "SELECT DISTINCT alert_id FROM alerts WHERE alert_id IN {ids:Array(UUID)}"
_FIRST_AFTER = """
SELECT minOrNull(received_at) FROM presses
WHERE device_id = {device:String} AND received_at > {since:DateTime64(3, 'UTC')}
"""


def _aware(moment: datetime | None) -> datetime | None:
    # The engine hands DateTime64(3, 'UTC') back without a zone (chDB) or with one (server).
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def rules_from_settings(settings: Settings) -> SilenceRules:
    return SilenceRules(
        after=timedelta(minutes=settings.silent_after_minutes),
        weeks=settings.silent_weeks,
        min_weeks=settings.silent_min_weeks,
    )


def _open_alert(row: Sequence[Any]) -> AlertEvent:
    alert_id, device, department, site, threshold, expected, start, end, at = row
    return AlertEvent(
        alert_id=uuid.UUID(alert_id),
        state="opened",
        kind="silent_device",
        scope="device",
        scope_id=device,
        department_id=department,
        site_id=site,
        mode="threshold",
        score=0.0,
        n=0,
        threshold=threshold,
        expected_presses=expected,
        window_start=_aware(start),
        window_end=_aware(end),
        at=_aware(at),
    )


class SilentWatch:
    """Checks for silent devices every ``interval`` seconds and sends their alert events."""

    def __init__(
        self,
        settings: Settings,
        client: Client,
        *,
        open_at: OpenAt | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.client = client
        self.rules = rules_from_settings(settings)
        self.zone = ZoneInfo(settings.city_timezone)
        self.open_at = open_at
        self.clock = clock
        self._stop = threading.Event()
        self._producer: Any = None
        self._topics: set[str] = set()

    # -- one check (queries + the pure detector) ----------------------------------------------

    def check(self, now: datetime) -> list[AlertEvent]:
        """The events a check at ``now`` sends: new silences, then devices back."""
        spans = reference_spans(now, self.zone, self.rules)
        oldest = min(start for start, _ in spans)
        weekly: dict[str, list[int]] = {}
        for device, k, count in self.client.query(
            _WEEKLY,
            parameters={
                "starts": [s for s, _ in spans],
                "ends": [e for _, e in spans],
                "oldest": oldest,
                "newest": max(e for _, e in spans),
            },
        ).result_rows:
            weekly.setdefault(device, [0] * len(spans))[k - 1] = count
        opened = [_open_alert(row) for row in self.client.query(_OPEN).result_rows]
        silent_now = {alert.scope_id for alert in opened}
        events: list[AlertEvent] = []
        rows = self.client.query(_ACTIVITY, parameters={"oldest": oldest, "now": now})
        for device, site, department, last in rows.result_rows:
            if device in silent_now or device not in weekly:
                continue
            last_press = _aware(last)
            assert last_press is not None  # max() over at least one row
            activity = DeviceActivity(device, site, department, last_press, weekly[device])
            event = silent_event(activity, now, self.rules, open_now=self._open(site, now))
            if event is not None:
                events.append(event)
        events = self._not_stored(events)
        for alert in opened:
            first = self.client.query(
                _FIRST_AFTER, parameters={"device": alert.scope_id, "since": alert.window_start}
            ).result_rows[0][0]
            back = back_event(alert, _aware(first))
            if back is not None:
                events.append(back)
        return events

    def _open(self, site: str | None, now: datetime) -> bool | None:
        if self.open_at is None or site is None:
            return None
        ends = (self.open_at(site, now - self.rules.after), self.open_at(site, now))
        if None in ends:
            return None
        return all(ends)

    def _not_stored(self, events: list[AlertEvent]) -> list[AlertEvent]:
        # A silence closed by hand is neither open nor resolved: its id is stored, so skip it.
        if not events:
            return events
        ids = [e.alert_id for e in events]
        known = {row[0] for row in self.client.query(_KNOWN, parameters={"ids": ids}).result_rows}
        return [e for e in events if e.alert_id not in known]

    # -- sending and the loop -----------------------------------------------------------------

    def send(self, events: list[AlertEvent]) -> None:
        """Produce ``events`` to their department's topic and ``alerts.all``; wait for acks."""
        from civicpulse.infra import kafka_clients
        from civicpulse.infra.topics import ensure_alert_topics

        if not events:
            return
        prefix = self.settings.topic_prefix
        missing = {e.department_id for e in events} - self._topics
        if missing:
            ensure_alert_topics(self.settings.bootstrap_servers, missing, prefix)
            self._topics |= missing
        if self._producer is None:
            self._producer = kafka_clients.producer(
                self.settings, "ingest", overrides={"client.id": "civicpulse-silent-devices"}
            )
        for event in events:
            key = f"device:{event.scope_id}".encode()
            value = event.model_dump_json().encode()
            for topic in (
                alert_topic_name(event.department_id, prefix),
                alert_topic_name(None, prefix),
            ):
                self._producer.produce(topic, key=key, value=value)
            log.info(
                "silent device %s %s since %s", event.scope_id, event.state, event.window_start
            )
        if self._producer.flush(30) != 0:
            raise RuntimeError("silent-device alerts were not acknowledged by the broker")

    def run(self) -> None:
        """Check every ``silent_check_seconds`` until :meth:`stop`; a failed check is logged
        and tried again next time (the check is stateless)."""
        interval = self.settings.silent_check_seconds
        while interval > 0 and not self._stop.wait(interval):
            try:
                self.send(self.check(self.clock()))
            except Exception:
                log.exception("silent-device check failed; trying again in %.0f s", interval)

    def stop(self) -> None:
        self._stop.set()


def opening_hours_of(catalogue: Callable[[], Catalogue], city_timezone: str) -> OpenAt:
    """An :data:`OpenAt` over the catalogue's opening hours (the current catalogue each call)."""

    def open_at(site_id: str, moment: datetime) -> bool | None:
        for site in catalogue().sites:
            if site.site_id == site_id and site.opening_hours is not None:
                hours = site.opening_hours
                return hours.is_open(moment.astimezone(hours.zone(city_timezone)))
        return None

    return open_at


def start_silent_watch(
    settings: Settings, client: Client, open_at: OpenAt | None = None
) -> SilentWatch | None:
    """Run a :class:`SilentWatch` on a daemon thread (None when ``silent_check_seconds`` is 0);
    call ``stop()`` on it when the process stops."""
    if settings.silent_check_seconds <= 0:
        return None
    watch = SilentWatch(settings, client, open_at=open_at)
    threading.Thread(target=watch.run, name="silent-devices", daemon=True).start()
    return watch
