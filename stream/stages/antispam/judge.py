"""The one code path from raw bytes to a judged press, shared by the Faust agent and replay.

``Judge.judge(raw)`` parses one message value (or one JSONL line), resolves it in the
catalogue, runs anti-spam against the device's state and returns the ``JudgedPress`` or, for
input that is not a valid PressEvent, a one-line dead-letter error string.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import JudgedPress, PressEvent
from civicpulse.schemas.validation import describe_validation_error
from civicpulse.stream.catalogue.index import CatalogueIndex, judged, resolve
from civicpulse.stream.framework.transaction import StateStore
from civicpulse.stream.stages.antispam.decide import DeviceState, decide
from civicpulse.stream.stages.antispam.rules import RuleBook

__all__ = ["Judge", "MemoryStore", "StateStore", "describe_validation_error", "parse_press"]


class MemoryStore:
    """A dict-backed ``StateStore`` (replay and tests; the worker's is its batch's transaction).

    Keys are ``device_id`` (the core) and ``device_id|<part>`` (see
    ``stream.stages.antispam.device_state``); values are JSON-safe dicts.
    """

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value


def parse_press(raw: bytes | str) -> PressEvent | str:
    """A PressEvent, or the one-line reason the input is not one."""
    try:
        return PressEvent.model_validate_json(raw)
    except ValidationError as exc:
        return describe_validation_error(exc)


class Judge:
    """Catalogue + rules + per-device state: judges presses one at a time, in partition order.

    States are read from the store on a device's first press after a ``flush`` and written back
    (changed parts only, core last) by ``flush``: the worker flushes into its batch's state
    transaction once per batch (the checkpoint stores it after the verdicts were acknowledged),
    replay into a ``MemoryStore`` every few thousand lines. Where the flushes fall never changes
    a verdict.
    """

    __slots__ = ("_open", "index", "rulebook", "store")

    def __init__(
        self, catalogue: Catalogue | CatalogueIndex, rulebook: RuleBook, store: StateStore
    ) -> None:
        self.index = (
            catalogue if isinstance(catalogue, CatalogueIndex) else CatalogueIndex(catalogue)
        )
        self.rulebook = rulebook
        self.store = store
        self._open: dict[str, DeviceState] = {}

    def judge(self, raw: bytes | str, offset: int | None = None) -> JudgedPress | str:
        """The judged press, or the dead-letter error of input that is not a valid PressEvent."""
        event = parse_press(raw)
        if isinstance(event, str):
            return event
        return self.judge_event(event, offset)

    def judge_event(self, event: PressEvent, offset: int | None = None) -> JudgedPress:
        press = resolve(event, self.index)
        if press.device is None:
            # An unknown device leaves no state behind: random device ids must not grow it.
            return judged(press, "unknown_device")
        rules = self.rulebook.for_press(event.channel, press.site_id)
        _, verdict = decide(self.state_of(event.device_id), press, rules, offset=offset)
        return judged(press, verdict)

    def state_of(self, device_id: str) -> DeviceState:
        state = self._open.get(device_id)
        if state is None:
            store = self.store
            prefix = device_id + "|"
            state = DeviceState(store.get(device_id), lambda name: store.get(prefix + name))
            self._open[device_id] = state
        return state

    def flush(self) -> int:
        """Write every changed part back to the store; returns the number of keys written."""
        written = 0
        store = self.store
        for device_id, state in self._open.items():
            for name, value in state.take_dirty():
                store.set(f"{device_id}|{name}" if name else device_id, value)
                written += 1
        self._open.clear()
        return written
