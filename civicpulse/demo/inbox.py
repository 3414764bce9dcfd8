"""The demo's own alert inbox: ``civicpulse demo`` subscribes the degraded department to a
webhook and an SMTP server that live in the demo process, runs the real delivery service
(``civicpulse alerts deliver``, a supervised child) against them, prints each message as it
arrives and lists them on a page, ``/demo/inbox`` on the inbox's own port.

The receivers are real servers on loopback (``http.server``, aiosmtpd), so what the demo shows
is exactly what a department's webhook and mailbox get: the signed JSON body with its
``Idempotency-Key``, and the mail's plain-text and HTML parts. :func:`inbox_page` is pure.
"""

from __future__ import annotations

import email
import email.policy
import html
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from civicpulse.infra.kafka_process import free_port
from civicpulse.schemas.files import write_private
from civicpulse.schemas.settings import Settings
from civicpulse.sink.delivery.senders import SIGNATURE_HEADER, verify_signature
from civicpulse.supervisor import Supervisor

__all__ = [
    "DemoInbox",
    "Received",
    "inbox_page",
    "mail_entry",
    "start_demo_inbox",
    "subscriptions_toml",
    "webhook_entry",
]

SENDER = "civicpulse-demo@localhost"


@dataclass(frozen=True)
class Received:
    """One delivered message as the inbox got it."""

    channel: str  # "webhook" or "e-mail"
    at: datetime
    title: str
    key: str
    #: webhook: the signature checked out; e-mail: always True (mail is not signed)
    verified: bool
    text: str
    html: str = ""


def subscriptions_toml(
    department: str, webhook: str, secret: str, mailbox: str, deputy: str, escalate_after: str
) -> str:
    """The demo's subscription of the degraded department (the format of docs/formats.md):
    its alerts to the inbox's webhook and mailbox in Polish, escalated to a deputy's mailbox
    when nobody acknowledges them on the department page within ``escalate_after``."""
    return (
        "# written by civicpulse demo: the degraded department's alerts go to the demo's inbox\n"
        "[[subscription]]\n"
        'name = "demo inbox"\n'
        f'department = "{department}"\n'
        f'webhook = "{webhook}"\n'
        f'secret = "{secret}"\n'
        f'email = ["{mailbox}"]\n'
        'lang = "pl"\n'
        f'escalate_after = "{escalate_after}"\n'
        f'escalate_to = ["{deputy}"]\n'
    )


def webhook_entry(body: bytes, headers: dict[str, str], secret: str) -> Received:
    """A webhook call as the inbox shows it: the event pretty-printed, the signature checked."""
    signature = headers.get(SIGNATURE_HEADER.lower(), "")
    try:
        event = orjson.loads(body)
        title = f"{event['state']} {event['kind']} alert: {event['scope']} {event['scope_id']}"
        text = orjson.dumps(event, option=orjson.OPT_INDENT_2).decode()
    except (orjson.JSONDecodeError, KeyError, TypeError):
        title, text = "(not an alert event)", body.decode("utf-8", "replace")
    return Received("webhook", datetime.now(UTC), title, headers.get("idempotency-key", ""),
                    verify_signature(body, secret, signature), text)  # fmt: skip


def mail_entry(message: EmailMessage) -> Received:
    """A mail as the inbox shows it: subject, plain text and the HTML part."""
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    return Received(
        "e-mail", datetime.now(UTC), str(message["Subject"]), str(message["Idempotency-Key"]),
        True, "" if plain is None else str(plain.get_content()),
        "" if rich is None else str(rich.get_content()),
    )  # fmt: skip


def inbox_page(entries: list[Received], refresh: int = 5) -> str:
    """The inbox as one HTML page, newest first; a mail's HTML part in a sandboxed frame."""
    e = html.escape
    items = []
    for entry in reversed(entries):
        check = ("signature ok" if entry.verified else "SIGNATURE WRONG") if (
            entry.channel == "webhook") else "plain text + HTML"  # fmt: skip
        body = (
            f'<iframe sandbox srcdoc="{e(entry.html)}" title="{e(entry.title)}"></iframe>'
            if entry.html
            else f"<pre>{e(entry.text)}</pre>"
        )
        items.append(
            f"<article><h2>{e(entry.channel)}: {e(entry.title)}</h2>"
            f'<p class="meta">{entry.at:%H:%M:%S} UTC · Idempotency-Key {e(entry.key)} · '
            f"{check}</p>{body}</article>"
        )
    empty = (
        "<p>Nothing delivered yet: the degraded department's alert opens about a minute into "
        "the demo.</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{refresh}"><title>civicpulse demo inbox</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:24px;background:#f2f4f7}"
        "article{background:#fff;border-radius:8px;padding:12px 20px;margin:0 0 16px}"
        "h2{font-size:17px;margin:4px 0}.meta{color:#475467;font-size:13px}"
        "iframe{width:100%;height:440px;border:1px solid #d0d5dd;border-radius:6px}"
        "pre{background:#f9fafb;padding:12px;white-space:pre-wrap}</style></head><body>"
        "<h1>Delivered alerts</h1><p>What the degraded department's webhook and mailbox "
        "received from <code>civicpulse alerts deliver</code> in this demo.</p>"
        f"{''.join(items) or empty}</body></html>"
    )


class _Mailbox:
    def __init__(self, take: Callable[[Received], None]) -> None:
        self.take = take

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.take(mail_entry(message))
        return "250 OK"


class DemoInbox:
    """A webhook and a mailbox on loopback, and the delivery service that feeds them."""

    def __init__(self, say: Callable[[str], None], escalate_after: str = "3m") -> None:
        self.say = say
        self.escalate_after = escalate_after
        self.entries: list[Received] = []
        self._lock = threading.Lock()
        self._secret = secrets.token_urlsafe(24)
        self._http: ThreadingHTTPServer | None = None
        self._smtp: Any = None
        self._delivery: Supervisor | None = None
        self.url = ""

    def _take(self, entry: Received) -> None:
        with self._lock:
            self.entries.append(entry)
        check = "" if entry.verified else " [red](signature wrong)[/]"
        lines = [f"[bold]inbox[/]: {entry.channel} received: {entry.title}{check}"]
        if entry.channel == "e-mail":  # the mail's plain text, up to its signature line
            body = entry.text.split("\n-- \n")[0]
            lines += [f"  {line}" for line in body.splitlines()[1:] if line.strip()]
        self.say("\n".join(lines))

    def start(self, department: str, api_url: str, run_dir: Path, env: dict[str, str]) -> Path:
        """Serve the inbox, subscribe ``department`` to it and start the delivery."""
        from aiosmtpd.controller import Controller

        self._http = self._serve(free_port())
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._smtp = Controller(_Mailbox(self._take), hostname="127.0.0.1", port=free_port())
        self._smtp.start()
        path = run_dir / "subscriptions.toml"
        text = subscriptions_toml(
            department, f"{self.url}/hook", self._secret, f"head-of-{department}@demo.invalid",
            f"deputy-{department}@demo.invalid", self.escalate_after,
        )  # fmt: skip
        write_private(path, text.encode())
        child_env = {
            **env,
            "CIVICPULSE_SUBSCRIPTIONS": str(path),
            "CIVICPULSE_SMTP_HOST": "127.0.0.1",
            "CIVICPULSE_SMTP_PORT": str(self._smtp.port),
            "CIVICPULSE_SMTP_STARTTLS": "false",
            "CIVICPULSE_SMTP_FROM": SENDER,
            "CIVICPULSE_PUBLIC_URL": api_url,
        }
        command = [sys.executable, "-m", "civicpulse", "alerts", "deliver", "--loglevel", "warning"]
        self._delivery = Supervisor(command, env=child_env)
        self._delivery.start()
        return path

    def _serve(self, port: int) -> ThreadingHTTPServer:
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                inbox._take(webhook_entry(body, headers, inbox._secret))
                self._answer(200, b"", "text/plain")

            def do_GET(self) -> None:
                if self.path.split("?")[0] not in ("/", "/demo/inbox"):
                    self._answer(404, b"not found", "text/plain")
                    return
                with inbox._lock:
                    page = inbox_page(list(inbox.entries))
                self._answer(200, page.encode(), "text/html; charset=utf-8")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="demo-inbox", daemon=True).start()
        return server

    def lines(self) -> list[str]:
        """What the demo prints among its links."""
        return [
            f"  delivered alerts (webhook + e-mail, the demo's own inbox): {self.url}/demo/inbox",
            f"    unacknowledged for {self.escalate_after}, an alert is escalated to the deputy",
        ]

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` messages arrived (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.entries) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self) -> None:
        if self._delivery is not None:
            self._delivery.stop(timeout=30)
        if self._smtp is not None:
            self._smtp.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def counts(self) -> tuple[int, int]:
        """(webhook calls, mails) received."""
        with self._lock:
            hooks = sum(1 for e in self.entries if e.channel == "webhook")
            return hooks, len(self.entries) - hooks


def start_demo_inbox(
    settings: Settings, department: str, api_url: str, run_dir: Path, say: Callable[[str], None]
) -> DemoInbox | None:
    """The demo's inbox for ``department``, or None when the user's own subscriptions are set
    (``civicpulse up`` delivers those; two delivery services would split one group)."""
    if settings.subscriptions is not None:
        say(f"alert delivery: {settings.subscriptions} (the demo's own inbox is off)")
        return None
    inbox = DemoInbox(say)
    path = inbox.start(department, api_url, run_dir, dict(os.environ))
    say(f"alert delivery: {department} subscribed to the demo's inbox ({path})")
    return inbox
