"""A processor's state, one partition at a time: committed values, and the transaction of a commit.

A processor's table lives in one local mapping shared by every partition the worker holds (a
Faust table's store, recovered from its changelog on assignment) and in its changelog topic.
``PartitionState`` is one partition of it; ``begin()`` opens the ``Transaction`` a batch or a
tick writes through (``get`` reads its own writes, ``set``/``delete`` stage, ``keys`` lists this
partition's keys only, ``processed_offset`` is the last source offset whose effects are stored);
``Transaction.write`` is called by the checkpoint (``stream.framework.checkpoint``) once the
outputs of the commit are acknowledged.

Exact under a crash that stops a write half way. The changelog records of one partition go
through one idempotent producer, so a crash leaves a *prefix* of a commit's records, in order.
Hence:

* every commit of a partition has a number ``c`` (the last finished one + 1);
* a stored value is wrapped ``{"v": value, "c": c, "p": the value before the commit}`` (a
  deletion is ``"v": None``, turned into a real tombstone at a later commit);
* the partition's marker (key ``<partition>#commit``), written *last*, holds ``{"o": processed
  offset, "c": c}``: the commit is finished exactly when its marker is stored;
* a value whose ``c`` is above the marker's belongs to a commit that never finished and reads as
  its ``p``. The first commit after a recovery rewrites every such value as what it reads, so a
  later marker cannot make it current.

Physical keys are ``<partition>|<key>``: the store is shared, ``keys()`` is per partition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, Protocol

__all__ = ["PartitionState", "StateStore", "Transaction", "marker_key", "stored_key"]

#: ``send(key, value)``: one changelog record of the partition (value None: a tombstone)
Send = Callable[[str, Any], None]

_DELETED = object()


class StateStore(Protocol):
    """What a processor reads and writes: JSON-safe values; ``set(key, None)`` deletes.

    The worker's ``Transaction`` is one; so is ``antispam.judge.MemoryStore`` (replay, tests).
    """

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


def stored_key(partition: int, key: str) -> str:
    """The physical key of a processor's key in its partition."""
    return f"{partition}|{key}"


def marker_key(partition: int) -> str:
    """The physical key of a partition's commit marker (outside every ``keys()``)."""
    return f"{partition}#commit"


def _wrapped(stored: Any) -> bool:
    return isinstance(stored, dict) and "c" in stored and "v" in stored and "p" in stored


def _visible(stored: Any, committed: int) -> Any:
    """The committed value of a stored wrapper, given the marker's commit number.

    A value that is no wrapper was written by a worker before this state format: not read (the
    partition's state starts over) and tombstoned by the next commit.
    """
    if not _wrapped(stored):
        return None
    return stored["v"] if stored["c"] <= committed else stored["p"]


class PartitionState:
    """One partition of a processor's table (see module doc); lives while the worker holds it."""

    def __init__(self, data: MutableMapping[str, Any], partition: int, send: Send) -> None:
        self._data = data
        self._partition = partition
        self._send = send
        self._prefix = f"{partition}|"
        marker = data.get(marker_key(partition))
        #: the last finished commit and the source offset it processed up to (None: none yet)
        self.committed: int = 0 if marker is None else int(marker["c"])
        self.processed_offset: int | None = None if marker is None else marker["o"]
        #: keys written by an unfinished commit (rolled back by the next one) and keys whose
        #: deletion is committed (tombstoned by the next one)
        self._torn: set[str] = set()
        self._deleted: set[str] = set()
        for stored, value in self._own_items():
            if _wrapped(value) and value["c"] > self.committed:
                self._torn.add(stored)
            elif not _wrapped(value) or value["v"] is None:
                self._deleted.add(stored)

    def _own_items(self) -> Iterable[tuple[str, Any]]:
        prefix = self._prefix
        return [(k, v) for k, v in self._data.items() if k.startswith(prefix)]

    def read(self, key: str) -> Any:
        """The committed value of ``key`` (None: absent)."""
        return _visible(self._data.get(self._prefix + key), self.committed)

    def keys(self) -> list[str]:
        """This partition's keys holding a committed value."""
        cut = len(self._prefix)
        committed = self.committed
        return [k[cut:] for k, v in self._own_items() if _visible(v, committed) is not None]

    def begin(self) -> Transaction:
        return Transaction(self)

    def write(self, changes: dict[str, Any], offset: int | None) -> int:
        """Store one commit: tombstones, rollbacks, changes, then the marker; returns records."""
        c = self.committed + 1
        data, send = self._data, self._send
        staged = {self._prefix + key: value for key, value in changes.items()}
        for stored in self._torn:
            staged.setdefault(stored, _visible(data.get(stored), self.committed))
        records = 0
        for stored in sorted(self._deleted - staged.keys()):
            data.pop(stored, None)
            send(stored, None)
            records += 1
        self._deleted = set()
        for stored, value in staged.items():
            wrapped = {"v": value, "c": c, "p": _visible(data.get(stored), self.committed)}
            data[stored] = wrapped
            send(stored, wrapped)
            records += 1
            if value is None:
                self._deleted.add(stored)
        self._torn = set()
        processed = self.processed_offset if offset is None else offset
        marker = {"o": processed, "c": c}
        data[marker_key(self._partition)] = marker
        send(marker_key(self._partition), marker)
        self.committed, self.processed_offset = c, processed
        return records + 1


class Transaction:
    """The changes of one commit to one partition (see module doc); a ``StateStore``."""

    __slots__ = ("_changes", "_state")

    def __init__(self, state: PartitionState) -> None:
        self._state = state
        self._changes: dict[str, Any] = {}

    @property
    def processed_offset(self) -> int | None:
        """The last source offset of this partition whose effects are stored."""
        return self._state.processed_offset

    def get(self, key: str) -> Any:
        found = self._changes.get(key, _DELETED)
        return self._state.read(key) if found is _DELETED else found

    def set(self, key: str, value: Any) -> None:
        self._changes[key] = value

    def delete(self, key: str) -> None:
        self._changes[key] = None

    def keys(self) -> list[str]:
        """This partition's keys, this transaction's writes included."""
        found = set(self._state.keys())
        found.update(k for k, v in self._changes.items() if v is not None)
        return sorted(found - {k for k, v in self._changes.items() if v is None})

    def items(self) -> list[tuple[str, Any]]:
        return [(key, self.get(key)) for key in self.keys()]

    @property
    def changed(self) -> bool:
        return bool(self._changes)

    def write(self, offset: int | None) -> int:
        """Store the changes and the processed offset (the checkpoint calls it, outputs acked)."""
        changes, self._changes = self._changes, {}
        return self._state.write(changes, offset)
