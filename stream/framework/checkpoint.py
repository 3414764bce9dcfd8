"""The checkpoint: the one commit order of every processor, for one agent batch or one tick.

A ``Checkpoint`` owns what a batch (or a tick) produced: the outputs it sent through the
stream's producer and the state ``Transaction`` of each partition it touched. ``commit()``:

1. flushes the outputs, retrying until the broker acknowledged every one (``Outputs.flush``);
2. writes each transaction's changes and then, last, the partition's processed offset
   (``transaction``: a crash half way leaves a prefix that reads as the previous commit);
3. flushes again;

and only after it returns does the runner acknowledge the batch's events to Faust. A crash
after (1) re-reads the inputs and emits their outputs again (at-least-once, the sinks keep the
latest row); during (2) the partial state reads as the last finished commit, so the inputs are
processed again from the same state; after (3) and before the acknowledgement the runner skips
the re-read records at or below the stored processed offset (their outputs were flushed before
it was written). No processor calls a producer or flushes anything itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from civicpulse.stream.framework import metrics
from civicpulse.stream.framework.outputs import Headers, Outputs
from civicpulse.stream.framework.transaction import PartitionState, Transaction

__all__ = ["Checkpoint"]


class Checkpoint:
    """Outputs and state transactions of one batch or tick (see module doc)."""

    def __init__(
        self,
        outputs: Callable[[], Outputs],
        partitions: Callable[[int], PartitionState] | None,
        processor: str = "",
    ) -> None:
        self._outputs = outputs
        #: the processor whose outputs and commits the metrics count
        self.processor = processor
        self._partitions = partitions
        self._transactions: dict[int, Transaction] = {}
        #: partition -> the last source offset this checkpoint processed there
        self._offsets: dict[int, int] = {}
        #: physical topic -> outputs sent through this checkpoint (metrics)
        self._sent: dict[str, int] = {}

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int = -1,
        headers: Headers | None = None,
    ) -> None:
        """One output record (physical topic name); acknowledged before any state is written."""
        self._outputs().send(topic, key, value, partition, headers)
        self._sent[topic] = self._sent.get(topic, 0) + 1  # counted once per commit: cheaper

    def transaction(self, partition: int) -> Transaction:
        """The state transaction of a source partition (one per checkpoint)."""
        found = self._transactions.get(partition)
        if found is None:
            if self._partitions is None:
                raise RuntimeError("this processor declares no state")
            found = self._transactions[partition] = self._partitions(partition).begin()
        return found

    def processed(self, partition: int, offset: int) -> None:
        """The batch handled ``partition`` up to ``offset``: stored with its state."""
        self._offsets[partition] = max(offset, self._offsets.get(partition, offset))
        if self._partitions is not None:
            self.transaction(partition)

    async def commit(self) -> None:
        """Flush outputs -> write state, processed offsets last -> flush (see module doc)."""
        started = time.perf_counter()
        out = self._outputs()
        await out.flush()
        written = 0
        for partition, transaction in sorted(self._transactions.items()):
            offset = self._offsets.get(partition)
            if offset is not None or transaction.changed:
                written += transaction.write(offset)
        self._transactions = {}
        self._offsets = {}
        if written:
            await out.flush()
        metrics.COMMIT_SECONDS.labels(self.processor).observe(time.perf_counter() - started)
        for topic, sent in self._sent.items():
            metrics.RECORDS_OUT.labels(self.processor, topic).inc(sent)
        self._sent = {}
        metrics.LAST_COMMIT.labels(self.processor).set_to_current_time()
