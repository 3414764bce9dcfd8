"""A worker that holds a source partition with a backlog must make progress on it, or go.

What goes wrong (seen here after a worker was SIGKILLed and restarted, about one run in four;
the open faust-streaming reports #166 and #629 describe the same symptom): when table recovery
completes, Faust resumes the stream partitions and only then seeks them to the committed
offsets, while its fetcher is already delivering. A batch fetched before the seek goes on being
delivered after it, Faust's *read offset* runs ahead of the new fetch position, and every
re-fetched message below it is dropped as already read. The worker says "Ready", its other
partitions flow, and one partition's presses wait forever; worse, the next delivered offset looks
like a gap, which Faust fills as acknowledged and commits over: presses lost without an error.

Two repairs, outside Faust's state that went wrong (Faust's internals are touched only in
``stream.framework.faust_repairs``):

* ``faust_repairs.refuse_offset_gaps``: no gap filling (our topics are neither compacted nor
  transactional, so a gap can only be a drop); the commit stops below the hole instead of
  skipping it;
* the watchdog: every ``interval`` it reads, for each held partition of the agents' source
  topics, the group's committed offset and the log end offset (a plain librdkafka consumer that
  never joins). A partition with a backlog whose committed offset has not moved for
  ``SEEK_AFTER`` seconds (or ``after``, if shorter), while Faust is neither rebalancing nor
  recovering, is *stalled* (``StallWatch``, pure). First time: an error log and a seek to the
  committed offset, which resets the read offset and the fetch position, so the dropped messages
  are read again (a re-delivered press gets the verdict it had: see
  ``stream.stages.antispam.decide``). Still stalled ``after`` seconds after the seek
  (``StallResponse``, pure): a critical log and exit with ``EXIT_STALLED``; outputs are flushed
  before their inputs are acknowledged, so a restarted worker (``civicpulse up`` restarts it; so
  would systemd) takes over from the committed offsets with nothing lost.

The seek comes early because it is cheap and safe, and because the race strikes at the end of a
rebalance: a partition whose presses stopped arriving (the end of a burst, a quiet desk) has no
later press to show the hole, so only the watchdog moves it. With the seek at ``after`` (30 s), a
CI cluster round went 36 s without a verdict after a worker joined, about that wait plus one
check interval (its logs were not kept). The exit, which costs the whole group a rebalance,
keeps the longer wait.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from civicpulse.infra import kafka_clients
from civicpulse.stream.framework import metrics
from civicpulse.stream.framework.faust_repairs import (
    consumer_state,
    refuse_offset_gaps,
    resume_and_seek,
)

__all__ = [
    "EXIT_STALLED",
    "SEEK_AFTER",
    "Backlog",
    "GroupOffsets",
    "StallResponse",
    "StallWatch",
    "install_stall_watchdog",
]

log = logging.getLogger("civicpulse.stream.framework.watchdog")

#: exit status of a worker that gave up on a stalled partition (BSD EX_TEMPFAIL: try again)
EXIT_STALLED = 75
#: seconds without progress before a partition is sought back to its committed offset (or the
#: worker's ``--stall-seconds``, if shorter): the seek is safe, so it comes early (module doc)
SEEK_AFTER = 10.0

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Backlog:
    """One partition as the group sees it: next offset to process and the log end."""

    committed: int
    end: int

    @property
    def pending(self) -> int:
        return max(0, self.end - self.committed)


class StallWatch(Generic[K]):
    """Which partitions had work pending and no committed progress for ``after`` seconds.

    ``observe`` is called with every partition the worker holds; a partition it no longer holds
    is forgotten, so a partition that comes back starts a fresh clock. ``pause`` (a rebalance
    or a recovery in progress) restarts every clock: progress is not expected then.
    """

    def __init__(self, after: float) -> None:
        if after <= 0:
            raise ValueError("after must be positive")
        self.after = after
        self._since: dict[K, tuple[int, float]] = {}

    def pause(self) -> None:
        self._since.clear()

    def observe(self, now: float, partitions: Mapping[K, Backlog]) -> list[K]:
        for key in [k for k in self._since if k not in partitions]:
            del self._since[key]
        stalled: list[K] = []
        for key, backlog in partitions.items():
            if backlog.pending == 0:
                # Work that shows up later is timed from the first look that sees it.
                self._since.pop(key, None)
                continue
            seen = self._since.get(key)
            if seen is None or seen[0] != backlog.committed:
                self._since[key] = (backlog.committed, now)
            elif now - seen[1] >= self.after:
                stalled.append(key)
        return stalled


class StallResponse(Generic[K]):
    """What to do about the partitions ``StallWatch`` reports: seek each back once, and give up
    (the worker exits) on one still reported ``give_up_after`` seconds after its seek. A
    partition with nothing pending any more is done with; ``forget`` (a rebalance) clears all."""

    def __init__(self, give_up_after: float) -> None:
        if give_up_after <= 0:
            raise ValueError("give_up_after must be positive")
        self.give_up_after = give_up_after
        self.sought: dict[K, float] = {}

    def forget(self) -> None:
        self.sought.clear()

    def respond(
        self, now: float, stalled: list[K], partitions: Mapping[K, Backlog]
    ) -> tuple[list[K], list[K]]:
        """(partitions to seek back now, partitions to give up on)."""
        seek, give_up = [], []
        for key in stalled:
            if key not in self.sought:
                self.sought[key] = now
                seek.append(key)
            elif now - self.sought[key] >= self.give_up_after:
                give_up.append(key)
        for key in [k for k in self.sought if k not in partitions or partitions[k].pending == 0]:
            del self.sought[key]
        return seek, give_up


class GroupOffsets:
    """The group's committed offsets and the log end offsets, read without joining the group."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._consumer = kafka_clients.consumer(
            bootstrap, group, "stream-watchdog", overrides={"client.id": f"{group}-watchdog"}
        )

    def read(
        self, partitions: list[tuple[str, int]], timeout: float = 5.0
    ) -> dict[tuple[str, int], Backlog]:
        from confluent_kafka import KafkaException, TopicPartition

        if not partitions:
            return {}
        # Ask for each topic's metadata first: on a cluster, after a node restart, librdkafka
        # had dropped it and answered every read with "Local: Unknown partition" for minutes,
        # which left the watchdog blind while a partition was never fetched again.
        for topic in sorted({t for t, _ in partitions}):
            self._consumer.list_topics(topic, timeout=timeout)
        committed = self._consumer.committed(
            [TopicPartition(t, p) for t, p in partitions], timeout=timeout
        )
        result: dict[tuple[str, int], Backlog] = {}
        for tp in committed:
            if tp.error is not None:  # no answer for this partition: no guess either
                raise KafkaException(tp.error)
            low, high = self._consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), timeout=timeout
            )
            # No commit yet, or one below the log start (retention): the worker starts at the
            # log start (auto.offset.reset=earliest).
            start = max(tp.offset, low)
            result[(tp.topic, tp.partition)] = Backlog(committed=start, end=high)
        return result


def install_stall_watchdog(
    app: Any,
    topics: Collection[str],
    *,
    offsets: GroupOffsets,
    after: float,
    interval: float = 5.0,
) -> None:
    """Add the watchdog timer to a Faust app (see the module doc); ``offsets`` reads its group."""
    import asyncio

    watch: StallWatch[tuple[str, int]] = StallWatch(min(SEEK_AFTER, after))
    response: StallResponse[tuple[str, int]] = StallResponse(give_up_after=after)
    refuse_offset_gaps(app)

    async def check() -> None:
        if app.rebalancing or app.in_recovery:
            watch.pause()
            response.forget()
            return
        held = sorted((tp.topic, tp.partition) for tp in app.consumer.assignment())
        held = [tp for tp in held if tp[0] in topics]
        loop = asyncio.get_running_loop()
        try:
            backlog = await loop.run_in_executor(None, offsets.read, held)
        except Exception as exc:  # the broker may be away: no verdict this round
            log.warning("watchdog could not read committed offsets: %s", exc)
            watch.pause()
            return
        metrics.set_lag({key: held.pending for key, held in backlog.items()})
        now = time.monotonic()
        seek, give_up = response.respond(now, watch.observe(now, backlog), backlog)
        for key in seek:
            topic, partition = key
            log.error(
                "%s[%d]: %d messages waiting, no progress for %.0fs (%s); seeking it to %d",
                topic,
                partition,
                backlog[key].pending,
                watch.after,
                consumer_state(app, key),
                backlog[key].committed,
            )
            await resume_and_seek(app, key, backlog[key].committed)
        for key in give_up:
            topic, partition = key
            log.critical(
                "%s[%d] still stalled %.0fs after the seek (%s): exiting with status %d "
                "so that the worker is restarted; nothing is lost (offsets are committed "
                "only after their outputs)",
                topic,
                partition,
                now - response.sought[key],
                consumer_state(app, key),
                EXIT_STALLED,
            )
            logging.shutdown()
            os._exit(EXIT_STALLED)

    app.timer(interval=interval, name="stall_watchdog")(check)
