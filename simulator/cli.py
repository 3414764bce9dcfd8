"""``civicpulse simulate``: run the load simulator into files and/or Kafka; ``simulate evaluate``.

The generator is :mod:`civicpulse.simulator.generate` (pure); this module parses the options
and reports; :mod:`civicpulse.simulator.run` writes the run directory, produces to
``presses.raw`` (paced in event time or as fast as possible) and draws the progress bar.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from civicpulse.producers.exceptions import SimulationError
from civicpulse.schemas import durations
from civicpulse.schemas.exceptions import CivicpulseError, DurationError
from civicpulse.schemas.settings import get_settings
from civicpulse.simulator.city import PRESETS
from civicpulse.simulator.generate import TERMINAL_MAX_RATE, Simulation
from civicpulse.simulator.run import KafkaOutput, RunOutput, run

__all__ = [
    "parse_duration",
    "parse_rate",
    "parse_speed",
    "parse_start",
    "simulate_app",
    "simulate_command",
]

console = Console(stderr=True)
DEFAULT_START = "2026-11-23T07:00:00Z"
_RATE_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


class Target(StrEnum):
    file = "file"
    kafka = "kafka"


def parse_duration(text: str) -> timedelta:
    """``10m``, ``1h30m``, ``90s``, ``2d``, ``500ms`` -> a positive timedelta (the one parser of
    :mod:`civicpulse.schemas.durations`, as a command-line error)."""
    try:
        duration = durations.parse_duration(text)
    except DurationError:
        duration = timedelta(0)
    if duration <= timedelta(0):
        raise typer.BadParameter(f"{text!r}: use e.g. 10m, 1h30m, 90s, 2d")
    return duration


def parse_rate(text: str) -> float:
    """``200/s``, ``200``, ``12000/min``, ``5000/h`` -> presses per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|m|min|h))?\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r}: use e.g. 200/s, 12000/min, 5000/h")
    return float(match.group(1)) / _RATE_UNITS[match.group(2) or "s"]


def parse_start(text: str) -> datetime:
    """An ISO-8601 time with a zone (``2026-11-23T07:00:00Z``) or ``now`` (whole seconds)."""
    if text.strip().lower() == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: use ISO-8601 like 2026-11-23T07:00:00Z, or now"
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no time zone: add Z (UTC) or an offset")
    return moment.astimezone(UTC)


def parse_speed(text: str) -> float | None:
    """``max`` -> None (no pacing), ``realtime`` -> 1.0, ``10x`` -> 10.0 (event s per wall s)."""
    value = text.strip().lower()
    if value == "max":
        return None
    if value == "realtime":
        return 1.0
    match = re.fullmatch(r"(\d+(?:\.\d+)?)x", value)
    if not match or float(match.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r}: use realtime, max or a factor like 10x")
    return float(match.group(1))


simulate_app = typer.Typer(
    no_args_is_help=False,
    pretty_exceptions_show_locals=False,
)

_EXAMPLES = """
Examples:

  civicpulse simulate --city demo --rate 200/s --duration 10m \\
      --seed 7 --out sim/

  civicpulse simulate --to kafka --speed realtime --rate 20/s \\
      --duration 1h --start now

  civicpulse simulate --to kafka --to file --speed max \\
      --city large --duration 1h

  civicpulse replay sim/presses.jsonl -c sim/catalogue.json \\
      > sim/verdicts.jsonl

  civicpulse simulate evaluate --labels sim/labels.jsonl \\
      --verdicts sim/verdicts.jsonl
"""


@simulate_app.callback(invoke_without_command=True, epilog=_EXAMPLES)
def simulate_command(
    ctx: typer.Context,
    city: Annotated[
        str, typer.Option(help=f"city preset: {', '.join(PRESETS)} (demo 37 devices, large 600)")
    ] = "demo",
    rate: Annotated[
        str,
        typer.Option(
            help="mean presses per second of event time over the run (200/s, 12000/min); "
            "with --speed realtime also the wall-clock rate"
        ),
    ] = "200/s",
    duration: Annotated[str, typer.Option(help="event time to simulate: 10m, 1h30m, 2d")] = "10m",
    seed: Annotated[int, typer.Option(help="same seed (and options) -> byte-identical output")] = 7,
    start: Annotated[
        str,
        typer.Option(
            help="event time of the first press, ISO-8601 with zone, or `now`; terminals press "
            "only while their site is open (Europe/Warsaw)"
        ),
    ] = DEFAULT_START,
    out: Annotated[
        Path,
        typer.Option(help="run directory: catalogue.json, labels.jsonl, scenario.json [+ presses]"),
    ] = Path("simulation"),
    to: Annotated[
        list[Target] | None,
        typer.Option(
            help="where presses go: file (OUT/presses.jsonl) and/or kafka (presses.raw); "
            "repeat for both"
        ),
    ] = None,
    speed: Annotated[
        str,
        typer.Option(
            help="max: as fast as possible; realtime: paced by event time; 10x: ten times faster"
        ),
    ] = "max",
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers [default: from the settings]")
    ] = None,
    topic_prefix: Annotated[
        str | None, typer.Option(help="topic prefix [default: CIVICPULSE_TOPIC_PREFIX]")
    ] = None,
    create_topic: Annotated[
        bool, typer.Option(help="create presses.raw if it does not exist (with --to kafka)")
    ] = True,
    progress: Annotated[bool, typer.Option(help="show the progress bar")] = True,
) -> None:
    """Simulate a city's smiley presses with labelled dishonest patterns (`evaluate`: scores).

    The city (departments, sites, desks, web widgets, opening hours, moods, one department
    whose service degrades mid-run) and the injected patterns (child_burst, staff_self_rating,
    network_retry, wrong_clock, unknown_device, visitor_repeat, malformed) come from --seed.
    OUT gets catalogue.json (the catalogue the presses refer to), labels.jsonl (one
    {"line","event_id","device_id","label"} per press, in output order), scenario.json (when the
    degradation starts, every episode, counts) and, with --to file, presses.jsonl (the
    presses.raw lines, ready for `civicpulse replay`).
    """
    if ctx.invoked_subcommand is not None:
        return
    if city not in PRESETS:
        raise typer.BadParameter(f"unknown city {city!r}; choose one of {', '.join(PRESETS)}")
    targets = set(to or [Target.file])
    pace = parse_speed(speed)
    try:
        sim = Simulation(
            PRESETS[city], parse_start(start), parse_duration(duration), parse_rate(rate), seed
        )
    except SimulationError as exc:
        raise typer.BadParameter(str(exc)) from None
    _warn_if_saturated(sim)
    outputs: list[RunOutput | KafkaOutput] = []
    kafka: KafkaOutput | None = None
    try:
        files = RunOutput(out, sim, presses=Target.file in targets)
        outputs.append(files)
        if Target.kafka in targets:
            settings = get_settings()
            update = {"kafka_bootstrap": bootstrap, "topic_prefix": topic_prefix}
            settings = settings.model_copy(
                update={k: v for k, v in update.items() if v is not None}
            )
            kafka = KafkaOutput(settings, create_topic=create_topic)
            outputs.append(kafka)
        n = run(sim, outputs, speed=pace, show_progress=progress)
        files.close()
        unanswered = kafka.close() if kafka else 0
    except CivicpulseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    _summary(sim, n, out, kafka)
    if kafka and (kafka.failed or unanswered):
        console.print(
            f"[red]{kafka.failed + unanswered} press(es) not confirmed by the broker "
            f"({kafka.first_error or 'no answer before timeout'}); is Kafka up?[/]"
        )
        raise typer.Exit(1)


def _warn_if_saturated(sim: Simulation) -> None:
    capacity = sum(1 for d in sim.city.devices if d.role != "web") * TERMINAL_MAX_RATE
    seconds = (sim.end_ms - sim.start_ms) / 1000
    web_share = sim.volumes.web / max(sim.volumes.web + sim.volumes.terminal, 1e-9)
    if sim.rate > 2 * capacity and web_share > 0.8:
        console.print(
            f"[yellow]note:[/] the {sim.city.preset.name} city's terminals carry at most "
            f"~{capacity:.1f} presses/s (one citizen per {1 / TERMINAL_MAX_RATE:.0f} s per desk); "
            f"its web widgets take the rest (~{sim.volumes.web / seconds:.0f}/s). "
            "Use --city large for more terminal traffic."
        )


def _summary(sim: Simulation, n: int, out: Path, kafka: KafkaOutput | None) -> None:
    table = Table(title=f"{n:,} presses ({sim.city.preset.name}, seed {sim.seed})")
    table.add_column("label")
    table.add_column("presses", justify="right")
    for label, count in sorted(sim.counts.items(), key=lambda item: -item[1]):
        table.add_row(label, f"{count:,}")
    console.print(table)
    scenario = sim.scenario()["degradations"][0]
    console.print(f"degradation: {scenario['department_id']} from {scenario['from']}")
    console.print(f"wrote {out}/ (catalogue.json, labels.jsonl, scenario.json)")
    if kafka:
        console.print(f"produced {kafka.delivered:,} presses to {kafka.topic}")


@simulate_app.command("evaluate")
def evaluate_command(
    labels: Annotated[Path, typer.Option(help="labels.jsonl of a simulate run")],
    verdicts: Annotated[
        Path | None,
        typer.Option(
            help="verdicts JSONL (`civicpulse replay` output); default: replay the run's "
            "presses.jsonl with its catalogue.json here, as `civicpulse replay` would"
        ),
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="anti-spam rules TOML for the built-in replay")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Filter precision/recall per injected pattern: labels vs anti-spam verdicts."""
    from civicpulse.simulator.evaluate import evaluate

    try:
        label_records = _read_jsonl(labels)
        verdict_records = _read_jsonl(verdicts) if verdicts else _replay(labels.parent, rules)
        result = evaluate(label_records, verdict_records)
    except (CivicpulseError, OSError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    from civicpulse.simulator.report import print_evaluation

    print_evaluation(result, Console())


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def _replay(run_dir: Path, rules: Path | None) -> list[dict[str, Any]]:
    """The replay contract's output for the run's presses, computed in-process."""
    import io

    from civicpulse.stream.cli.replay import load_catalogue, replay
    from civicpulse.stream.stages.antispam.judge import Judge, MemoryStore
    from civicpulse.stream.stages.antispam.rules import RuleBook

    presses = run_dir / "presses.jsonl"
    if not presses.exists():
        raise SimulationError(
            f"{presses} not found: pass --verdicts, or simulate with --to file into {run_dir}"
        )
    judge = Judge(load_catalogue(run_dir / "catalogue.json"), RuleBook.load(rules), MemoryStore())
    buffer = io.BytesIO()
    with presses.open("rb") as lines:
        replay(lines, judge, buffer)
    return [orjson.loads(line) for line in buffer.getvalue().splitlines()]
