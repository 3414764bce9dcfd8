"""Errors of the sink package: ClickHouse connection, migrations, the Kafka -> ClickHouse writer."""

from __future__ import annotations

from civicpulse.schemas.exceptions import CivicpulseError

__all__ = [
    "ClickHouseDsnError",
    "EngineLockedError",
    "EnginePathConflictError",
    "MigrationChecksumError",
    "MigrationError",
    "ReportPdfError",
    "ReviewNotFoundError",
    "SinkError",
]


class SinkError(CivicpulseError):
    """Root of every error of ``civicpulse.sink``."""


class ClickHouseDsnError(SinkError):
    """``CIVICPULSE_CLICKHOUSE_DSN`` is not a DSN the client factory understands."""


class EngineLockedError(SinkError):
    """Another process holds the embedded chDB path (chDB allows one process per path)."""


class EnginePathConflictError(SinkError):
    """This process already opened a different chDB path (chDB allows one path per process)."""


class MigrationError(SinkError):
    """A migration file is malformed or a statement of it failed."""


class MigrationChecksumError(MigrationError):
    """An already applied migration file was edited after it was applied."""


class ReportPdfError(SinkError):
    """The report's PDF could not be printed (no Chromium, or Chromium failed)."""


class ReviewNotFoundError(SinkError):
    """A misuse review decision names a period id that ``misuse_reviews`` does not hold."""
