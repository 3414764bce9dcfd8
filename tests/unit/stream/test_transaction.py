"""The state transaction is exact under a crash that cuts a commit's changelog records anywhere.

The changelog records of one partition go through one idempotent producer, so a crash leaves a
prefix of them. Here the changelog is a list, a crash keeps a prefix of the last commit's
records, recovery replays the list into a fresh store (as Faust's recovery does), and the
recovered partition must read exactly as the last finished commit: values, keys and processed
offset. Later commits after such a recovery must stay exact too (the torn values are rolled
back by the next commit, so a later marker cannot make them current).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from civicpulse.stream.framework.transaction import PartitionState

KEYS = ["a", "b", "c", "d"]

changes_strategy = st.dictionaries(
    st.sampled_from(KEYS), st.one_of(st.none(), st.integers(0, 9)), max_size=4
)


class Log:
    """A changelog partition: every record in order, and the store recovery rebuilds from it."""

    def __init__(self) -> None:
        self.records: list[tuple[str, Any]] = []

    def send(self, key: str, value: Any) -> None:
        self.records.append((key, value))

    def recover(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in self.records:
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        return data


def _read(state: PartitionState) -> tuple[dict[str, Any], list[str], int | None]:
    values = {key: state.read(key) for key in KEYS if state.read(key) is not None}
    return values, sorted(state.keys()), state.processed_offset


def _applied(committed: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    after = dict(committed)
    for key, value in changes.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    return after


def _neighbour(log: Log, data: dict[str, Any]) -> None:
    """Partition 1 of the same store, so that ``keys()`` has another partition to leave out."""
    other = PartitionState(data, 1, log.send)
    transaction = other.begin()
    transaction.set("a", 100)
    transaction.set("z", 101)
    transaction.write(5)


@settings(max_examples=200, deadline=None)
@given(
    commits=st.lists(
        st.tuples(changes_strategy, st.one_of(st.none(), st.integers(0, 12))),
        min_size=1,
        max_size=8,
    )
)
def test_a_crash_anywhere_in_a_commit_recovers_the_last_finished_commit(
    commits: list[tuple[dict[str, Any], int | None]],
) -> None:
    log = Log()
    data: dict[str, Any] = {}
    _neighbour(log, data)
    state = PartitionState(data, 0, log.send)
    committed: dict[str, Any] = {}
    offset: int | None = None
    for number, (changes, cut) in enumerate(commits):
        before = len(log.records)
        transaction = state.begin()
        for key, value in changes.items():
            transaction.set(key, value)
        assert transaction.keys() == sorted(_applied(committed, changes))  # reads its own writes
        written = transaction.write(number)
        assert len(log.records) - before == written
        if cut is None or cut >= written:
            committed, offset = _applied(committed, changes), number
        if cut is not None:  # crash: only a prefix of this commit's records reached the log
            del log.records[before + min(cut, written) :]
            data = log.recover()
            state = PartitionState(data, 0, log.send)
        assert _read(state) == (committed, sorted(committed), offset)
    assert PartitionState(log.recover(), 1, log.send).keys() == ["a", "z"]


@given(history=st.lists(changes_strategy, min_size=1, max_size=4), last=changes_strategy)
@settings(max_examples=100, deadline=None)
def test_every_prefix_of_the_last_commit_reads_as_before_it_or_after_it(
    history: list[dict[str, Any]], last: dict[str, Any]
) -> None:
    log = Log()
    state = PartitionState({}, 0, log.send)
    committed: dict[str, Any] = {}
    for number, changes in enumerate(history):
        transaction = state.begin()
        for key, value in changes.items():
            transaction.set(key, value)
        transaction.write(number)
        committed = _applied(committed, changes)
    before = len(log.records)
    transaction = state.begin()
    for key, value in last.items():
        transaction.set(key, value)
    written = transaction.write(len(history))
    full = log.records
    for cut in range(written + 1):
        log.records = full[: before + cut]
        recovered = PartitionState(log.recover(), 0, log.send)
        if cut == written:
            assert _read(recovered) == (
                _applied(committed, last),
                sorted(_applied(committed, last)),
                len(history),
            )
        else:
            assert _read(recovered) == (committed, sorted(committed), len(history) - 1)


def test_a_tick_commit_keeps_the_processed_offset_and_a_deletion_becomes_a_tombstone() -> None:
    log = Log()
    state = PartitionState({}, 0, log.send)
    transaction = state.begin()
    transaction.set("a", 1)
    transaction.write(7)
    transaction = state.begin()
    transaction.delete("a")
    assert transaction.get("a") is None and transaction.keys() == []
    transaction.write(None)  # a tick: no input offset
    assert state.processed_offset == 7 and log.records[-2] == ("0|a", {"v": None, "c": 2, "p": 1})
    transaction = state.begin()
    transaction.set("b", 2)
    transaction.write(None)
    assert ("0|a", None) in log.records[-3:]
    assert "0|a" not in log.recover()


def test_a_value_of_the_older_unwrapped_format_is_not_read_and_is_tombstoned() -> None:
    log = Log()
    data: dict[str, Any] = {"0|a": {"n": 3, "o": 17}}  # a record of the previous state format
    state = PartitionState(data, 0, log.send)
    assert state.read("a") is None and state.keys() == []
    transaction = state.begin()
    transaction.set("b", 1)
    transaction.write(0)
    assert log.records[0] == ("0|a", None) and "0|a" not in data
