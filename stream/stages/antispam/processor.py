"""The anti-spam processor: presses.raw -> presses.accepted | presses.rejected | deadletter.

``AntiSpamProcessor`` runs ``Judge`` per source partition over the table ``antispam``
(co-partitioned with presses.raw): the judge's changed state parts go into the batch's transaction,
which the runner's checkpoint stores only after the verdicts were acknowledged (a crash in between
judges the same presses again from the same state: the same verdicts). Each judged press carries
the presses.raw partition and offset it was judged from in two headers, which the scores stage
orders and de-duplicates by (a press judged again after such a crash is a second copy there).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from civicpulse.schemas.events import JudgedPress
from civicpulse.schemas.topics import DEADLETTER, PRESSES_ACCEPTED, PRESSES_RAW, PRESSES_REJECTED
from civicpulse.stream.framework.processors import Batch, RawProcessor, Record, State
from civicpulse.stream.stages.antispam.judge import Judge
from civicpulse.stream.stages.antispam.rules import RuleBook

__all__ = ["RAW_OFFSET_HEADER", "RAW_PARTITION_HEADER", "AntiSpamProcessor", "judged_bytes"]

log = logging.getLogger("civicpulse.stream")

#: header of a judged press on presses.accepted: the presses.raw partition it was judged from
#: (the scores stage orders its watermark by raw and accepted partition, see ``scoring``)
RAW_PARTITION_HEADER = "civicpulse-raw-partition"
#: ...and its presses.raw offset (a press judged again after a restart keeps it: see ``scoring``)
RAW_OFFSET_HEADER = "civicpulse-raw-offset"


def judged_bytes(press: JudgedPress) -> bytes:
    """The wire form of a JudgedPress (same shape as the model's JSON)."""
    return press.model_dump_json(exclude_none=True).encode()


class AntiSpamProcessor(RawProcessor):
    name: ClassVar[str] = "antispam"
    verb: ClassVar[str] = "judging"
    source = PRESSES_RAW
    outputs = (PRESSES_ACCEPTED, PRESSES_REJECTED, DEADLETTER)
    state = State("antispam", PRESSES_RAW.partitions)

    def __init__(self, rules: RuleBook) -> None:
        self.rules = rules

    async def process(self, batch: Batch[Record]) -> None:
        assert batch.state is not None
        judge = Judge(self.context.catalogue(), self.rules, batch.state)
        for record, _ in batch.events:
            self._judge_one(judge, record, batch)
        judge.flush()

    def _judge_one(self, judge: Judge, record: Record, batch: Batch[Record]) -> None:
        try:
            result = judge.judge(record.value, record.offset)
            if isinstance(result, str):
                batch.dead_letter(record, result)
                return
            topic = PRESSES_ACCEPTED if result.verdict == "counted" else PRESSES_REJECTED
            headers = [
                (RAW_PARTITION_HEADER, str(record.partition).encode()),
                (RAW_OFFSET_HEADER, str(record.offset).encode()),
            ]
            batch.emit(topic, result.device_id.encode(), judged_bytes(result), headers)
        except Exception as exc:  # one bad message must never stop the stream
            log.exception(
                "press at %s[%s]@%s failed", record.topic, record.partition, record.offset
            )
            batch.dead_letter(record, f"{type(exc).__name__}: {exc}")
