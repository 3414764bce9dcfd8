"""The terminal's durable buffer: order, bounds, durability across reopen, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicpulse.producers.buffer import PressBuffer, PressDraft
from civicpulse.producers.exceptions import BufferFullError

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def draft(i: int, button: int = 3) -> PressDraft:
    return PressDraft(device_id="dev-1", button=button, pressed_at=T0 + timedelta(seconds=i))


def test_peek_returns_presses_in_press_order_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    buffer = PressBuffer(path, capacity=10)
    drafts = [draft(i, button=1 + i % 4) for i in range(5)]
    for d in drafts:
        buffer.append(d)
    buffer.close()

    reopened = PressBuffer(path, capacity=10)
    assert reopened.peek(10) == drafts
    assert reopened.peek(2) == drafts[:2]
    assert reopened._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_remove_deletes_only_confirmed_presses(tmp_path: Path) -> None:
    buffer = PressBuffer(tmp_path / "b.sqlite3")
    drafts = [draft(i) for i in range(4)]
    for d in drafts:
        buffer.append(d)
    assert buffer.remove([drafts[1].event_id, str(drafts[3].event_id)]) == 2
    assert buffer.peek(10) == [drafts[0], drafts[2]]
    assert buffer.remove([drafts[1].event_id]) == 0


def test_full_buffer_refuses_new_press_and_keeps_the_old_ones(tmp_path: Path) -> None:
    buffer = PressBuffer(tmp_path / "b.sqlite3", capacity=3, warn_fraction=0.6)
    statuses = [buffer.append(draft(i)) for i in range(3)]
    assert [s.nearly_full for s in statuses] == [False, True, True]
    assert statuses[-1].full
    with pytest.raises(BufferFullError, match="not recorded"):
        buffer.append(draft(99))
    assert [d.pressed_at for d in buffer.peek(10)] == [draft(i).pressed_at for i in range(3)]
    buffer.remove([buffer.peek(1)[0].event_id])
    assert buffer.append(draft(100)).pending == 3


def test_quarantine_moves_press_out_of_the_queue(tmp_path: Path) -> None:
    buffer = PressBuffer(tmp_path / "b.sqlite3")
    a, b = draft(0), draft(1)
    buffer.append(a)
    buffer.append(b)
    buffer.quarantine([(a.event_id, "button: bad")])
    assert buffer.peek(10) == [b]
    assert buffer.status().quarantined == 1
    row = buffer._db.execute("SELECT event_id, error FROM quarantine").fetchone()
    assert row == (str(a.event_id), "button: bad")


def test_appending_the_same_press_twice_stores_it_once(tmp_path: Path) -> None:
    buffer = PressBuffer(tmp_path / "b.sqlite3")
    d = draft(0)
    buffer.append(d)
    buffer.append(d)
    assert buffer.status().pending == 1


def test_draft_becomes_a_contract_press_event() -> None:
    d = PressDraft(device_id="dev-1", button=2, pressed_at=T0, reason="wait_time", lang="pl")
    event = d.to_event(T0 + timedelta(seconds=1))
    assert (event.event_id, event.channel, event.button, event.reason) == (
        d.event_id,
        "terminal",
        2,
        "wait_time",
    )
    assert event.received_at == T0 + timedelta(seconds=1)
    assert d.to_wire()["pressed_at"] == "2025-03-14T09:00:00.000Z"
    assert "received_at" not in d.to_wire()


@settings(max_examples=30, deadline=None)
@given(
    ops=st.lists(st.one_of(st.just("append"), st.integers(min_value=0, max_value=5)), max_size=40)
)
def test_buffer_behaves_like_a_bounded_fifo(
    tmp_path_factory: pytest.TempPathFactory, ops: list[object]
) -> None:
    buffer = PressBuffer(tmp_path_factory.mktemp("fifo") / "b.sqlite3", capacity=8)
    model: list[PressDraft] = []
    for i, op in enumerate(ops):
        if op == "append":
            d = draft(i)
            if len(model) >= 8:
                with pytest.raises(BufferFullError):
                    buffer.append(d)
            else:
                buffer.append(d)
                model.append(d)
        else:
            assert isinstance(op, int)
            head = model[:op]
            buffer.remove(x.event_id for x in head)
            model = model[op:]
        assert buffer.peek(100) == model
    buffer.close()
