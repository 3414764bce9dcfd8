"""Fault rounds: SIGKILL the stream worker, the sink and the broker, then count lost and doubled.

The full run of the fault suite (``tests/faults/`` runs a 3-round version in CI): seeded
rounds in which each of the three processes is SIGKILLed at a random moment and restarted,
while the simulator's presses (and poison at random offsets) flow at ``--rate`` per second;
then four terminals keep pressing through a broker outage (a minute; 15 s with ``--quick``).
ClickHouse is then compared with the simulator's ground truth and with ``civicpulse replay``
over the raw topic as stored. Baseline: none (the target is absolute: 0 lost, 0 doubled).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import Figure, parser, report
from tests.faults.run import FaultConfig, run_faults

MIN_ROUNDS = 10


def main() -> None:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--rounds", type=int, default=None, help="kill rounds (default 10/12)")
    arguments.add_argument("--seed", type=int, default=11)
    arguments.add_argument("--rate", type=float, default=150.0, help="presses per second")
    args = arguments.parse_args()
    config = FaultConfig(
        rounds=args.rounds or (MIN_ROUNDS if args.quick else 12),
        round_seconds=12.0 if args.quick else 15.0,
        rate=args.rate,
        seed=args.seed,
        poison=20,
        outage_seconds=15.0 if args.quick else 60.0,
        hours=4.0,
    )
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        outcome = run_faults(config, Path(tmp))
    print(outcome.summary(), flush=True)
    for problem in outcome.problems():
        print(f"problem: {problem}", flush=True)
    rounds_ok = config.rounds >= MIN_ROUNDS
    report(
        [
            Figure("faults_lost", len(outcome.lost), "presses", "0", not outcome.lost),
            Figure("faults_doubled", outcome.doubled, "presses", "0", outcome.doubled == 0),
            Figure(
                "faults_wrong_verdicts",
                len(outcome.wrong_verdicts),
                "presses",
                "0 (replay)",
                not outcome.wrong_verdicts,
            ),
            Figure(
                "faults_verify_mismatches",
                len(outcome.verify_mismatches),
                "windows",
                "0 (verify)",
                outcome.verify_ok,
            ),
            Figure("fault_rounds", config.rounds, "rounds", f">= {MIN_ROUNDS}", rounds_ok),
        ]
    )


if __name__ == "__main__":
    main()
