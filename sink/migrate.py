"""Versioned DDL migrations: the one source of truth of the ClickHouse schema.

Files ``sink/migrations/NNNN_name.sql`` are applied in version order and recorded in
``schema_migrations`` (version, name, checksum, applied_at). Re-running skips what is recorded;
an applied file whose checksum changed is refused (write a new migration instead).

ClickHouse DDL is not transactional: a migration is recorded only after all its statements
succeeded, so every statement must be idempotent (``IF NOT EXISTS``) to be safely re-run after
a failure half-way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from civicpulse.sink.clickhouse import create_client, quote_identifier
from civicpulse.sink.exceptions import MigrationChecksumError, MigrationError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from civicpulse.schemas.settings import Settings

__all__ = [
    "AppliedMigration",
    "Migration",
    "MigrationReport",
    "MigrationStatus",
    "apply_migrations",
    "discover_migrations",
    "migrate",
    "migration_status",
    "migrations_dir",
    "split_statements",
]

_FILE_RE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9][a-z0-9_]*)\.sql$")

_LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    """One migration file: ``version`` from its name, ``checksum`` = sha256 of its bytes."""

    version: int
    name: str
    sql: str
    checksum: str

    @property
    def statements(self) -> list[str]:
        return split_statements(self.sql)


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass
class MigrationReport:
    """What :func:`migrate` did: versions applied now and versions already there."""

    database: str
    applied: list[Migration] = field(default_factory=list)
    skipped: list[Migration] = field(default_factory=list)


@dataclass(frozen=True)
class MigrationStatus:
    """Recorded migrations, files not applied yet, records without a file (newer code) and
    applied files edited since (``changed``: ``migrate`` will refuse to run)."""

    database: str
    database_exists: bool
    applied: list[AppliedMigration]
    pending: list[Migration]
    unknown: list[AppliedMigration]
    changed: list[AppliedMigration]


def migrations_dir() -> Path:
    """The packaged migrations folder."""
    return Path(str(resources.files("civicpulse.sink") / "migrations"))


def discover_migrations(directory: Path | None = None) -> list[Migration]:
    """Read ``NNNN_name.sql`` files in version order; refuse stray names and duplicate versions."""
    folder = directory or migrations_dir()
    found: dict[int, Migration] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE_RE.match(path.name)
        if match is None:
            raise MigrationError(
                f"migration file {path.name!r} in {folder} must be named NNNN_lower_snake.sql "
                "(four-digit version, e.g. 0004_rollups.sql)"
            )
        version = int(match["version"])
        if version == 0:
            raise MigrationError(f"migration {path.name}: versions start at 0001")
        if version in found:
            raise MigrationError(
                f"migrations {found[version].name!r} and {match['name']!r} share version "
                f"{version:04d}; renumber one of them"
            )
        data = path.read_bytes()
        sql = data.decode("utf-8")
        if not split_statements(sql):
            raise MigrationError(f"migration {path.name} contains no SQL statement")
        found[version] = Migration(
            version=version,
            name=match["name"],
            sql=sql,
            checksum=hashlib.sha256(data).hexdigest(),
        )
    return [found[version] for version in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Split a script on ``;`` outside quotes and comments; drop comment-only pieces."""
    statements: list[str] = []
    current: list[str] = []
    has_code = False
    i, size = 0, len(sql)
    while i < size:
        char = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = size if end < 0 else end
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise MigrationError("unterminated /* comment in migration")
            i = end + 2
            current.append(" ")
            continue
        if char in "'`\"":
            end = _closing_quote(sql, i)
            current.append(sql[i : end + 1])
            has_code = True
            i = end + 1
            continue
        if char == ";":
            if has_code:
                statements.append("".join(current).strip())
            current, has_code = [], False
        else:
            current.append(char)
            has_code = has_code or not char.isspace()
        i += 1
    if has_code:
        statements.append("".join(current).strip())
    return statements


def _closing_quote(sql: str, start: int) -> int:
    quote = sql[start]
    i = start + 1
    while i < len(sql):
        if sql[i] == "\\":
            i += 2
            continue
        if sql[i] == quote:
            return i
        i += 1
    raise MigrationError(f"unterminated {quote} quote in migration")


def _read_ledger(client: Client) -> list[AppliedMigration]:
    rows = client.query(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    ).result_rows
    return [AppliedMigration(int(v), str(n), str(c), a) for v, n, c, a in rows]


def apply_migrations(client: Client, migrations: list[Migration], database: str) -> MigrationReport:
    """Apply the ``migrations`` not yet recorded, in order, via ``client`` bound to ``database``."""
    client.command(_LEDGER_DDL)
    applied = {record.version: record for record in _read_ledger(client)}
    report = MigrationReport(database=database)
    for migration in migrations:
        record = applied.get(migration.version)
        if record is not None:
            if record.checksum != migration.checksum:
                raise MigrationChecksumError(
                    f"migration {migration.version:04d}_{migration.name}.sql was changed after it "
                    f"was applied to database {database!r} (recorded checksum "
                    f"{record.checksum[:12]}..., file {migration.checksum[:12]}...). Applied "
                    "migrations are immutable: restore the file and put the change in a new "
                    "migration."
                )
            report.skipped.append(migration)
            continue
        for number, statement in enumerate(migration.statements, start=1):
            try:
                client.command(statement)
            except Exception as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name}.sql, statement "
                    f"{number} failed: {exc}. Fix the file (it is not recorded yet) and re-run "
                    "`civicpulse db migrate`."
                ) from exc
        client.insert(
            "schema_migrations",
            [[migration.version, migration.name, migration.checksum, datetime.now(UTC)]],
            column_names=["version", "name", "checksum", "applied_at"],
        )
        report.applied.append(migration)
    return report


def migrate(
    settings: Settings, *, database: str | None = None, directory: Path | None = None
) -> MigrationReport:
    """Create the database if missing and apply every pending migration. Re-runnable."""
    db = database or settings.clickhouse_database
    migrations = discover_migrations(directory)
    create_client(settings, database="default").command(
        f"CREATE DATABASE IF NOT EXISTS {quote_identifier(db)}"
    )
    return apply_migrations(create_client(settings, database=db), migrations, db)


def migration_status(
    settings: Settings, *, database: str | None = None, directory: Path | None = None
) -> MigrationStatus:
    """Compare the recorded migrations with the files, changing nothing."""
    db = database or settings.clickhouse_database
    migrations = discover_migrations(directory)
    server = create_client(settings, database="default")
    exists = bool(
        server.query(
            "SELECT count() FROM system.databases WHERE name = {db:String}", parameters={"db": db}
        ).result_rows[0][0]
    )
    ledger_exists = exists and bool(
        server.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} "
            "AND name = 'schema_migrations'",
            parameters={"db": db},
        ).result_rows[0][0]
    )
    applied = _read_ledger(create_client(settings, database=db)) if ledger_exists else []
    versions = {record.version for record in applied}
    files = {migration.version: migration for migration in migrations}
    return MigrationStatus(
        database=db,
        database_exists=exists,
        applied=applied,
        pending=[m for m in migrations if m.version not in versions],
        unknown=[r for r in applied if r.version not in files],
        changed=[
            r for r in applied if r.version in files and files[r.version].checksum != r.checksum
        ],
    )
