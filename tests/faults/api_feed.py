"""Presses through the ingest API while the cluster under it fails: a fleet of terminals.

``ApiFeeder`` posts the simulator's terminal presses to ``POST /v1/presses`` at a paced rate in a
thread, each device's due presses as one batch with that device's key, in order, the way a
terminal's buffer drains. An answer other than 202 (503: the broker did not acknowledge in
time; a connection the API dropped) sends the same batch again until it is accepted, as a
terminal does; a re-sent batch may put a press twice on ``presses.raw`` (``event_id`` makes it
one row downstream). A batch the API refuses as invalid (422: e.g. the simulator's presses from
a clock far in the future) is split and only the refused presses are left out, and so are the
presses of devices the API does not take (404 unknown, 410 retired: the simulator's
``unknown_device`` pattern): they never entered the pipeline, so they are not counted as made.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
import orjson

from civicpulse.simulator.generate import SimulatedPress

__all__ = ["ApiFeeder", "terminal_presses"]

#: answers after which a terminal sends the same batch again
_RETRY = {429, 500, 502, 503, 504}
#: the simulator's unknown and retired devices: the API takes nothing from them
_NOT_THIS_DEVICE = {403, 404, 410}


def terminal_presses(presses: list[SimulatedPress]) -> list[SimulatedPress]:
    """The presses a terminal would post: terminal channel, a readable event."""
    out = []
    for press in presses:
        if press.event_id is None:
            continue
        try:
            channel = orjson.loads(press.line).get("channel")
        except orjson.JSONDecodeError:
            continue
        if channel == "terminal":
            out.append(press)
    return out


@dataclass
class ApiFeeder:
    """Posts ``presses`` to the API at ``url`` at ``rate`` per second (see module doc)."""

    url: str
    presses: list[SimulatedPress]
    keys: dict[str, str]
    rate: float
    accepted: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    retried: int = 0
    error: BaseException | None = None
    _done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._guarded, name="api-feeder", daemon=True).start()

    def wait(self, timeout: float) -> None:
        if not self._done.wait(timeout):
            raise AssertionError(f"the API feed did not finish within {timeout:.0f}s")
        if self.error is not None:
            raise AssertionError(f"the API feed failed: {self.error!r}")

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _guarded(self) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=30.0) as client:
                self._run(client)
        except BaseException as exc:  # reported by wait()
            self.error = exc
        finally:
            self._done.set()

    def _run(self, client: httpx.Client) -> None:
        begin, sent = time.monotonic(), 0
        while sent < len(self.presses):
            due = min(len(self.presses), int((time.monotonic() - begin) * self.rate) + 1)
            if due <= sent:
                time.sleep(0.02)
                continue
            by_device: dict[str, list[SimulatedPress]] = {}
            for press in self.presses[sent:due]:
                by_device.setdefault(press.device_id, []).append(press)
            sent = due
            for device, batch in by_device.items():
                self._post(client, device, batch)

    def _post(self, client: httpx.Client, device: str, batch: list[SimulatedPress]) -> None:
        body = b'{"events":[' + b",".join(press.line for press in batch) + b"]}"
        headers = {
            "X-Device-Id": device,
            "X-Device-Key": self.keys[device],
            "Content-Type": "application/json",
        }
        deadline = time.monotonic() + 300
        while True:
            try:
                answer = client.post("/v1/presses", content=body, headers=headers)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code == 202:
                self.accepted.update(str(press.event_id) for press in batch)
                return
            if answer is not None and answer.status_code in _NOT_THIS_DEVICE:
                self.refused.extend(str(press.event_id) for press in batch)
                return
            if answer is not None and answer.status_code == 422:
                if len(batch) == 1:
                    self.refused.append(str(batch[0].event_id))
                    return
                for press in batch:
                    self._post(client, device, [press])
                return
            if answer is not None and answer.status_code not in _RETRY:
                raise AssertionError(f"the API answered {answer.status_code}: {answer.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the API took no batch of {device} for 300 s")
            self.retried += 1
            time.sleep(0.5)
