"""False alarms and missed drops of the two alert trigger modes on simulated, labelled days.

Each seed simulates a working day of the demo city (one department degrades at a known time),
judges every press with the stream's own code path (Judge), scores counted presses with the
stream's ScoreAccumulator, and steps the alert state machine for every department and site on
each closed rolling 15-min window, once per mode. An alert opened for the degraded department
(or one of its sites) after the degradation starts is a detection; any other opened alert is a
false alarm. The baseline of the comparison is the plain threshold mode.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from civicpulse.schemas.events import JudgedPress
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import Simulation
from civicpulse.stream.stages.alerts.state_machine import AlertRules, AlertState, step_window
from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
from civicpulse.stream.stages.antispam.rules import RuleBook
from civicpulse.stream.stages.scores.accumulator import ScoreAccumulator

from .common import Figure, parser, report

MODES = ("threshold", "confidence")


def run_day(seed: int, hours: int, rate: float) -> dict[str, Counter[str]]:
    start = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    simulation = Simulation(PRESETS["demo"], start, timedelta(hours=hours), rate, seed)
    judge = Judge(simulation.catalogue(), RuleBook.defaults(), MemoryStore())
    site_department = {s.site_id: s.department_id for s in simulation.catalogue().sites}
    accumulator = ScoreAccumulator(zone=ZoneInfo("Europe/Warsaw"), city_id="demo")
    states: dict[tuple[str, str, str], AlertState] = {}
    opened: dict[str, list[tuple[str, str, datetime]]] = {mode: [] for mode in MODES}
    for press in simulation.presses():
        judged = judge.judge(press.line)
        if isinstance(judged, JudgedPress) and judged.verdict == "counted":
            accumulator.add(judged)
        for _name, _start, _end, events in accumulator.close():
            for score in events:
                department = (
                    score.scope_id
                    if score.scope == "department"
                    else site_department.get(score.scope_id)
                )
                if department is None:
                    continue
                for mode in MODES:
                    key = (mode, score.scope, score.scope_id)
                    stepped = step_window(
                        states.get(key, AlertState()),
                        score,
                        department_id=department,
                        rules=AlertRules(mode=mode),  # type: ignore[arg-type]
                    )
                    if stepped is None:
                        continue
                    state, alert = stepped
                    states[key] = state
                    if alert is not None and alert.state == "opened":
                        opened[mode].append((department, score.scope, alert.window_end))
    degradation = simulation.scenario()["degradations"][0]
    degraded = degradation["department_id"]
    since = datetime.fromisoformat(degradation["from"].replace("Z", "+00:00"))
    outcome: dict[str, Counter[str]] = {}
    for mode in MODES:
        tally: Counter[str] = Counter()
        for department, _scope, at in opened[mode]:
            tally["detections" if department == degraded and at >= since else "false_alarms"] += 1
        tally["missed"] = 0 if tally["detections"] else 1
        outcome[mode] = tally
    return outcome


def main() -> None:
    options = parser(__doc__ or "")
    options.add_argument("--rate", type=float, default=1.0, help="mean presses/s of the city")
    arguments = options.parse_args()
    seeds = range(1, 3) if arguments.quick else range(1, 9)
    hours = 4 if arguments.quick else 12
    totals: dict[str, Counter[str]] = {mode: Counter() for mode in MODES}
    for seed in seeds:
        for mode, tally in run_day(seed, hours, rate=arguments.rate).items():
            totals[mode].update(tally)
            print(f"seed {seed} {mode}: {dict(tally)}", flush=True)
    days = len(seeds)
    threshold, confidence = totals["threshold"], totals["confidence"]
    report(
        [
            Figure(
                "alerts_false_alarms_per_day_confidence",
                confidence["false_alarms"] / days,
                "alerts/day",
                "fewer than threshold mode",
                confidence["false_alarms"] <= threshold["false_alarms"],
                threshold["false_alarms"] / days,
            ),
            Figure(
                "alerts_missed_drops_confidence",
                confidence["missed"],
                "days",
                "0 missed",
                confidence["missed"] == 0,
                threshold["missed"],
            ),
        ]
    )


if __name__ == "__main__":
    main()
