"""``civicpulse alerts deliver``: run the delivery service (and ``--check`` a subscriptions
file). Heavy imports happen inside the command (``civicpulse --help`` stays fast)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import Settings, get_settings
from civicpulse.sink.delivery.exceptions import SubscriptionError
from civicpulse.sink.delivery.subscriptions import Subscription, load_subscriptions

__all__ = ["DELIVER_HELP", "deliver_command", "describe", "unknown_departments"]

# One paragraph per string: the help renderer keeps a docstring's line breaks.
DELIVER_HELP = "\n\n".join(
    [
        "Deliver alert events to the departments' webhooks (JSON, Slack, Teams) and e-mail.",
        "Reads alerts.all as the consumer group <prefix>civicpulse-delivery and sends each "
        "event to every subscription that wants it (CIVICPULSE_SUBSCRIPTIONS, TOML), webhooks "
        "with an Idempotency-Key and an HMAC-SHA256 signature (X-Civicpulse-Signature).",
        "A failed try is retried with exponential back-off and jitter, per subscription and "
        "channel: the others do not wait. After the last try (CIVICPULSE_DELIVERY_ATTEMPTS) the "
        "event goes to `deadletter` with the reason.",
        "An event's offset is committed only once every subscription got it or dead-lettered "
        "it: a restart re-sends nothing confirmed and loses nothing.",
        "An opened alert nobody acknowledged (ack or close on alerts.actions) within a "
        "subscription's escalate_after goes to its escalate_to; an acknowledged alert is not "
        "sent again.",
        "E-mail: CIVICPULSE_SMTP_HOST, _PORT, _STARTTLS, _USER, _PASSWORD, _FROM. Links in "
        "messages: CIVICPULSE_PUBLIC_URL. Guide: docs/alerts.md.",
    ]
)

_err = Console(stderr=True, soft_wrap=True)


def describe(subscriptions: tuple[Subscription, ...]) -> list[str]:
    """One line per subscription: what goes where (no secrets, no webhook URLs: a Slack or
    Teams webhook URL is itself a credential)."""
    lines = []
    for sub in subscriptions:
        ways = []
        if sub.webhook is not None:
            ways.append(f"{sub.format} webhook")
        if sub.email:
            ways.append(f"e-mail to {len(sub.email)} address(es)")
        extra = " + recognition" if sub.positive else ""
        if sub.escalate_after is not None:
            from civicpulse.sink.delivery.render import duration_text

            after = duration_text(sub.escalate_after)
            extra += f", escalates after {after} to {len(sub.escalate_to)} recipient(s)"
        lines.append(f"{sub.label}: department {sub.department}{extra} -> {', '.join(ways)} "
                     f"[{sub.lang}]")  # fmt: skip
    return lines


def unknown_departments(subscriptions: tuple[Subscription, ...], catalogue: Catalogue) -> list[str]:
    """A warning per subscription whose department the catalogue does not list (a typo would
    otherwise wait for alerts that never come); none while the catalogue lists no department."""
    known = {d.department_id for d in catalogue.departments}
    return [
        f"{sub.label}: department {sub.department!r} is not in the catalogue: it receives "
        "nothing until one of that id exists"
        for sub in subscriptions
        if known and sub.department != "*" and sub.department not in known
    ]


def _subscriptions(path: Path | None, settings: Settings) -> tuple[Path, tuple[Subscription, ...]]:
    chosen = path or settings.subscriptions
    if chosen is None:
        raise SubscriptionError(
            "no subscriptions file: pass --subscriptions FILE.toml or set CIVICPULSE_SUBSCRIPTIONS "
            "(format: docs/formats.md)"
        )
    return chosen, load_subscriptions(chosen)


def deliver_command(
    subscriptions: Annotated[
        Path | None,
        typer.Option(
            "--subscriptions",
            "-s",
            metavar="FILE.toml",
            help="subscriptions TOML (default: CIVICPULSE_SUBSCRIPTIONS)",
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="only validate the file and say what goes where")
    ] = False,
    loglevel: Annotated[str, typer.Option(help="log level")] = "info",
) -> None:
    """Deliver alert events to the departments' webhooks and e-mail (help: DELIVER_HELP)."""
    settings = get_settings()
    try:
        path, subs = _subscriptions(subscriptions, settings)
    except CivicpulseError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=2) from None
    out = Console(soft_wrap=True)
    out.print(f"{path}: {len(subs)} subscription(s)", highlight=False)
    for line in describe(subs):
        out.print(f"  {escape(line)}", highlight=False)
    if check:
        return
    if any(s.email or any("://" not in t for t in s.escalate_to) for s in subs) and (
        settings.smtp_host is None
    ):
        _err.print("[yellow]warning:[/yellow] e-mail subscriptions but no CIVICPULSE_SMTP_HOST: "
                   "their mails will be dead-lettered")  # fmt: skip
    logging.basicConfig(
        level=loglevel.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=_err, show_path=False, rich_tracebacks=True)],
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(settings, subs))
    except CivicpulseError as exc:
        # 70 as the stream worker's failed agent: the supervisor of `civicpulse up` restarts it
        _err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=70) from None


async def _serve(settings: Settings, subs: tuple[Subscription, ...]) -> None:
    from civicpulse.sink.delivery.context import LiveContext
    from civicpulse.sink.delivery.service import DeliveryOptions, DeliveryService

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stop.set)
    context = LiveContext(settings)
    await asyncio.to_thread(context.start)
    for line in unknown_departments(subs, context.catalogue()):
        logging.getLogger("civicpulse.delivery").warning(line)
    try:
        service = DeliveryService(settings, DeliveryOptions.from_settings(settings, subs), context)
        await service.run(stop)
    finally:
        context.stop()
