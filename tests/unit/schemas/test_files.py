"""Private data on disk: directories 0700, files 0600, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from civicpulse.producers.buffer import PressBuffer
from civicpulse.schemas.files import private_dir, private_file, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    # The modes must hold under the laxest umask a user might have.
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_private_dir_creates_every_missing_level_0700(tmp_path: Path) -> None:
    leaf = private_dir(tmp_path / "a" / "b" / "c")
    assert [mode(p) for p in (leaf, leaf.parent, leaf.parent.parent)] == [0o700] * 3


def test_private_dir_tightens_an_existing_dir_but_not_its_parent(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    old = tmp_path / "old-data"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    private_dir(old)
    assert mode(old) == 0o700
    assert mode(tmp_path) == 0o755


def test_write_private_replaces_whole_file_0600(tmp_path: Path) -> None:
    target = tmp_path / "store" / "x.json"
    write_private(target, b"one")
    target.chmod(0o644)  # even a file loosened by hand comes back 0600
    write_private(target, b"two")
    assert target.read_bytes() == b"two" and mode(target) == 0o600
    assert mode(target.parent) == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"]


def test_private_file_creates_or_tightens(tmp_path: Path) -> None:
    fresh = private_file(tmp_path / "d" / "f.db")
    assert fresh.read_bytes() == b"" and mode(fresh) == 0o600
    loose = tmp_path / "loose.db"
    loose.write_bytes(b"data")
    loose.chmod(0o666)
    assert private_file(loose).read_bytes() == b"data" and mode(loose) == 0o600


def test_terminal_buffer_and_its_journal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "terminal" / "buffer.sqlite"
    buffer = PressBuffer(path)
    try:
        files = [p for p in path.parent.iterdir()]
        assert path in files and len(files) >= 2  # the database and its WAL files
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert mode(path.parent) == 0o700
    finally:
        buffer.close()
