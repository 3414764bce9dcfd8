"""Migration discovery, ordering and statement splitting (pure: files only)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.sink.exceptions import MigrationError
from civicpulse.sink.migrate import discover_migrations, split_statements


def _write(folder: Path, name: str, sql: str = "SELECT 1;") -> None:
    (folder / name).write_text(sql)


def test_migrations_come_in_version_order_not_name_order(tmp_path: Path) -> None:
    _write(tmp_path, "0010_later.sql")
    _write(tmp_path, "0002_second.sql")
    _write(tmp_path, "0001_first.sql", "CREATE TABLE a (x UInt8) ENGINE = Memory;")
    _write(tmp_path, "README.md", "not a migration")
    found = discover_migrations(tmp_path)
    assert [(m.version, m.name) for m in found] == [(1, "first"), (2, "second"), (10, "later")]
    first = (tmp_path / "0001_first.sql").read_bytes()
    assert found[0].checksum == hashlib.sha256(first).hexdigest()


@pytest.mark.parametrize("name", ["1_short.sql", "0001-dash.sql", "0001_Upper.sql", "abcd_x.sql"])
def test_badly_named_sql_files_are_refused(tmp_path: Path, name: str) -> None:
    _write(tmp_path, name)
    with pytest.raises(MigrationError, match=r"NNNN_lower_snake\.sql"):
        discover_migrations(tmp_path)


def test_duplicate_versions_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "0003_a.sql")
    _write(tmp_path, "0003_b.sql")
    with pytest.raises(MigrationError, match="share version 0003"):
        discover_migrations(tmp_path)


def test_version_zero_and_empty_files_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "0000_zero.sql")
    with pytest.raises(MigrationError, match="start at 0001"):
        discover_migrations(tmp_path)
    (tmp_path / "0000_zero.sql").unlink()
    _write(tmp_path, "0001_empty.sql", "-- only a comment\n;\n")
    with pytest.raises(MigrationError, match="no SQL statement"):
        discover_migrations(tmp_path)


def test_the_packaged_migrations_create_the_contract_tables() -> None:
    migrations = discover_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    created = " ".join(" ".join(m.statements) for m in migrations)
    for table in ("presses", "scores", "alerts"):
        assert f"CREATE TABLE IF NOT EXISTS {table}" in created


def test_split_keeps_semicolons_inside_quotes_and_drops_comments() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE a (s String DEFAULT ';', `we;ird` UInt8) ENGINE = Memory;
    /* block; comment */
    INSERT INTO a VALUES ('it\\'s; fine', 1);
    ;
    SELECT 1
    """
    assert split_statements(sql) == [
        "CREATE TABLE a (s String DEFAULT ';', `we;ird` UInt8) ENGINE = Memory",
        "INSERT INTO a VALUES ('it\\'s; fine', 1)",
        "SELECT 1",
    ]


def test_unterminated_quotes_and_comments_are_errors() -> None:
    with pytest.raises(MigrationError, match="unterminated ' quote"):
        split_statements("SELECT 'open")
    with pytest.raises(MigrationError, match="unterminated /"):
        split_statements("SELECT 1 /* open")


_plain = st.text(
    alphabet=st.characters(exclude_characters=";'`\"-/\\", exclude_categories=["Cs"]),
    min_size=1,
).filter(lambda s: s.strip() != "")


@given(st.lists(_plain, min_size=1, max_size=6))
def test_split_inverts_join(statements: list[str]) -> None:
    assert split_statements(";\n".join(statements)) == [s.strip() for s in statements]
