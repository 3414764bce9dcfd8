"""Which lanes may still bring presses to the scores stage: evidence from the group's offsets.

The watermark follows the slowest *active* lane (``accumulator``). Wall time alone cannot say
when a lane is done: on a busy machine a lane can go unheard for minutes of a backlog while its
presses wait in presses.raw, presses.accepted or ahead on the scoring topic, and a watermark
that moves on without it closes windows those presses still fill (each a correction later).
The group's offsets can say it. At each tick the scores processor reads, for the stages
upstream, how many presses wait (log end - committed) and the scoring topic's log end
(``Reading``). A lane (presses.raw partition ``r``, presses.accepted partition ``q``) is
*drained* when:

* a tick found nothing waiting on ``r`` (anti-spam had committed its log end) nor on ``q``
  (the hop had committed its): every press of the lane judged so far then lies on the scoring
  topic below that tick's log end. Each stage commits only after its outputs are flushed
  (``stream.framework.checkpoint``), and the committed offsets are read before the log ends;
* the stage has read up to that offset (its *position*), and no press of the lane came at or
  past it (a press after the tick's reading makes the lane busy again until the next tick).

A lane that is not drained is *waiting*: it holds the watermark however quiet it is, for up to
``max_wait`` seconds of quiet (a partition whose presses are all rejected, say a stuck button,
never looks drained while it is pressed, and must not stop every window of the city).

A presses.raw partition that has had presses (log end > 0) but no lane yet *holds* closing until
a tick finds nothing waiting on it nor on any presses.accepted partition (its presses may go to
any) and the stage has read past that tick's log end, or for ``max_wait`` seconds at most.
Without a reading (a worker without the group's offsets) nothing is waiting or held: wall time
decides as before (``ScoreAccumulator.idle_after``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["MAX_WAIT", "LaneCensus", "Reading", "lane_partitions"]

log = logging.getLogger("civicpulse.stream")

#: seconds of quiet after which neither a waiting lane nor a held partition holds anything back
MAX_WAIT = 300.0


def lane_partitions(lane: int) -> tuple[int | None, int]:
    """(presses.raw partition or None, presses.accepted partition) of a lane (``stage``'s keys:
    raw * 1000 + accepted, or accepted - 1000 for a press without raw headers)."""
    if lane < 0:
        return None, lane + 1000
    return lane // 1000, lane % 1000


@dataclass(frozen=True)
class Reading:
    """One tick's reading of the group's offsets upstream of the scores stage."""

    #: presses.raw partition -> (presses waiting, log end)
    raw: Mapping[int, tuple[int, int]]
    #: presses.accepted partition -> presses waiting
    accepted: Mapping[int, int]
    #: the scoring topic's log end, read after the committed offsets above
    scoring_end: int


@dataclass
class LaneCensus:
    """Drained lanes and held partitions from the ticks' readings (see module doc)."""

    max_wait: float = MAX_WAIT
    #: lane -> the scoring offset its presses lie below (the latest tick that found it drained)
    _release: dict[int, int] = field(default_factory=dict)
    #: raw partition with presses -> the same, for a partition with no lane yet
    _raw_release: dict[int, int] = field(default_factory=dict)
    _had_presses: set[int] = field(default_factory=set)
    #: lane -> scoring offset of its latest press
    _last: dict[int, int] = field(default_factory=dict)
    _hold_since: float | None = None
    _gave_up: set[int] = field(default_factory=set)
    _known: bool = False

    def observe(self, reading: Reading, lanes: Iterable[int]) -> None:
        """A tick's reading: which lanes and partitions it finds drained, below which offset."""
        self._known = True
        clear_raw = {p for p, (waiting, _end) in reading.raw.items() if waiting == 0}
        clear_accepted = {q for q, waiting in reading.accepted.items() if waiting == 0}
        for lane in lanes:
            raw, accepted = lane_partitions(lane)
            if (raw is None or raw in clear_raw) and accepted in clear_accepted:
                self._release[lane] = reading.scoring_end
            else:
                self._release.pop(lane, None)
        self._had_presses = {p for p, (_waiting, end) in reading.raw.items() if end > 0}
        every_accepted_clear = len(clear_accepted) == len(reading.accepted)
        for p in self._had_presses:
            if p in clear_raw and every_accepted_clear:
                self._raw_release[p] = reading.scoring_end
            else:
                self._raw_release.pop(p, None)

    def seen(self, lane: int, offset: int) -> None:
        """A press of ``lane`` at ``offset`` on the scoring topic."""
        self._last[lane] = offset

    def waiting(self, lanes: Iterable[int], position: int) -> set[int]:
        """The lanes that may still bring presses, the stage having read up to ``position``."""
        if not self._known:
            return set()
        return {lane for lane in lanes if not self._drained(lane, position)}

    def _drained(self, lane: int, position: int) -> bool:
        release = self._release.get(lane)
        return release is not None and self._last.get(lane, -1) < release <= position

    def held(self, seen_raw: set[int], position: int, now: float) -> bool:
        """Whether a presses.raw partition with presses and no lane yet holds closing."""
        unseen = {
            p
            for p in self._had_presses - seen_raw
            if not (p in self._raw_release and self._raw_release[p] <= position)
        }
        if not unseen:
            self._hold_since = None
            return False
        if self._hold_since is None:
            self._hold_since = now
        if now - self._hold_since < self.max_wait:
            return True
        if unseen - self._gave_up:
            log.warning(
                "presses.raw partition(s) %s had presses but none reached the scores stage in "
                "%.0f s with presses still waiting upstream: windows close without them",
                sorted(unseen - self._gave_up),
                self.max_wait,
            )
            self._gave_up |= unseen
        return False
