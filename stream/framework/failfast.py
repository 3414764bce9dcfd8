"""An agent that raises ends the worker; a message that fails every time is dead-lettered.

Faust logs an agent's exception and leaves the worker running without it: its partitions stay
assigned, nothing reads them, and (worse, seen with the scores agent) the consumer group's
offsets can still move on. Here every agent body runs inside ``guard``: an exception is logged,
the failing messages are written to a small ledger on disk, and the process exits at once with
``EXIT_AGENT_FAILED`` (``os._exit``: no Faust shutdown, so no commit of anything acknowledged
after the failure; the batch that failed was never acknowledged). The supervisor
(``civicpulse up``, systemd, Kubernetes) starts the worker again and it re-reads from the
committed offsets.

A message that makes the agent fail again and again would crash-loop the worker. The ledger
counts failures per message: the messages of a failed batch become *suspects*; a batch with a
suspect is processed one message at a time, so the next failure names the one message; after
``max_failures`` failures it is dead-lettered with the reason instead of processed, and the
stream goes on.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

import orjson

__all__ = ["EXIT_AGENT_FAILED", "FailureLedger", "MessageKey", "die", "run_guarded"]

log = logging.getLogger("civicpulse.stream")

#: exit status of a worker whose agent raised (BSD EX_SOFTWARE)
EXIT_AGENT_FAILED = 70

#: (topic, partition, offset)
MessageKey = tuple[str, int, int]


def die(agent: str, error: BaseException) -> NoReturn:
    """Log, flush the logs and end the process now (see module doc)."""
    log.critical(
        "agent %s failed: %s: %s; the worker exits (status %d) so that its supervisor restarts "
        "it from the committed offsets",
        agent,
        type(error).__name__,
        error,
        EXIT_AGENT_FAILED,
        exc_info=error,
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(EXIT_AGENT_FAILED)


def _text(key: MessageKey) -> str:
    return f"{key[0]}|{key[1]}|{key[2]}"


class FailureLedger:
    """Failures per message, kept in a JSON file across restarts (see module doc)."""

    def __init__(self, path: Path, *, max_failures: int = 3) -> None:
        self.path = path
        self.max_failures = max_failures
        self._entries: dict[str, list[object]] = {}
        if path.exists():
            try:
                self._entries = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError:
                log.warning("failure ledger %s is unreadable; starting a new one", path)

    def failures(self, key: MessageKey) -> int:
        entry = self._entries.get(_text(key))
        return 0 if entry is None else int(entry[0])  # type: ignore[call-overload]

    def last_error(self, key: MessageKey) -> str:
        entry = self._entries.get(_text(key))
        return "" if entry is None else str(entry[1])

    def exhausted(self, key: MessageKey) -> bool:
        """This message failed ``max_failures`` times: dead-letter it instead."""
        return self.failures(key) >= self.max_failures

    def suspect(self, keys: Iterable[MessageKey]) -> bool:
        """Some message here failed before: process them one at a time."""
        return bool(self._entries) and any(_text(k) in self._entries for k in keys)

    def record(self, keys: Iterable[MessageKey], error: BaseException) -> None:
        """One more failure for each message (written to disk before the process exits)."""
        reason = f"{type(error).__name__}: {error}"[:500]
        for key in keys:
            self._entries[_text(key)] = [self.failures(key) + 1, reason]
        self._save()

    def clear(self, keys: Iterable[MessageKey]) -> None:
        """These messages were processed (or dead-lettered): forget them."""
        if not self._entries:
            return
        removed = [self._entries.pop(_text(k), None) for k in keys]
        if any(entry is not None for entry in removed):
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=".failures.")
        with os.fdopen(fd, "wb") as out:
            out.write(orjson.dumps(self._entries))
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, self.path)


def _key(event: Any) -> MessageKey:
    message = event.message
    return (str(message.topic), int(message.partition), int(message.offset))


async def run_guarded(
    agent: str,
    stream: Any,
    config: Any,
    ledger: FailureLedger,
    process: Callable[[list[Any]], Awaitable[None]],
    dead_letter: Callable[[Any, str, str], None],
    within: float | None = None,
) -> None:
    """The loop of every agent: batches through ``process``, failures end the worker.

    A batch is up to ``config.batch_size`` events, waited for at most ``within`` seconds
    (default ``config.batch_within``).

    ``process`` handles a list of events and flushes its outputs before returning (the events
    are acknowledged after it returns). A batch holding a message that failed before is
    processed one message at a time; a message that failed ``max_failures`` times is
    dead-lettered (``dead_letter(event, reason, stage)``) instead of processed.
    """
    try:
        wait = config.batch_within if within is None else within
        async for batch in stream.take_events(config.batch_size, within=wait):
            keys = [_key(event) for event in batch]
            units = [[event] for event in batch] if ledger.suspect(keys) else [batch]
            for unit in units:
                live = []
                for event in unit:
                    key = _key(event)
                    if ledger.exhausted(key):
                        reason = (
                            f"{agent} failed {ledger.failures(key)} times on this message: "
                            f"{ledger.last_error(key)}"
                        )
                        log.error("%s[%d]@%d dead-lettered: %s", *key, reason)
                        dead_letter(event, reason, f"stream.{agent}")
                    else:
                        live.append(event)
                try:
                    await process(live)
                except Exception as exc:
                    ledger.record([_key(event) for event in unit], exc)
                    die(agent, exc)
            ledger.clear(keys)
    except Exception as exc:  # Faust's own stream machinery failed: same outcome
        die(agent, exc)
