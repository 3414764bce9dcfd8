"""``civicpulse demo``: the live product on one command, with a simulated city feeding it.

The stack of ``civicpulse up`` (broker, topics, migrations, supervised stream worker, sink and
API in this process) plus: the simulator's demo city loaded onto ``catalogue.devices`` (with a
kiosk device for the visitor) and its presses sent to ``presses.raw`` at the real pace. The city
lives in its busy hours whatever the wall clock says, and one department degrades from the first
press, its web page drawing a crowd of unhappy presses: the alert opens about a minute into the
run, on a fresh or a reused data dir (``demo_plan`` decides, ``demo_setup`` reads the store).
It prints every page to open, whole, with the token and kiosk key it issued for the run (and
shows the same links on ``/``). ``--duration`` stops everything by itself; either way the end
drains the pipeline (stored presses stop changing, score windows up to the watermark are in
ClickHouse), runs the score verification and prints the summary, ending with one ``SUMMARY ...``
line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from civicpulse.api.pages import demo_links
from civicpulse.api.pages.demo_links import DemoLinks
from civicpulse.demo.feed import DemoFeed
from civicpulse.demo.plan import demo_simulation
from civicpulse.demo.setup import issue_access, read_history, with_kiosk
from civicpulse.demo.summary import (
    DemoSummary,
    gather,
    latest_window_end,
    stored_presses,
    summary_line,
)
from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.simulator.city import from_ms
from civicpulse.simulator.cli import parse_duration, parse_rate
from civicpulse.stack import StackContext, StackHooks, StackOptions, console, run_stack

if TYPE_CHECKING:
    from civicpulse.demo.inbox import DemoInbox

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
    #: the live wall's token, and whether this run issued it (else: CIVICPULSE_API_TOKEN's)
    token: str | None = None
    token_issued: bool = False
    lang: str = "en"
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    feed: DemoFeed | None = None
    #: the degraded department's webhook and mailbox, fed by the real alert delivery
    inbox: DemoInbox | None = None
    summary: DemoSummary | None = None
    links: DemoLinks | None = None
    #: score windows ending by then are closed: what the end drains for and verify checks
    closed_until: datetime | None = None

    def prepare(self, ctx: StackContext) -> None:
        from civicpulse.infra.topics import ensure_alert_topics
        from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
        from civicpulse.stream.catalogue.topic import publish_catalogue

        now = datetime.now(UTC)
        history = read_history(ctx.client, now)
        sim = demo_simulation(
            now=now, span=self.span, rate=self.rate, seed=self.seed,
            degrade_after=self.degrade_after,
            open_alerts=history.open_alerts, recent_presses=history.recent_presses,
        )  # fmt: skip
        self.started = from_ms(sim.start_ms)
        degraded = sim.city.degraded_department
        catalogue, kiosk = with_kiosk(sim.catalogue(), avoid_department=degraded)
        topic = topic_name(CATALOGUE_DEVICES, ctx.settings.topic_prefix)
        report = publish_catalogue(ctx.bootstrap, topic, catalogue)
        ensure_alert_topics(
            ctx.bootstrap, [d.department_id for d in catalogue.departments],
            ctx.settings.topic_prefix,
        )  # fmt: skip
        console.print(
            f"catalogue: demo city ({len(catalogue.devices)} devices) on {topic}, "
            f"{report.written} record(s) written"
        )
        out = ctx.settings.data_dir / "demo" / self.started.strftime("%Y%m%dT%H%M%SZ")
        self.feed = DemoFeed(ctx.settings, sim, out)
        key, access = issue_access(ctx.settings, out, kiosk=kiosk, token=self.token)
        web = sorted(
            d.device_id for d in catalogue.devices
            if d.channel == "web" and d.department_id != degraded
        )  # fmt: skip
        self.links = DemoLinks(self.token, web[0] if web else None, kiosk, key)
        demo_links.register(self.links)
        city_now = from_ms(sim.start_ms + sim.city.clock_shift_ms).astimezone(sim.city.zone)
        name = next(d.name for d in catalogue.departments if d.department_id == degraded)
        window_end = _first_window_end(from_ms(sim.city.degrade_at_ms))

        def say(text: str) -> None:
            console.print(text, soft_wrap=True)  # a path is never cut into two lines

        say(f"simulator: seed {self.seed}, {self.rate:g} presses/s, run dir:\n  {out}")
        say(f"  the city's clock: {city_now:%A %H:%M} in {sim.city.zone} (its busy hours)")
        degrades = from_ms(sim.city.degrade_at_ms)
        say(f"  degrading: [bold]{degraded}[/] ({name}) from {degrades:%H:%M:%S} UTC,")
        if sim.surge:
            say(f"    its web page draws {sim.surge:.1f} more presses/s, to outweigh the")
            say(f"    {history.recent_presses.get(degraded, 0):,} presses of its last 15 min")
        say(
            f"  expect its alert at about {window_end + timedelta(seconds=self.grace):%H:%M:%S}"
            f" UTC\n    (the window ending {window_end:%H:%M} closes {self.grace:g} s later)"
        )
        if history.open_alerts:
            say(f"  still open from before: {', '.join(sorted(history.open_alerts))}")
        say(f"  the token and kiosk key of this run are in:\n  {access}")
        from civicpulse.demo.inbox import start_demo_inbox

        self.inbox = start_demo_inbox(ctx.settings, degraded, ctx.api_url, out, say)
        _degraded_department_hook(ctx, degraded)

    def started_serving(self, ctx: StackContext) -> None:
        assert self.feed is not None and self.links is not None
        _print_links(ctx.api_url, self.links, self.lang)
        if self.inbox is not None:
            print("\n".join([*self.inbox.lines(), ""]), flush=True)
        self.feed.start()

    def stopping(self, ctx: StackContext) -> None:
        """Stop the presses, then let the worker and the sink catch up."""
        demo_links.register(None)
        if self.feed is None:
            return
        unanswered = self.feed.stop()
        if unanswered:
            console.print(f"[yellow]{unanswered} press(es) got no answer from the broker[/]")
        # The windows the drain waits for are the ones verify checks: stopping the stack (and
        # the demo inbox) takes long enough to pass a minute boundary, and a later "closed
        # until" would take in windows the stopped worker never closed.
        self.closed_until = _closed_until(self.grace)
        console.print("draining: waiting for the last verdicts and score windows")
        _drain(ctx, self.started, self.closed_until)

    def stopped(self, ctx: StackContext) -> None:
        if self.inbox is not None:
            hooks, mails = self.inbox.counts()
            self.inbox.stop()
            console.print(f"demo inbox: {hooks} webhook call(s), {mails} mail(s) delivered")
        if self.feed is None:
            return
        verify = _verify(ctx, self.started, self.closed_until or _closed_until(self.grace))
        self.summary = gather(
            ctx.client, ctx.settings, since=self.started, sent=self.feed.sent,
            labels=self.feed.labels, verify=verify,
        )  # fmt: skip


def _parse_delay(text: str) -> timedelta:
    """A duration that may be zero ("0s": at once), else as ``--duration`` reads it."""
    return timedelta(0) if text.strip().rstrip("smh") in ("", "0") else parse_duration(text)


def _first_window_end(degraded_from: datetime) -> datetime:
    """End of the first rolling window (hop 1 min) holding a whole minute of degraded presses."""
    boundary = degraded_from.replace(second=0, microsecond=0)
    return boundary + timedelta(minutes=1 if boundary == degraded_from else 2)


def _degraded_department_hook(ctx: StackContext, department_id: str) -> None:
    """Where the demo tells the rest of the stack which department will alert (before the
    worker starts): e.g. a local alert subscription for it. Nothing else is wired here yet."""


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
    from civicpulse.analytics.verify import verify_scores

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


def _demo_token() -> tuple[str, bool]:
    """The live wall's token: CIVICPULSE_API_TOKEN when set, else one issued for this run.

    The live page and the query API need a bearer token; a demo should open with one click.
    An issued token lives in this process's environment (the API accepts it like
    CIVICPULSE_API_TOKEN) and the run's access file; it ends with the run.
    """
    import os
    import secrets

    from civicpulse.schemas.settings import get_settings

    if token := os.environ.get("CIVICPULSE_API_TOKEN"):
        return token, False
    token = secrets.token_urlsafe(24)
    os.environ["CIVICPULSE_API_TOKEN"] = token
    get_settings.cache_clear()
    return token, True


def _print_links(api_url: str, links: DemoLinks, lang: str) -> None:
    """Plain lines, never a table cell: a terminal wraps a long address but never cuts it."""
    lines = ["", "open these (the same links are on the home page):", *links.lines(api_url, lang)]
    lines += [
        "  alerts in a terminal: civicpulse alerts watch",
        "  Grafana: civicpulse dashboards build DIR (docs/dashboards.md)",
        "",
    ]
    print("\n".join(lines), flush=True)


def _print_summary(summary: DemoSummary) -> None:
    """Every press sent accounted for, then what the pipeline made of them (plain lines)."""
    rows: list[tuple[str, str]] = [
        ("presses sent", f"{summary.presses_sent:,}"),
        ("  stored (one row a press)", f"{summary.presses_stored:,}"),
        ("  re-sent, stored once", f"{summary.redelivered:,}"),
        ("  dead-lettered (malformed)", f"{summary.deadlettered:,}"),
    ]
    if summary.unaccounted:
        rows.append(("  unaccounted", f"{summary.unaccounted:,}"))
    if summary.from_pages:
        rows.append(("other presses meanwhile", f"{summary.from_pages:,}"))
    rows.append(("counted", f"{summary.counted:,}"))
    rows += [(f"rejected: {r}", f"{n:,}") for r, n in summary.rejected_by_reason.items()]
    rows += [
        ("score windows", f"{summary.score_windows:,}"),
        ("alerts opened", f"{summary.alerts:,}"),
    ]
    for name, value in (("precision", summary.precision), ("recall", summary.recall)):
        rows.append((f"filter {name}", "n/a" if value is None else f"{value:.1%}"))
    verdict = ("ok: " if summary.verify_ok else "FAILED: ") + summary.verify_detail
    rows.append(("verify", verdict))
    print("\n".join(["demo summary", *(f"  {k:<28} {v}" for k, v in rows)]), flush=True)


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
        str, typer.Option(help="when the degraded department's service drops (0s: at once)")
    ] = "0s",
    grace: Annotated[
        float, typer.Option(help="seconds a score window stays open for late presses")
    ] = 20.0,
    lang: Annotated[str, typer.Option(help="language of the printed pages: pl or en")] = "en",
) -> None:
    """The live product with a simulated city: Kafka, stream worker, sink, API and presses.

    The city runs in its busy hours whatever the time; one department degrades and its alert
    opens about a minute in. The links printed (live wall, widget, kiosk, review, API docs)
    carry the token and kiosk key issued for the run. Ctrl-C or --duration stops everything
    (the broker too, if this command started it), then a summary: every press sent accounted
    for, verdicts, score windows, alerts, the filter's precision and recall, `civicpulse
    verify`. A second run continues on the stored data (new press ids).
    """
    seconds = parse_duration(duration).total_seconds() if duration else None
    if lang not in ("pl", "en"):
        raise typer.BadParameter("--lang is pl or en")
    token, issued = _demo_token()
    demo = _Demo(
        rate=parse_rate(rate),
        # the seed decides the press ids: a fixed default would make a second run all duplicates
        seed=seed if seed is not None else int(time.time()) % 1_000_000,
        degrade_after=_parse_delay(degrade_after),
        span=timedelta(seconds=seconds + 60) if seconds else _OPEN_ENDED,
        grace=grace,
        token=token,
        token_issued=issued,
        lang=lang,
    )
    hooks = StackHooks(
        prepare=demo.prepare,
        started=demo.started_serving,
        stopping=demo.stopping,
        stopped=demo.stopped,
    )
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
