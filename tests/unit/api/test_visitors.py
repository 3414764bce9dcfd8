"""Visitor hashing: stable within a city day, unlinkable across days, never the raw id."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from civicpulse.api.ingest.visitors import DailySalt, VisitorHasher, visitor_hash


def test_same_browser_same_day_same_visitor_across_restart(tmp_path: Path) -> None:
    path = tmp_path / "salt.json"
    morning = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)
    evening = datetime(2025, 3, 14, 22, 30, tzinfo=UTC)  # 23:30 in Warsaw: same city day
    first = VisitorHasher(DailySalt(path, "Europe/Warsaw")).visitor("browser-abcdefghijkl", morning)
    again = VisitorHasher(DailySalt(path, "Europe/Warsaw")).visitor("browser-abcdefghijkl", evening)
    assert first == again
    assert "browser" not in first and len(first) == 32


def test_salt_rotates_at_local_midnight_and_old_salt_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "salt.json"
    salts = DailySalt(path, "Europe/Warsaw")
    before = datetime(2025, 3, 14, 22, 59, tzinfo=UTC)  # 23:59 Warsaw (CET, UTC+1)
    after = datetime(2025, 3, 14, 23, 0, tzinfo=UTC)  # 00:00 Warsaw, next day
    hasher = VisitorHasher(salts)
    v1 = hasher.visitor("browser-abcdefghijkl", before)
    old_salt = salts.salt_for(before)
    v2 = hasher.visitor("browser-abcdefghijkl", after)
    assert v1 != v2
    assert old_salt.hex() not in path.read_text()
    # Going back to the old day does not resurrect the old salt: it was destroyed, not derived.
    assert hasher.visitor("browser-abcdefghijkl", before) != v1


def test_different_browsers_different_visitors(tmp_path: Path) -> None:
    hasher = VisitorHasher(DailySalt(None, "Europe/Warsaw"))
    at = datetime(2025, 3, 14, 12, tzinfo=UTC)
    assert hasher.visitor("browser-aaaaaaaaaaaa", at) != hasher.visitor("browser-bbbbbbbbbbbb", at)


@given(salt=st.binary(min_size=32, max_size=32), browser=st.text(min_size=1, max_size=64))
def test_visitor_hash_is_a_valid_press_visitor(salt: bytes, browser: str) -> None:
    value = visitor_hash(salt, browser)
    assert len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    assert value == visitor_hash(salt, browser)
