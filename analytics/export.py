"""Year exports of presses (and scores) to Parquet or CSV, streamed in bounded chunks.

Why chunks by time and not one streamed query: on chDB, clickhouse-connect materialises
Arrow/ArrowStream results whole (only formats without a global header stream block by block),
so ``query_arrow_stream`` over a year would hold the year in memory. Instead a grouped count
per day plans chunks of consecutive days of at most ``chunk_rows`` rows; each chunk is one
``query_arrow`` (ClickHouse builds the Arrow columns natively) appended to a
``pyarrow.parquet.ParquetWriter`` / ``pyarrow.csv.CSVWriter``. Memory is bounded by the larger
of ``chunk_rows`` and the busiest day, whatever the range. The same code runs over HTTP.

Types (Parquet): timestamps ``timestamp[ms, tz=UTC]``; ``event_id`` as its canonical 36-char
string (readable in every tool, equal in CSV and Parquet; 16-byte UUID logical types are poorly
supported by pandas/Excel); Enum columns (channel, verdict, question_kind, scope, kind, window)
as dictionary-encoded strings; counts as unsigned integers; scores as float64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from civicpulse.analytics.queries import NOT_CONFIRMED_MISUSE
from civicpulse.sink.exceptions import SinkError

if TYPE_CHECKING:
    import pyarrow as pa
    from clickhouse_connect.driver.client import Client

__all__ = [
    "ExportError",
    "ExportRequest",
    "ExportSummary",
    "check_range",
    "export",
    "parse_scope",
    "plan_chunks",
    "press_schema",
    "score_schema",
    "stream_presses",
]

Format = Literal["parquet", "csv"]
ScopeKind = Literal["site", "department"]


class ExportError(SinkError):
    """The export request is invalid (range, scope) or the output cannot be written."""


@dataclass(frozen=True)
class ExportRequest:
    start: datetime
    end: datetime
    fmt: Format
    out: Path
    scope: tuple[ScopeKind, str] | None = None
    include_rejected: bool = False
    scores: bool = False
    chunk_rows: int = 500_000


@dataclass(frozen=True)
class ExportSummary:
    files: dict[str, Path]
    rows: dict[str, int]


def check_range(start: datetime, end: datetime) -> None:
    """One year per request: ``end`` at most one calendar year after ``start``."""
    if end <= start:
        raise ExportError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
    try:
        limit = start.replace(year=start.year + 1)
    except ValueError:  # 29 February: a year later is 1 March
        limit = start.replace(year=start.year + 1, month=3, day=1)
    if end > limit:
        raise ExportError(
            f"exports are limited to one year per request: {start.date()} .. {end.date()} spans "
            f"more. Split it, e.g. --from {start.date()} --to {limit.date()}, then the rest."
        )


def parse_scope(text: str | None) -> tuple[ScopeKind, str] | None:
    """``site:ID`` or ``department:ID``."""
    if text is None:
        return None
    kind, _, ident = text.partition(":")
    if kind not in ("site", "department") or not ident:
        raise ExportError(f"--scope {text!r}: use site:ID or department:ID")
    return ("site", ident) if kind == "site" else ("department", ident)


def press_schema(dictionary: bool = True) -> pa.Schema:
    import pyarrow as pa

    enum = pa.dictionary(pa.int8(), pa.string()) if dictionary else pa.string()
    ts = pa.timestamp("ms", tz="UTC")
    return pa.schema(
        [
            ("event_id", pa.string()),
            ("channel", enum),
            ("device_id", pa.string()),
            ("button", pa.uint8()),
            ("pressed_at", ts),
            ("received_at", ts),
            ("visitor", pa.string()),
            ("reason", pa.string()),
            ("lang", pa.string()),
            ("verdict", enum),
            ("site_id", pa.string()),
            ("department_id", pa.string()),
            ("question_id", pa.string()),
            ("question_kind", enum),
        ]
    )


def score_schema(dictionary: bool = True) -> pa.Schema:
    import pyarrow as pa

    enum = pa.dictionary(pa.int8(), pa.string()) if dictionary else pa.string()
    ts = pa.timestamp("ms", tz="UTC")
    counts = [(name, pa.uint32()) for name in ("n", "n1", "n2", "n3", "n4")]
    return pa.schema(
        [
            ("scope", enum),
            ("scope_id", pa.string()),
            ("kind", enum),
            ("window", enum),
            ("window_start", ts),
            ("window_end", ts),
            *counts,
            ("score", pa.float64()),
            ("positive_share", pa.float64()),
        ]
    )


_PRESS_SELECT = """
SELECT toString(event_id) AS event_id, CAST(channel, 'String') AS channel, device_id, button,
       pressed_at, received_at, visitor, reason, lang, CAST(verdict, 'String') AS verdict,
       site_id, department_id, question_id,
       CAST(question_kind, 'Nullable(String)') AS question_kind
FROM presses FINAL
"""
_PRESS_WHERE = """
WHERE pressed_at >= {start:DateTime64(3, 'UTC')} AND pressed_at < {end:DateTime64(3, 'UTC')}
  AND ({rejected:UInt8} = 1 OR (verdict = 'counted' AND @NOT_MISUSE))
  AND ({site:String} = '' OR site_id = {site:String})
  AND ({department:String} = '' OR department_id = {department:String})
""".replace("@NOT_MISUSE", NOT_CONFIRMED_MISUSE)
_PRESS_DAYS = "".join(
    (
        "SELECT toDate(pressed_at) AS day, count() FROM presses",
        _PRESS_WHERE,
        "GROUP BY day ORDER BY day",
    )
)
# No ORDER BY: chunks follow each other in time, and inside one the rows come in the table's
# sort order (day, device, pressed_at); sorting a chunk cost 5x the export time at 20 M rows.
_PRESS_CHUNK = _PRESS_SELECT + _PRESS_WHERE

_SCORE_WHERE = """
WHERE window_start >= {start:DateTime64(3, 'UTC')} AND window_start < {end:DateTime64(3, 'UTC')}
  AND ({scope:String} = '' OR (CAST(scope, 'String') = {scope:String}
                               AND scope_id = {scope_id:String}))
"""
_SCORE_DAYS = "".join(
    (
        "SELECT toDate(window_start) AS day, count() FROM scores",
        _SCORE_WHERE,
        "GROUP BY day ORDER BY day",
    )
)
_SCORE_CHUNK = (
    """
SELECT CAST(scope, 'String') AS scope, scope_id, CAST(kind, 'String') AS kind,
       CAST(`window`, 'String') AS `window`, window_start, window_end,
       n, n1, n2, n3, n4, score, positive_share
FROM scores FINAL
"""
    + _SCORE_WHERE
    + " ORDER BY window_start, scope, scope_id, kind, `window`"
)


# The partition (month) is a function of the FINAL key, so FINAL may skip cross-partition merging.
_FINAL_FAST = {"do_not_merge_across_partitions_select_final": 1}


def plan_chunks(
    days: list[tuple[date, int]], start: datetime, end: datetime, chunk_rows: int
) -> Iterator[tuple[datetime, datetime, int]]:
    """Pack consecutive UTC days into ``[from, to)`` ranges of at most ``chunk_rows`` rows
    (a single busier day is its own chunk); the first and last are clipped to the range."""
    current: datetime | None = None
    rows = 0
    for day, count in days:
        day_start = max(datetime.combine(day, datetime.min.time(), tzinfo=UTC), start)
        if current is not None and rows + count > chunk_rows:
            yield current, day_start, rows
            current, rows = None, 0
        if current is None:
            current = day_start
        rows += count
    if current is not None:
        yield current, end, rows


def _tables(
    client: Client,
    days_sql: str,
    chunk_sql: str,
    params: dict[str, Any],
    schema: pa.Schema,
    chunk_rows: int,
    on_rows: Callable[[int, int], None],
) -> Iterator[pa.Table]:
    """The rows of ``[params.start, params.end)`` as Arrow tables of ``schema``, chunk by chunk."""
    import pyarrow as pa

    days = [(d, int(c)) for d, c in client.query(days_sql, parameters=params).result_rows]
    estimate = sum(c for _, c in days)
    on_rows(0, estimate)
    written = 0
    for lo, hi, _ in plan_chunks(days, params["start"], params["end"], chunk_rows):
        table = client.query_arrow(
            chunk_sql, parameters={**params, "start": lo, "end": hi}, settings=_FINAL_FAST
        )
        yield pa.Table.from_arrays(
            [table.column(name).cast(schema.field(name).type) for name in schema.names],
            schema=schema,
        )
        written += table.num_rows
        on_rows(written, estimate)


def _writer(sink: Path | _Spool, schema: pa.Schema, fmt: Format) -> Any:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        return pq.ParquetWriter(sink, schema, compression="zstd")
    return pacsv.CSVWriter(sink, schema)


def _write(
    client: Client,
    days_sql: str,
    chunk_sql: str,
    params: dict[str, Any],
    schema: pa.Schema,
    request: ExportRequest,
    out: Path,
    on_rows: Callable[[int, int], None],
) -> int:
    writer = _writer(out, schema, request.fmt)
    written = 0
    try:
        for table in _tables(
            client, days_sql, chunk_sql, params, schema, request.chunk_rows, on_rows
        ):
            writer.write_table(table)
            written += table.num_rows
    finally:
        writer.close()
    return written


class _Spool:
    """A write-only file that hands out what was written since the last :meth:`take`.

    ``tell`` counts every byte ever written: Parquet's footer records absolute offsets.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _press_params(
    start: datetime,
    end: datetime,
    include_rejected: bool,
    scope: tuple[ScopeKind, str] | None,
) -> dict[str, Any]:
    kind, ident = scope or ("", "")
    return {
        "start": start,
        "end": end,
        "rejected": int(include_rejected),
        "site": ident if kind == "site" else "",
        "department": ident if kind == "department" else "",
        "scope": kind,
        "scope_id": ident,
    }


def stream_presses(
    client: Client,
    *,
    start: datetime,
    end: datetime,
    fmt: Format,
    include_rejected: bool = False,
    chunk_rows: int = 500_000,
) -> Iterator[bytes]:
    """The presses file of ``civicpulse export`` as bytes, chunk by chunk (HTTP downloads).

    Same rows, columns and types as :func:`export`: the same chunk queries and writers, written
    into a spool that is emptied after each chunk, so memory stays bounded by one chunk. The
    caller checks the range first (an error after the first bytes cannot become a status code).
    """
    dictionary = fmt == "parquet"
    schema = press_schema(dictionary)
    params = _press_params(start, end, include_rejected, None)
    spool = _Spool()
    writer = _writer(spool, schema, fmt)
    try:
        for table in _tables(
            client, _PRESS_DAYS, _PRESS_CHUNK, params, schema, chunk_rows, lambda *_: None
        ):
            writer.write_table(table)
            yield spool.take()
    finally:
        writer.close()
    yield spool.take()


def export(
    client: Client,
    request: ExportRequest,
    on_rows: Callable[[str, int, int], None] = lambda *_: None,
) -> ExportSummary:
    """Write the presses of ``request`` (and scores beside them: ``<stem>-scores.<ext>``)."""
    check_range(request.start, request.end)
    if request.out.parent and not request.out.parent.exists():
        raise ExportError(f"folder {request.out.parent} does not exist; create it first")
    dictionary = request.fmt == "parquet"
    params = _press_params(request.start, request.end, request.include_rejected, request.scope)
    files = {"presses": request.out}
    rows = {
        "presses": _write(
            client,
            _PRESS_DAYS,
            _PRESS_CHUNK,
            params,
            press_schema(dictionary),
            request,
            request.out,
            lambda done, total: on_rows("presses", done, total),
        )
    }
    if request.scores:
        out = request.out.with_name(f"{request.out.stem}-scores{request.out.suffix}")
        files["scores"] = out
        rows["scores"] = _write(
            client,
            _SCORE_DAYS,
            _SCORE_CHUNK,
            params,
            score_schema(dictionary),
            request,
            out,
            lambda done, total: on_rows("scores", done, total),
        )
    return ExportSummary(files=files, rows=rows)
