"""Raw HTTP/1.1 over a socket, for what polite clients will not send: lying lengths, endless
chunked bodies, bodies one byte at a time. Plus a tally of every request the suite tried."""

from __future__ import annotations

import select
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["RawAnswer", "Tally", "chunked", "raw_request"]


@dataclass(frozen=True)
class RawAnswer:
    status: int | None  # None: the server closed without answering
    seconds: float  # from the first byte sent to the answer (or the close)
    sent: int  # body bytes the server let us send before it answered
    head: str


def _answered(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def raw_request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    parts: Iterable[bytes] = (),
    *,
    pause: float = 0.0,
    timeout: float = 30.0,
) -> RawAnswer:
    """Send a request head then ``parts`` (``pause`` s apart) until the server answers."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    started = time.monotonic()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        for part in parts:
            if _answered(sock) or time.monotonic() - started > timeout:
                break
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(part)
            if pause:
                time.sleep(pause)
        data = b""
        sock.settimeout(max(timeout - (time.monotonic() - started), 1.0))
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    seconds = time.monotonic() - started
    text = data.decode("latin-1")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/1.1 ") else None
    return RawAnswer(status, seconds, sent, text.split("\r\n\r\n", 1)[0])


def chunked(total: int, size: int = 65536, fill: bytes = b" ") -> Iterator[bytes]:
    """``total`` bytes of body as HTTP chunks of ``size`` (no end marker unless reached)."""
    left = total
    while left > 0:
        n = min(size, left)
        yield f"{n:x}\r\n".encode() + fill * n + b"\r\n"
        left -= n
    yield b"0\r\n\r\n"


class Tally:
    """Requests tried per class and the statuses they got: the suite's report."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, klass: str, status: int | None) -> None:
        self.counts[klass][str(status) if status is not None else "closed"] += 1

    def lines(self) -> list[str]:
        out = []
        for klass, statuses in self.counts.items():
            detail = ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items()))
            out.append(f"{klass}: {sum(statuses.values())} requests ({detail})")
        total = sum(sum(c.values()) for c in self.counts.values())
        fives = sum(n for c in self.counts.values() for s, n in c.items() if s.startswith("5"))
        out.append(f"total: {total} requests, {fives} 5xx")
        return out
