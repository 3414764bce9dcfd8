"""Terminal flush logic with a scripted sender (the real Kafka/API paths are integration tests)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from civicpulse.producers.buffer import PressBuffer, PressDraft
from civicpulse.producers.terminal import SendOutcome, Terminal


class ScriptedSender:
    """Answers each send from a script: 'ok', 'down', 'first:N' (only N confirmed), 'bad:I'."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.seen: list[list[str]] = []

    def send(self, drafts: Sequence[PressDraft]) -> SendOutcome:
        ids = [str(d.event_id) for d in drafts]
        self.seen.append(ids)
        step = self.script.pop(0) if self.script else "ok"
        if step == "down":
            return SendOutcome(error="broker down")
        if step.startswith("first:"):
            n = int(step.split(":")[1])
            return SendOutcome(delivered=ids[:n], error="timeout")
        if step.startswith("bad:"):
            i = int(step.split(":")[1])
            return SendOutcome(invalid=[(ids[i], "button: bad")], error="invalid")
        return SendOutcome(delivered=ids)


def make(
    tmp_path: Path, script: list[str], batch_size: int = 10
) -> tuple[Terminal, ScriptedSender]:
    sender = ScriptedSender(script)
    clock = iter(datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=i) for i in range(10_000))
    terminal = Terminal(
        "dev-1",
        PressBuffer(tmp_path / "t.sqlite3"),
        sender,
        batch_size=batch_size,
        clock=lambda: next(clock),
    )
    return terminal, sender


def test_press_is_buffered_before_any_delivery(tmp_path: Path) -> None:
    terminal, sender = make(tmp_path, [])
    draft, status = terminal.press(4, reason="fast", lang="pl")
    assert sender.seen == []
    assert status.pending == 1
    assert terminal.buffer.peek(1) == [draft]
    assert (draft.device_id, draft.button, draft.channel) == ("dev-1", 4, "terminal")


def test_outage_keeps_presses_then_sends_them_in_order(tmp_path: Path) -> None:
    terminal, sender = make(tmp_path, ["down", "down"], batch_size=3)
    drafts = [terminal.press(1 + i % 4)[0] for i in range(7)]
    for _ in range(2):
        report = terminal.flush()
        assert (report.delivered, report.pending, report.error) == (0, 7, "broker down")
    report = terminal.flush()
    assert (report.delivered, report.pending, report.error) == (7, 0, None)
    sent_in_order = [i for batch in sender.seen[2:] for i in batch]
    assert sent_in_order == [str(d.event_id) for d in drafts]


def test_partial_confirmation_deletes_only_confirmed(tmp_path: Path) -> None:
    terminal, sender = make(tmp_path, ["first:2"])
    drafts = [terminal.press(3)[0] for _ in range(5)]
    report = terminal.flush()
    assert (report.delivered, report.pending) == (2, 3)
    assert terminal.buffer.peek(10) == drafts[2:]
    assert terminal.flush().pending == 0
    assert sender.seen[1] == [str(d.event_id) for d in drafts[2:]]


def test_invalid_press_is_quarantined_and_does_not_block(tmp_path: Path) -> None:
    terminal, _ = make(tmp_path, ["bad:1"])
    [terminal.press(2) for _ in range(3)]
    report = terminal.flush()
    assert (report.quarantined, report.delivered, report.pending, report.error) == (1, 2, 0, None)
    assert terminal.buffer.status().quarantined == 1


def test_background_thread_delivers_after_press(tmp_path: Path) -> None:
    terminal, sender = make(tmp_path, [])
    terminal.retry_interval = 0.05
    terminal.start()
    try:
        terminal.press(4)
        terminal.press(1)
    finally:
        terminal.stop(final_flush=True)
    assert terminal.buffer.status().pending == 0
    assert sum(len(b) for b in sender.seen) == 2
