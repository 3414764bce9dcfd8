"""Every use of Faust's internals, in one place, pinned to the version it was tested on.

faust-streaming has defects that break the reading-order contract (``docs/stream.md``, "Restarts";
faust-streaming #166, #629) and a per-message changelog path too slow for the anti-spam stage.
The repairs below reach into Faust's private attributes. They are correct for
**faust-streaming 0.15.3** (pinned in ``pyproject.toml``) and for no version known to be
different, so ``check_faust`` runs when the app is created: another installed version, or a
private name that moved, stops the worker with a message saying what to do, instead of a worker
that silently commits over lost presses.

What lives here, and why each is needed:

* ``refuse_offset_gaps``: Faust's consumer fills a jump in delivered offsets as acknowledged
  (``Consumer._add_gap``, meant for compacted topics and transaction markers) and commits over
  it. Our topics have neither, so a jump is a message Faust dropped; the commit must stop below
  it (the stall watchdog then seeks back).
* ``withhold_ack``: ``Stream.take_events`` acknowledges every event of a batch; marking a
  message ``acked`` beforehand makes that a no-op, so a press held back by the in-order guard
  never becomes committable.
* ``table_data`` / ``changelog_record``: a table's local store (``Table.data``) written
  directly, and its changelog record encoded as Faust's recovery decodes it (JSON key and value),
  so the framework sends it for an explicit partition through the project's producer.
* ``consumer_state`` / ``resume_and_seek``: Faust's per-partition flow-control sets and read
  offset, read for the watchdog's log line and cleared when it kicks a stalled partition.
* ``REBALANCE_SETTINGS`` / ``held_partitions``: on a rebalance Faust suspends the flow, clears
  the agents' queues and then waits until every message it delivered is acknowledged
  (``Consumer.wait_empty``); events waiting in ``Stream.take_events``' buffer for the batch to
  fill are never handed on while the flow is suspended, so that wait never ends and the worker
  never rejoins: the whole group stalls until the broker's rebalance timeout (60 s) drops the
  member (seen on the three-node cluster, ``docs/faults.md``, "Cluster rounds"). The worker
  turns that wait off (``stream_wait_empty=False``); the runner's own revocation waits for the
  batch in progress instead (its lock), and a batch drops, unacknowledged, the events of
  partitions the worker no longer holds (stale events of that buffer, handed on after the
  rebalance): their owner reads them again from the committed offset.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson

from civicpulse.stream.exceptions import StreamError

__all__ = [
    "FAUST_VERSION",
    "GAP_FILLER",
    "REBALANCE_SETTINGS",
    "changelog_record",
    "check_faust",
    "consumer_state",
    "held_partitions",
    "refuse_offset_gaps",
    "resume_and_seek",
    "table_data",
    "withhold_ack",
]

log = logging.getLogger("civicpulse.stream.framework.faust_repairs")

#: the only faust-streaming version these repairs were tested on
FAUST_VERSION = "0.15.3"

#: the consumer's gap filling, replaced by ``refuse_offset_gaps``
GAP_FILLER = "_add_gap"
#: the private consumer attributes the repairs read or replace (checked at start-up)
_CONSUMER_INTERNALS = (
    GAP_FILLER,
    "_read_offset",
    "_active_partitions",
    "_paused_partitions",
    "_buffered_partitions",
)


def check_faust(installed: str | None = None) -> None:
    """Refuse to start on a faust-streaming other than ``FAUST_VERSION``, or with moved internals.

    ``installed`` defaults to the installed distribution's version (a parameter for the tests).
    """
    if installed is None:
        try:
            installed = version("faust-streaming")
        except PackageNotFoundError:
            installed = "not installed"
    if installed != FAUST_VERSION:
        raise StreamError(
            f"faust-streaming {installed} is installed, but the stream's repairs of Faust's "
            "internals (civicpulse.stream.framework.faust_repairs) are tested on "
            f"{FAUST_VERSION} only: "
            f"install faust-streaming=={FAUST_VERSION} (the version pinned in pyproject.toml), "
            "or re-test the repairs on the new version and move the pin"
        )
    from faust.transport.consumer import Consumer
    from faust.types.tuples import Message

    missing = [name for name in _CONSUMER_INTERNALS if not hasattr(Consumer, name)]
    acked = "acked" in getattr(Message, "__slots__", ()) or hasattr(Message, "acked")
    # Instance attributes are declared as class annotations or set in __init__.
    names = set(Consumer.__init__.__code__.co_names)
    for cls in Consumer.__mro__:
        names |= set(vars(cls)) | set(getattr(cls, "__annotations__", {}))
    missing = [name for name in missing if name not in names]
    missing += [] if acked else ["Message.acked"]
    if missing:
        raise StreamError(
            f"faust-streaming {installed} lacks internals the stream repairs rely on: "
            f"{', '.join(missing)}; reinstall faust-streaming=={FAUST_VERSION}"
        )


def refuse_offset_gaps(app: Any) -> None:
    """After each assignment, replace the consumer's gap filling with a warning (see module doc)."""

    async def no_gap(tp: Any, offset_from: int, offset_to: int) -> None:
        log.warning(
            "%s[%d]: offsets %d..%d were skipped by the fetcher; not committing over them",
            tp.topic,
            tp.partition,
            offset_from,
            offset_to,
        )

    async def on_assigned(sender: Any, /, *args: Any, **kwargs: Any) -> None:
        setattr(app.consumer, GAP_FILLER, no_gap)

    app.on_partitions_assigned.connect(on_assigned)


#: Faust settings of the rebalance workaround (module doc)
REBALANCE_SETTINGS: dict[str, Any] = {"stream_wait_empty": False}


def held_partitions(app: Any, topic: str) -> set[int]:
    """The partitions of ``topic`` the worker's consumer is assigned now."""
    return {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}


def withhold_ack(event: Any) -> None:
    """Make Faust's later ack of this event a no-op: its offset stays uncommitted.

    A message already marked acked is skipped by ``Message.ack``, so its offset never joins the
    consumer's acknowledged offsets and the commit stops below it until the message is delivered
    again (a new Message object).
    """
    event.message.acked = True


def table_data(table: Any) -> Any:
    """The table's local store (a mutable mapping), written without Faust's changelog path."""
    return table.data


def changelog_record(key: str, value: Any) -> tuple[bytes, bytes | None]:
    """A table changelog record (key, value) as Faust's recovery decodes it (JSON; None deletes)."""
    return orjson.dumps(key), None if value is None else orjson.dumps(value)


def _held(app: Any, key: tuple[str, int]) -> Any:
    return next((t for t in app.consumer.assignment() if (t.topic, t.partition) == key), None)


def consumer_state(app: Any, key: tuple[str, int]) -> str:
    """Faust's view of one partition (flow-control sets, read offset): for a maintainer's log."""
    consumer = app.consumer
    tp = _held(app, key)
    if tp is None:
        return "not assigned"
    parts = []
    for name in ("_active_partitions", "_paused_partitions", "_buffered_partitions"):
        members = getattr(consumer, name, None)
        if members is not None:
            parts.append(f"{name.strip('_').split('_')[0]}={tp in members}")
    read_offset = getattr(consumer, "_read_offset", {}).get(tp)
    parts.append(f"read offset={read_offset}")
    return ", ".join(parts)


async def resume_and_seek(app: Any, key: tuple[str, int], offset: int) -> None:
    """Resume the partition in Faust's flow control and seek it to ``offset``.

    The seek resets both Faust's read offset and the fetch position, so messages Faust dropped
    below its read offset are delivered again.
    """
    consumer = app.consumer
    tp = _held(app, key)
    if tp is None:
        return
    buffered = getattr(consumer, "_buffered_partitions", None)
    if buffered is not None:
        buffered.discard(tp)
    consumer.resume_partitions({tp})
    await consumer.seek(tp, offset)
