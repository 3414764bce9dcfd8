"""The seeded schedule of a fault run: which process dies when, for how long; where poison goes.

Pure functions (no Kafka, no clock), so the schedule is tested on its own and one seed always
gives the same run. Each round kills every target once (the stream worker, the sink and the
broker), each at a random moment of the round and in a random order; kills may overlap (the
worker can die while the broker is still down), which is the point: a restart must cope with
whatever else is down.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CLUSTER_FAULTS",
    "TARGETS",
    "Action",
    "ClusterFault",
    "Fault",
    "Target",
    "cluster_plan",
    "kill_plan",
    "poison_payloads",
    "poison_positions",
]

Target = Literal["worker", "sink", "broker"]
TARGETS: tuple[Target, ...] = ("worker", "sink", "broker")


@dataclass(frozen=True, order=True)
class Action:
    """At ``at`` seconds from the run's start, ``kill`` (SIGKILL) or ``restart`` ``target``."""

    at: float
    round: int
    verb: Literal["kill", "restart"]
    target: Target


def kill_plan(
    seed: int, rounds: int, round_seconds: float, *, max_down: float = 3.0
) -> list[Action]:
    """Every round kills each target once and restarts it 0.2..``max_down`` s later.

    Kills fall in the first 60 % of a round, so every restart is due before the round ends
    (``round_seconds`` must leave room: at least ``max_down`` after that 60 %).
    """
    if rounds < 1 or round_seconds * 0.4 < max_down:
        raise ValueError("need at least one round, and round_seconds >= max_down / 0.4")
    rng = random.Random(f"faults:{seed}")
    actions: list[Action] = []
    for number in range(rounds):
        start = number * round_seconds
        for target in rng.sample(TARGETS, len(TARGETS)):
            kill = start + rng.uniform(0.0, 0.6 * round_seconds)
            actions.append(Action(round(kill, 3), number, "kill", target))
            back = kill + rng.uniform(0.2, max_down)
            actions.append(Action(round(back, 3), number, "restart", target))
    return sorted(actions)


def poison_positions(seed: int, total: int, count: int) -> list[int]:
    """``count`` distinct indices in ``[0, total)``, sorted: where poison joins the press stream."""
    if count > total:
        raise ValueError("more poison than presses")
    return sorted(random.Random(f"poison:{seed}").sample(range(total), count))


def poison_payloads() -> list[bytes]:
    """Messages no processor can read, of the kinds seen in the wild (cycled through in a run)."""
    return [
        b"\xff\xfe\x00 binary garbage",
        b"",
        b"null",
        b"[1, 2, 3]",
        b'{"event_id": 5, "button": "four"}',
        b'{"event_id": "00000000-0000-4000-8000-000000000000"',  # cut off
        b"{" + b'"pad": "' + b"x" * 50_000 + b'"}',  # large and meaningless
    ]


#: one fault of a cluster round: SIGKILL the node leading the busiest partition (restarted
#: later), SIGKILL a stream worker (restarted later), start one more worker, stop one with SIGTERM
Fault = Literal["kill-leader", "kill-worker", "add-worker", "stop-worker"]
#: the order rounds take them in: two broker kills and four rebalances every six rounds; a
#: worker is added before one is stopped, so two or three workers run at any time
CLUSTER_FAULTS: tuple[Fault, ...] = (
    "kill-leader",
    "add-worker",
    "kill-worker",
    "kill-leader",
    "stop-worker",
    "kill-worker",
)


@dataclass(frozen=True, order=True)
class ClusterFault:
    """At ``at`` s from the run's start, ``fault``; ``back`` s later the killed process is
    started again (``back`` is None for adding and stopping a worker). ``pick`` chooses among
    the running workers (index modulo their number), so a seed names the same victim."""

    at: float
    round: int
    fault: Fault
    back: float | None
    pick: int


def cluster_plan(
    seed: int, rounds: int, round_seconds: float, *, max_down: float = 6.0
) -> list[ClusterFault]:
    """One fault a round, in ``CLUSTER_FAULTS`` order, at a seeded moment of the round's first
    half; a killed process comes back 2..``max_down`` s later, before the round ends."""
    if rounds < 1 or round_seconds * 0.5 < max_down:
        raise ValueError("need at least one round, and round_seconds >= 2 * max_down")
    rng = random.Random(f"cluster:{seed}")
    plan = []
    for number in range(rounds):
        fault = CLUSTER_FAULTS[number % len(CLUSTER_FAULTS)]
        at = number * round_seconds + rng.uniform(0.1, 0.5) * round_seconds
        back = rng.uniform(2.0, max_down) if fault.startswith("kill") else None
        plan.append(ClusterFault(round(at, 3), number, fault, back, rng.randrange(1_000)))
    return plan
