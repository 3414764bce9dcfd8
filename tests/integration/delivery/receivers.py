"""Real receivers on loopback for the delivery tests: an HTTP server that records webhooks (and
answers as scripted) and an aiosmtpd SMTP server that records mail. Not mocks: the service
talks to them over TCP exactly as to a city's servers."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from civicpulse.infra.kafka_process import free_port
from civicpulse.sink.delivery.senders import SIGNATURE_HEADER, verify_signature

__all__ = ["MailReceiver", "Request", "WebhookReceiver", "wait_until"]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def key(self) -> str:
        return self.headers["idempotency-key"]

    def signed_with(self, secret: str) -> bool:
        return verify_signature(self.body, secret, self.headers.get(SIGNATURE_HEADER.lower(), ""))


@dataclass
class WebhookReceiver:
    """Records every POST; answers each path's scripted statuses in order, then 200. While
    ``hold`` is set, a request is recorded but its answer waits (a subscriber that got the
    event and has not confirmed it yet)."""

    scripts: dict[str, list[int]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    _server: Any = None

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append(Request(self.path, headers, body, time.time()))
                    script = receiver.scripts.get(self.path, [])
                    status = script.pop(0) if script else 200
                while receiver.hold.is_set():
                    time.sleep(0.05)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender died while we held the answer

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.clear()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class MailReceiver:
    """An aiosmtpd server on 127.0.0.1 (its own thread), optionally with STARTTLS and login."""

    def __init__(self, **smtp_options: Any) -> None:
        self.collector = _Collector()
        self.port = free_port()
        self.options = smtp_options

    def __enter__(self) -> MailReceiver:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self.collector, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages
