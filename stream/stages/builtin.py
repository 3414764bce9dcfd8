"""The built-in stages, registered once each: the names ``--stages`` accepts.

Adding a stage is one entry here (its name, whether the plain worker runs it, the processors it
builds from ``StreamConfig``); the worker's ``--stages`` choices, the topics a worker creates and
``civicpulse topics create`` follow from it (``stream.framework.registry``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from civicpulse.stream.framework.processors import Processor
from civicpulse.stream.framework.registry import Stage, StageRegistry
from civicpulse.stream.stages.antispam.processor import AntiSpamProcessor
from civicpulse.stream.stages.reasons.processor import ReasonsProcessor
from civicpulse.stream.stages.scores.processor import ScoresProcessor, ScoringHopProcessor

if TYPE_CHECKING:
    from civicpulse.stream.app import StreamConfig

__all__ = ["BUILT_IN"]


def _antispam(config: StreamConfig) -> Sequence[Processor[Any]]:
    return (AntiSpamProcessor(config.rules),)


def _scores(config: StreamConfig) -> Sequence[Processor[Any]]:
    scores = ScoresProcessor(
        alerts=config.alerts,
        timezone=config.timezone,
        city_id=config.city_id,
        grace_seconds=config.grace_seconds,
        tick_seconds=config.tick_seconds,
        drain_seconds=config.drain_seconds,
    )
    return (ScoringHopProcessor(), scores)


def _reasons(config: StreamConfig) -> Sequence[Processor[Any]]:
    return (ReasonsProcessor(),)


BUILT_IN: StageRegistry[StreamConfig] = StageRegistry(
    [
        Stage("antispam", _antispam, default=True, summary="presses.raw -> accepted/rejected"),
        Stage("scores", _scores, default=True, summary="rolling windows -> scores, alerts"),
        # opt-in: a second agent on presses.accepted (docs/processors.md, "One worker or two")
        Stage("reasons", _reasons, default=False, summary="follow-up reasons per hour"),
    ]
)
