"""The one code path from raw bytes to a judged press, shared by the Faust agent and replay.

``Judge.judge(raw)`` parses one message value (or one JSONL line), resolves it in the
catalogue, runs anti-spam against the device's state and returns the ``JudgedPress`` or, for
input that is not a valid PressEvent, a one-line dead-letter error string.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import ValidationError

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import JudgedPress, PressEvent

from .antispam import DeviceState, decide
from .enrich import CatalogueIndex, judged, resolve
from .rules import RuleBook

__all__ = ["Judge", "MemoryStore", "StateStore", "describe_validation_error", "parse_press"]


class StateStore(Protocol):
    """Where the per-device anti-spam state lives (a dict here, a Faust table in the worker)."""

    def get(self, device_id: str) -> DeviceState | None: ...

    def set(self, device_id: str, state: DeviceState) -> None: ...


class MemoryStore:
    """A dict-backed StateStore."""

    __slots__ = ("states",)

    def __init__(self) -> None:
        self.states: dict[str, DeviceState] = {}

    def get(self, device_id: str) -> DeviceState | None:
        return self.states.get(device_id)

    def set(self, device_id: str, state: DeviceState) -> None:
        self.states[device_id] = state


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad field, what is wrong, and the value received."""
    parts: list[str] = []
    for error in exc.errors(include_url=False):
        if error["type"] == "json_invalid":
            return f"invalid JSON: {error['ctx'].get('error', error['msg'])}"
        message = error["msg"].removeprefix("Value error, ")
        where = ".".join(str(part) for part in error["loc"])
        if where and error["type"] != "missing":
            message = f"{where}: {message} (got {_short(error['input'])})"
        elif where:
            message = f"{where}: {message}"
        parts.append(message)
    return "invalid PressEvent: " + "; ".join(parts).replace("\n", " ")


def parse_press(raw: bytes | str) -> PressEvent | str:
    """A PressEvent, or the one-line reason the input is not one."""
    try:
        return PressEvent.model_validate_json(raw)
    except ValidationError as exc:
        return describe_validation_error(exc)


class Judge:
    """Catalogue + rules + per-device state: judges presses one at a time, in partition order."""

    __slots__ = ("index", "rulebook", "store")

    def __init__(
        self, catalogue: Catalogue | CatalogueIndex, rulebook: RuleBook, store: StateStore
    ) -> None:
        self.index = (
            catalogue if isinstance(catalogue, CatalogueIndex) else CatalogueIndex(catalogue)
        )
        self.rulebook = rulebook
        self.store = store

    def judge(self, raw: bytes | str) -> JudgedPress | str:
        """The judged press, or the dead-letter error of input that is not a valid PressEvent."""
        event = parse_press(raw)
        if isinstance(event, str):
            return event
        return self.judge_event(event)

    def judge_event(self, event: PressEvent) -> JudgedPress:
        press = resolve(event, self.index)
        rules = self.rulebook.for_press(event.channel, press.site_id)
        state = self.store.get(event.device_id)
        state, verdict = decide(state if state is not None else DeviceState(), press, rules)
        # An unknown device leaves no state behind: random device ids must not grow the store.
        if verdict != "unknown_device":
            self.store.set(event.device_id, state)
        return judged(press, verdict)
