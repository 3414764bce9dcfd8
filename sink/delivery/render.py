"""An alert event as each receiver reads it (pure): the JSON body, Slack and Microsoft Teams
incoming-webhook messages, and an e-mail with a plain-text and an HTML part.

Everything a person reads is first gathered into one :class:`Message` (title, lead sentence,
facts, link), so the four formats say the same thing in the subscription's language:

- ``json``: the body is the alert event itself (the contract), nothing added;
- ``slack``: ``{"text", "blocks"}`` as Slack's incoming webhooks take it (``text`` is the
  notification fallback; a header block, a section of fields, a context line);
- ``teams``: a ``message`` with one Adaptive Card attachment (1.4: TextBlocks, a FactSet and an
  ``Action.OpenUrl``), the payload of Teams' Workflows "post to a channel when a webhook request
  is received" and of the older connector webhooks;
- e-mail: ``multipart/alternative``, plain text then HTML with inline styles only (mail clients
  drop style sheets), ``Message-ID`` from the idempotency key so a re-sent mail is recognisable.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from civicpulse.analytics.report.texts import number
from civicpulse.schemas.events import AlertEvent
from civicpulse.sink.delivery.matching import Delivery, Occasion
from civicpulse.sink.delivery.subscriptions import SubscriptionLang
from civicpulse.sink.delivery.texts import text

__all__ = [
    "AlertContext",
    "Message",
    "SiteFigure",
    "duration_text",
    "email_message",
    "json_body",
    "message",
    "slack_payload",
    "teams_payload",
    "webhook_body",
]

_COLOURS = {"bad": "#b42318", "good": "#067647", "warn": "#b54708"}


@dataclass(frozen=True)
class SiteFigure:
    """A site's score in the alert's window (the worst site of a department alert)."""

    name: str
    score: float
    n: int


@dataclass(frozen=True)
class AlertContext:
    """What the event does not carry: names from the catalogue, the page link, the time zone."""

    department_name: str
    scope_name: str
    live_url: str
    timezone: str = "Europe/Warsaw"
    worst_site: SiteFigure | None = None


@dataclass(frozen=True)
class Message:
    """What a person reads, whatever the format."""

    title: str
    lead: str
    tone: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    link_label: str = ""
    link: str = ""
    hint: str = ""
    footer: str = ""


def duration_text(span: timedelta) -> str:
    """``30 min``, ``1 h 30 min``, ``20 s``: a duration as a message says it."""
    if span < timedelta(minutes=1):
        return f"{max(0, round(span.total_seconds()))} s"
    minutes = round(span.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def _window(event: AlertEvent, zone: str) -> str:
    tz = ZoneInfo(zone)
    start, end = event.window_start.astimezone(tz), event.window_end.astimezone(tz)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d} {start:%H:%M}–{end:%H:%M} ({zone})"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} ({zone})"


def _tone(event: AlertEvent, occasion: Occasion) -> str:
    if occasion == "escalation" or (event.kind == "silent_device" and event.state == "opened"):
        return "warn"
    if event.kind == "recognition" or event.state == "resolved":
        return "good"
    return "bad"


def message(
    event: AlertEvent,
    context: AlertContext,
    lang: SubscriptionLang,
    occasion: Occasion = "alert",
    escalate_after: timedelta | None = None,
) -> Message:
    """The content of one delivery, in ``lang``."""
    scope_word = text(lang, f"scope.{event.scope}")
    scope = f"{context.scope_name} ({scope_word})"
    title = text(lang, f"{event.kind}.{event.state}", scope=scope)
    score, threshold = number(event.score, lang), number(event.threshold, lang)
    if event.kind == "silent_device":
        lead = text(
            lang,
            f"lead.silent_device.{event.state}",
            silent_for=duration_text(event.window_end - event.window_start),
        )
    else:
        lead = text(lang, f"lead.{event.kind}.{event.state}", score=score, threshold=threshold)
    after = duration_text(escalate_after or timedelta(0))
    if occasion == "escalation":
        title = text(lang, "escalation", after=after, title=title)
        lead = text(lang, "lead.escalation", after=after) + " " + lead
    facts = [(text(lang, "department"), context.department_name)]
    if event.scope != "department":
        facts.append((text(lang, "scope"), scope))
    facts.append((text(lang, "window"), _window(event, context.timezone)))
    if event.kind == "silent_device":
        facts.append((text(lang, "presses"), "0"))
        if event.expected_presses is not None:
            facts.append((text(lang, "expected"), number(event.expected_presses, lang)))
    else:
        facts.append(
            (text(lang, "score"), text(lang, "score_value", score=score, threshold=threshold))
        )
        facts.append((text(lang, "presses"), str(event.n)))
    if event.kind == "low_score" and event.scope == "department":
        worst = context.worst_site
        facts.append(
            (
                text(lang, "worst_site"),
                text(lang, "no_worst_site")
                if worst is None
                else text(
                    lang, "worst_value", name=worst.name, score=number(worst.score, lang), n=worst.n
                ),
            )
        )
    return Message(
        title=title,
        lead=lead,
        tone=_tone(event, occasion),
        facts=facts,
        link_label=text(lang, "open_page"),
        link=context.live_url,
        hint=text(lang, "ack_hint") if occasion == "escalation" else "",
        footer=text(lang, "footer", alert_id=event.alert_id),
    )


def json_body(event: AlertEvent) -> bytes:
    """The contract's webhook body: the alert event as it is on ``alerts.all``."""
    return event.model_dump_json().encode()


def slack_payload(content: Message) -> dict[str, Any]:
    """A Slack incoming-webhook message (Block Kit)."""
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in content.facts]
    context = [{"type": "mrkdwn", "text": f"<{content.link}|{content.link_label}>"}]
    if content.hint:
        context.append({"type": "mrkdwn", "text": content.hint})
    return {
        "text": f"{content.title}. {content.lead}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": content.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": content.lead}},
            # Slack takes at most 10 fields per section.
            {"type": "section", "fields": fields[:10]},
            {"type": "context", "elements": context},
        ],
    }


def teams_payload(content: Message) -> dict[str, Any]:
    """A Microsoft Teams webhook message: one Adaptive Card 1.4 attachment."""
    colour = {"bad": "Attention", "good": "Good", "warn": "Warning"}[content.tone]
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": content.title, "weight": "Bolder", "size": "Medium",
         "color": colour, "wrap": True},
        {"type": "TextBlock", "text": content.lead, "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in content.facts]},
    ]  # fmt: skip
    if content.hint:
        body.append({"type": "TextBlock", "text": content.hint, "wrap": True, "isSubtle": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": content.link_label, "url": content.link}],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_body(delivery: Delivery, event: AlertEvent, context: AlertContext) -> bytes:
    """The body one webhook delivery posts, in its subscription's format."""
    if delivery.format == "json":
        return json_body(event)
    sub = delivery.subscription
    content = message(event, context, sub.lang, delivery.occasion, sub.escalate_after)
    payload = slack_payload(content) if delivery.format == "slack" else teams_payload(content)
    return orjson.dumps(payload)


def _plain(content: Message) -> str:
    width = max(len(label) for label, _ in content.facts)
    lines = [content.title, "", content.lead, ""]
    lines += [f"{label + ':':<{width + 1}} {value}" for label, value in content.facts]
    lines += ["", f"{content.link_label}: {content.link}"]
    if content.hint:
        lines += ["", content.hint]
    return "\n".join([*lines, "", "-- ", content.footer, ""])


def _html(content: Message, lang: SubscriptionLang) -> str:
    e = html.escape
    colour = _COLOURS[content.tone]
    rows = "".join(
        f'<tr><th style="text-align:left;padding:6px 16px 6px 0;color:#475467;'
        f'font-weight:600;vertical-align:top">{e(label)}</th>'
        f'<td style="padding:6px 0;color:#101828">{e(value)}</td></tr>'
        for label, value in content.facts
    )
    hint = f'<p style="margin:16px 0 0;color:#475467">{e(content.hint)}</p>' if content.hint else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{e(content.title)}</title></head>"
        '<body style="margin:0;padding:24px;background:#f2f4f7;'
        'font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:15px">'
        '<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;'
        f'overflow:hidden;border-top:6px solid {colour}">'
        '<div style="padding:20px 24px">'
        f'<h1 style="margin:0 0 8px;font-size:20px;color:{colour}">{e(content.title)}</h1>'
        f'<p style="margin:0 0 16px;color:#101828">{e(content.lead)}</p>'
        f'<table style="border-collapse:collapse">{rows}</table>'
        f'<p style="margin:20px 0 0"><a href="{e(content.link)}" style="display:inline-block;'
        f"background:{colour};color:#ffffff;text-decoration:none;padding:10px 16px;"
        f'border-radius:6px;font-weight:600">{e(content.link_label)}</a></p>{hint}</div>'
        '<div style="padding:12px 24px;background:#f9fafb;color:#667085;font-size:12px">'
        f"{e(content.footer)}</div></div></body></html>"
    )


def email_message(
    delivery: Delivery,
    event: AlertEvent,
    context: AlertContext,
    *,
    sender: str,
    now: datetime,
) -> EmailMessage:
    """The mail of one e-mail delivery: plain text and HTML in the subscription's language."""
    sub = delivery.subscription
    content = message(event, context, sub.lang, delivery.occasion, sub.escalate_after)
    mail = EmailMessage()
    mail["Subject"] = content.title
    mail["From"] = sender
    mail["To"] = ", ".join(delivery.targets)
    mail["Date"] = format_datetime(now)
    domain = sender.rpartition("@")[2] or "civicpulse.invalid"
    # ':' is not allowed in a Message-ID's left part; the key's parts are joined by '.'.
    mail["Message-ID"] = f"<{delivery.key.replace(':', '.')}.{sub.index}@{domain}>"
    mail["Idempotency-Key"] = delivery.key
    mail["Content-Language"] = sub.lang
    mail.set_content(_plain(content))
    mail.add_alternative(_html(content, sub.lang), subtype="html")
    return mail
