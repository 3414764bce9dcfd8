"""Fault rounds on a local Kafka cluster: nodes and workers die, nothing is lost or doubled.

Three KRaft nodes of the launcher, two or three ``civicpulse stream worker`` processes in one
consumer group, the sink and the API, with the simulator's terminal presses posted through the
API at ``--rate`` per second. One fault a round at a seeded moment (``tests/faults/plan.py``,
``cluster_plan``): SIGKILL the node leading the busiest ``presses.raw`` partition (restarted
seconds later), add a worker, SIGKILL a worker (restarted), SIGKILL the busiest leader again,
stop a worker with SIGTERM, SIGKILL a worker: every six rounds two broker kills and four
rebalances with table recovery. Then ClickHouse against the ground truth (``tests/faults/
cluster_run.py``): every press the API accepted stored once, with ``civicpulse replay``'s verdict,
``verify`` equal with windows compared; and the longest time no verdict was produced in a round.
Baseline: none (the targets are absolute). ``--quick``: six rounds of 20 s (the whole run takes
a few minutes: three JVMs and five Python processes start and drain on two cores).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import Figure, parser, report
from tests.faults.cluster_run import ClusterConfig, run_cluster

MIN_ROUNDS = 6
MAX_STALL_S = 30.0


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--rounds", type=int, default=None, help="fault rounds (6 / 12)")
    arguments.add_argument("--seed", type=int, default=23)
    arguments.add_argument("--rate", type=float, default=60.0, help="presses per second")
    arguments.add_argument(
        "--keep", type=Path, default=None, help="run in this folder and keep its logs"
    )
    args = arguments.parse_args()
    config = ClusterConfig(
        rounds=args.rounds or (MIN_ROUNDS if args.quick else 2 * MIN_ROUNDS),
        round_seconds=20.0 if args.quick else 30.0,
        rate=args.rate,
        seed=args.seed,
        hours=2.0,
    )
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
        outcome = run_cluster(config, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
            outcome = run_cluster(config, Path(tmp))
    print(outcome.summary(), flush=True)
    print(f"broker kills {outcome.faults.get('kill-leader', 0)}, rebalances "
          f"{outcome.rebalances}", flush=True)  # fmt: skip
    for problem in outcome.problems():
        print(f"problem: {problem}", flush=True)
    if outcome.max_stall > MAX_STALL_S:  # which worker's rebalance step took the time
        print(f"the workers' group events:\n{outcome.timeline}", flush=True)
    kills, rebalances = outcome.faults.get("kill-leader", 0), outcome.rebalances
    rounds_ok = config.rounds >= MIN_ROUNDS and kills >= 2 and rebalances >= 2
    report(
        [
            Figure("cluster_lost", len(outcome.lost), "presses", "0", not outcome.lost),
            Figure("cluster_doubled", outcome.doubled, "presses", "0", outcome.doubled == 0),
            Figure(
                "cluster_wrong_verdicts",
                len(outcome.wrong_verdicts),
                "presses",
                "0 (replay)",
                not outcome.wrong_verdicts,
            ),
            Figure(
                "cluster_verify_mismatches",
                len(outcome.verify_mismatches),
                "windows",
                "0 (verify)",
                outcome.verify_ok and outcome.verify_compared > 0,
            ),
            Figure(
                "cluster_rounds",
                config.rounds,
                "rounds",
                f">= {MIN_ROUNDS}, >= 2 broker kills, >= 2 rebalances",
                rounds_ok,
            ),
            Figure(
                "cluster_max_stall_s",
                round(outcome.max_stall, 2),
                "s",
                f"<= {MAX_STALL_S:.0f}",
                outcome.max_stall <= MAX_STALL_S,
            ),
        ]
    )


if __name__ == "__main__":
    main()
