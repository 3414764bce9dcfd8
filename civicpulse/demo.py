"""``civicpulse demo``: the live product on one command, with a simulated city feeding it.

The stack of ``civicpulse up`` (broker, topics, migrations, supervised stream worker, sink and
API in this process) plus: the simulator's demo city loaded onto ``catalogue.devices`` and its
presses sent to ``presses.raw`` at the real pace, starting now, with its labelled spam and one
department whose service degrades ``--degrade-after`` into the run, so an alert fires within
minutes. ``--duration`` stops everything by itself; either way the end drains the pipeline
(stored presses stop changing, score windows up to the watermark are in ClickHouse), runs the
score verification and prints the summary, ending with one ``SUMMARY ...`` line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from civicpulse.producers.city import PRESETS
from civicpulse.producers.simulate import parse_duration, parse_rate
from civicpulse.producers.simulator import Simulation
from civicpulse.schemas.exceptions import CivicpulseError

from .demo_feed import DemoFeed
from .demo_summary import DemoSummary, gather, latest_window_end, stored_presses, summary_line
from .stack import StackContext, StackHooks, StackOptions, console, run_stack

__all__ = ["demo_command"]

#: an open-ended demo simulates this much (Ctrl-C ends it sooner)
_OPEN_ENDED = timedelta(hours=12)


@dataclass
class _Demo:
    rate: float
    seed: int
    degrade_after: timedelta
    span: timedelta
    grace: float
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    feed: DemoFeed | None = None
    summary: DemoSummary | None = None
    token: str | None = None

    def prepare(self, ctx: StackContext) -> None:
        from civicpulse.infra.topics import ensure_alert_topics
        from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
        from civicpulse.stream.catalogue import publish_catalogue

        self.started = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        sim = Simulation(
            PRESETS["demo"], self.started, self.span, self.rate, self.seed,
            degrade_after=self.degrade_after,
        )  # fmt: skip
        catalogue = sim.catalogue()
        topic = topic_name(CATALOGUE_DEVICES, ctx.settings.topic_prefix)
        report = publish_catalogue(ctx.bootstrap, topic, catalogue)
        departments = [d.department_id for d in catalogue.departments]
        ensure_alert_topics(ctx.bootstrap, departments, ctx.settings.topic_prefix)
        console.print(
            f"catalogue: demo city ({len(catalogue.devices)} devices) on {topic}, "
            f"{report.written} record(s) written"
        )
        out = ctx.settings.data_dir / "demo" / self.started.strftime("%Y%m%dT%H%M%SZ")
        self.feed = DemoFeed(ctx.settings, sim, out)
        degraded = sim.city.degraded_department
        console.print(
            f"simulator: seed {self.seed}, {self.rate:g} presses/s, department [bold]{degraded}"
            f"[/] degrades from {self.started + self.degrade_after:%H:%M:%S} UTC; run dir {out}"
        )

    def started_serving(self, ctx: StackContext) -> None:
        _print_where_to_look(ctx, self.token)
        assert self.feed is not None
        self.feed.start()

    def stopping(self, ctx: StackContext) -> None:
        """Stop the presses, then let the worker and the sink catch up."""
        if self.feed is None:
            return
        unanswered = self.feed.stop()
        if unanswered:
            console.print(f"[yellow]{unanswered} press(es) got no answer from the broker[/]")
        until = _closed_until(self.grace)
        with console.status("draining: waiting for the last verdicts and score windows"):
            _drain(ctx, self.started, until)

    def stopped(self, ctx: StackContext) -> None:
        if self.feed is None:
            return
        verify = _verify(ctx, self.started, _closed_until(self.grace))
        self.summary = gather(
            ctx.client, ctx.settings, since=self.started, sent=self.feed.sent,
            labels=self.feed.labels, verify=verify,
        )  # fmt: skip


def _closed_until(grace: float) -> datetime:
    """Score windows ending at or before this have closed (the watermark lags by ``grace``)."""
    moment = datetime.now(UTC) - timedelta(seconds=grace + 5)
    return moment.replace(second=0, microsecond=0)


def _drain(ctx: StackContext, since: datetime, until: datetime, limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        stored = stored_presses(ctx.client, since)
        if stored != last:
            last, stable_since = stored, time.monotonic()
        end = latest_window_end(ctx.client)
        windows_in = end is not None and end.replace(tzinfo=UTC) >= until
        if time.monotonic() - stable_since >= 4 and (windows_in or stored == 0):
            return
        time.sleep(1)


def _verify(ctx: StackContext, started: datetime, until: datetime) -> tuple[bool, str]:
    """`civicpulse verify` over every window that closed, from an hour before the run."""
    from civicpulse.sink.verify import verify_scores

    since = started.replace(second=0, microsecond=0) - timedelta(hours=1)
    if until <= since:
        return True, "no closed window yet"
    tz = ctx.settings.city_timezone
    city = ctx.settings.city_id
    result = verify_scores(ctx.client, since=since, until=until, tz=tz, city_id=city)
    span = f"{since:%H:%M}..{until:%H:%M} UTC"
    if result.ok:
        return True, f"every closed window in {span} matches the stored presses"
    return False, f"{len(result.mismatches)} window(s) in {span} differ (`civicpulse verify`)"


def _demo_token() -> str | None:
    """A query-API token for this run only, unless CIVICPULSE_API_TOKEN is set already.

    The live page and the query API need a bearer token; a demo should open with one click.
    It lives in this process's environment only (never stored) and is printed in the live
    page's address (``#token=``, which the page moves to its session storage).
    """
    import os
    import secrets

    from civicpulse.schemas.settings import get_settings

    if os.environ.get("CIVICPULSE_API_TOKEN"):
        return None
    token = secrets.token_urlsafe(24)
    os.environ["CIVICPULSE_API_TOKEN"] = token
    get_settings.cache_clear()
    return token


def _print_where_to_look(ctx: StackContext, token: str | None) -> None:
    url = ctx.api_url
    table = Table(title="open these", show_header=False, title_justify="left")
    table.add_row("home", f"{url}/")
    live = f"{url}/live" + (f"#token={token}" if token else "  (token: CIVICPULSE_API_TOKEN)")
    table.add_row("live page", live)
    table.add_row("API docs", f"{url}/docs")
    table.add_row("widget demo", f"{url}/demo/widget")
    table.add_row("kiosk", f"{url}/kiosk")
    table.add_row("alerts (terminal)", "civicpulse alerts watch")
    grafana = ctx.settings.data_dir / "grafana"
    table.add_row(
        "Grafana provisioning",
        f"civicpulse dashboards build {grafana}  (then see docs/operations.md)",
    )
    console.print(table)


def _print_summary(summary: DemoSummary) -> None:
    table = Table(title="demo summary", show_header=False, title_justify="left")
    table.add_row("presses sent", f"{summary.presses_sent:,}")
    table.add_row("presses stored", f"{summary.presses_stored:,}")
    table.add_row("counted", f"{summary.counted:,}")
    for reason, n in summary.rejected_by_reason.items():
        table.add_row(f"rejected: {reason}", f"{n:,}")
    table.add_row("score windows", f"{summary.score_windows:,}")
    table.add_row("alerts opened", f"{summary.alerts:,}")
    for name, value in (("precision", summary.precision), ("recall", summary.recall)):
        table.add_row(f"filter {name}", "n/a" if value is None else f"{value:.1%}")
    table.add_row("verify", ("ok: " if summary.verify_ok else "FAILED: ") + summary.verify_detail)
    Console().print(table)


def demo_command(
    duration: Annotated[
        str | None,
        typer.Option(help="run this long (3m, 1h), then stop and summarise; default: until Ctrl-C"),
    ] = None,
    api_port: Annotated[int, typer.Option(help="loopback port of the API")] = 8000,
    rate: Annotated[str, typer.Option(help="presses per second of the simulated city")] = "5/s",
    seed: Annotated[
        int | None, typer.Option(help="simulation seed; default: from the clock (new press ids)")
    ] = None,
    degrade_after: Annotated[
        str, typer.Option(help="when the degraded department's service drops")
    ] = "15s",
    grace: Annotated[
        float, typer.Option(help="seconds a score window stays open for late presses")
    ] = 20.0,
) -> None:
    """The live product with a simulated city: Kafka, stream worker, sink, API and presses.

    Everything stops on Ctrl-C or after --duration (the broker too, if this command started
    it), then a summary: presses sent/stored/counted/rejected, score windows, alerts, the
    filter's precision and recall against the simulator's labels and `civicpulse verify`.
    A second run continues on the stored data (each run's presses get new ids).
    """
    seconds = parse_duration(duration).total_seconds() if duration else None
    token = _demo_token()
    demo = _Demo(
        rate=parse_rate(rate),
        # the seed decides the press ids: a fixed default would make a second run all duplicates
        seed=seed if seed is not None else int(time.time()) % 1_000_000,
        degrade_after=parse_duration(degrade_after),
        span=timedelta(seconds=seconds + 60) if seconds else _OPEN_ENDED,
        grace=grace,
    )
    hooks = StackHooks(
        prepare=demo.prepare,
        started=demo.started_serving,
        stopping=demo.stopping,
        stopped=demo.stopped,
    )
    demo.token = token
    try:
        run_stack(StackOptions(api_port=api_port, grace=grace, duration=seconds), hooks)
    except CivicpulseError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    if demo.summary is None:
        console.print("[red]no summary: the demo stopped before the simulator started[/]")
        raise typer.Exit(1)
    _print_summary(demo.summary)
    typer.echo(summary_line(demo.summary))
    if not demo.summary.verify_ok:
        raise typer.Exit(1)
