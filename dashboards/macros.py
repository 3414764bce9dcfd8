"""Expand panel SQL exactly as Grafana and the ClickHouse plugin do, so tests can run it on chDB.

No Grafana can be installed here, so every panel's SQL is run against ClickHouse after the same
three steps a query goes through on its way from a dashboard to the server:

1. the plugin's frontend applies ``$__conditionalAll(condition, $var)``: ``1=1`` when the
   variable's current value is ``''`` or ``$__all`` (All selected), else the condition
   (``CHDatasource.applyConditionalAll`` of grafana/clickhouse-datasource);
2. Grafana's template service interpolates dashboard variables (``$var``, ``${var}``,
   ``${var:sqlstring}``, ...): a list joins as ``'a','b'`` by the plugin's default formatter,
   ``sqlstring`` quotes each value doubling single quotes; a custom *All* value is inserted raw;
3. the plugin's backend expands its macros (``pkg/macros/macros.go``): only the names in
   :data:`MACROS` exist; anything else spelled ``$__name`` is an error here, so a panel cannot
   ship a macro the plugin does not document.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from civicpulse.dashboards.exceptions import MacroError

__all__ = [
    "ALL",
    "FRONTEND_MACROS",
    "MACROS",
    "QueryContext",
    "Value",
    "apply_conditional_all",
    "expand",
    "expand_macros",
    "interpolate",
    "macro_names",
]

ALL = "$__all"
"""The current value of a variable whose *All* option is selected (Grafana's marker)."""

Value = str | Sequence[str]


@dataclass(frozen=True)
class QueryContext:
    """What Grafana sends with a query: the panel's time range and its interval."""

    start: datetime
    end: datetime
    interval: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise MacroError("QueryContext needs zone-aware datetimes (Grafana sends UTC)")


def _unix(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def _unix_ms(moment: datetime) -> int:
    return math.floor(moment.timestamp() * 1000)


def _date(moment: datetime) -> str:
    return f"toDate('{moment.astimezone(UTC):%Y-%m-%d}')"


def _datetime(moment: datetime) -> str:
    return f"toDateTime({_unix(moment)})"


def _datetime64(moment: datetime) -> str:
    return f"fromUnixTimestamp64Milli({_unix_ms(moment)})"


def _seconds(ctx: QueryContext) -> int:
    return int(max(ctx.interval.total_seconds(), 1))


def _millis(ctx: QueryContext) -> int:
    return int(max(ctx.interval // timedelta(milliseconds=1), 1))


def _args(name: str, args: list[str], count: int) -> list[str]:
    if len(args) != count:
        raise MacroError(f"$__{name} expects {count} argument(s), got {len(args)}: {args}")
    return args


def _range(name: str, ctx: QueryContext, args: list[str], fmt: Callable[[datetime], str]) -> str:
    (column,) = _args(name, args, 1)
    return f"{column} >= {fmt(ctx.start)} AND {column} <= {fmt(ctx.end)}"


def _date_time_filter(name: str, ctx: QueryContext, args: list[str]) -> str:
    date_column, time_column = _args(name, args, 2)
    dates = f"({date_column} >= {_date(ctx.start)} AND {date_column} <= {_date(ctx.end)})"
    times = f"({time_column} >= {_datetime(ctx.start)} AND {time_column} <= {_datetime(ctx.end)})"
    return f"{dates} AND {times}"


def _time_interval(name: str, ctx: QueryContext, args: list[str]) -> str:
    (column,) = _args(name, args, 1)
    return f"toStartOfInterval(toDateTime({column}), INTERVAL {_seconds(ctx)} second)"


def _time_interval_ms(name: str, ctx: QueryContext, args: list[str]) -> str:
    (column,) = _args(name, args, 1)
    return f"toStartOfInterval(toDateTime64({column}, 3), INTERVAL {_millis(ctx)} millisecond)"


def _no_args(fn: Callable[[QueryContext], str]) -> Callable[[str, QueryContext, list[str]], str]:
    def macro(name: str, ctx: QueryContext, args: list[str]) -> str:
        _args(name, args, 0)
        return fn(ctx)

    return macro


Macro = Callable[[str, QueryContext, list[str]], str]

# The plugin backend's macro table (pkg/macros/macros.go, `Macros`), name for name.
MACROS: Mapping[str, Macro] = {
    "fromTime": _no_args(lambda ctx: _datetime(ctx.start)),
    "toTime": _no_args(lambda ctx: _datetime(ctx.end)),
    "fromTime_ms": _no_args(lambda ctx: _datetime64(ctx.start)),
    "toTime_ms": _no_args(lambda ctx: _datetime64(ctx.end)),
    "timeFilter": lambda name, ctx, args: _range(name, ctx, args, _datetime),
    "timeFilter_ms": lambda name, ctx, args: _range(name, ctx, args, _datetime64),
    "dateFilter": lambda name, ctx, args: _range(name, ctx, args, _date),
    "dateTimeFilter": _date_time_filter,
    "dt": _date_time_filter,
    "timeInterval": _time_interval,
    "timeInterval_ms": _time_interval_ms,
    "interval_s": _no_args(lambda ctx: str(_seconds(ctx))),
}
FRONTEND_MACROS = frozenset({"conditionalAll"})

_MACRO = re.compile(r"\$__(\w+)")
_CONDITIONAL_ALL = "$__conditionalAll("
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")
_VAR_NAME = re.compile(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+")


def macro_names(sql: str) -> set[str]:
    """Every ``$__name`` the SQL uses (to check against the documented list)."""
    return set(_MACRO.findall(sql))


def _macro_args(sql: str, open_paren: int) -> tuple[list[str], int] | None:
    """Arguments of the call whose ``(`` is at ``open_paren``, split at top-level commas."""
    depth, last, args = 0, open_paren + 1, []
    for index in range(open_paren, len(sql)):
        char = sql[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[last:index])
                return args, index + 1
        elif char == "," and depth == 1:
            args.append(sql[last:index])
            last = index + 1
    return None


def _current(variables: Mapping[str, Value], name: str) -> str | None:
    value = variables.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else ",".join(value)


def apply_conditional_all(sql: str, variables: Mapping[str, Value]) -> str:
    """``$__conditionalAll(cond, $var)``: ``1=1`` if ``var`` is '' or All, else ``cond``."""
    index = sql.rfind(_CONDITIONAL_ALL)
    while index != -1:
        parsed = _macro_args(sql, index + len(_CONDITIONAL_ALL) - 1)
        if parsed is None or len(parsed[0]) != 2:
            raise MacroError(f"$__conditionalAll needs (condition, $variable): {sql[index:]!r}")
        (condition, variable), _ = parsed
        phrase = condition
        found = _VAR_NAME.search(variable.strip())
        if found and _current(variables, found.group(0)) in ("", ALL):
            phrase = "1=1"
        sql = sql.replace(f"{_CONDITIONAL_ALL}{condition},{variable})", phrase, 1)
        index = sql.rfind(_CONDITIONAL_ALL)
    return sql


def _sqlstring(values: Sequence[str]) -> str:
    return ",".join("'" + v.replace("'", "''") + "'" for v in values)


_FORMATS: Mapping[str, Callable[[Sequence[str]], str]] = {
    # the plugin's own formatter (no format given): lists as 'a','b', one value raw
    "": lambda vs: vs[0] if len(vs) == 1 else "'" + "','".join(vs) + "'",
    "raw": lambda vs: ",".join(vs),
    "csv": lambda vs: ",".join(vs),
    "sqlstring": _sqlstring,
    "singlequote": lambda vs: ",".join("'" + v.replace("'", "\\'") + "'" for v in vs),
}


def interpolate(
    sql: str, variables: Mapping[str, Value], all_values: Mapping[str, str] | None = None
) -> str:
    """Grafana's template interpolation of dashboard variables (unknown names stay as they are).

    ``all_values`` holds each variable's custom *All* value; Grafana inserts it unformatted.
    A variable at All without a custom All value would expand to every option, which only a
    live Grafana knows: that is an error here (use ``$__conditionalAll`` around it).
    """
    all_values = all_values or {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        fmt = match.group(2) or ""
        if name not in variables:
            return match.group(0)
        value = variables[name]
        values = [value] if isinstance(value, str) else list(value)
        if values == [ALL]:
            if name in all_values:
                return all_values[name]
            raise MacroError(f"${name} is All with no custom All value: wrap it in conditionalAll")
        if fmt not in _FORMATS:
            raise MacroError(f"format :{fmt} of ${name} is not modelled here")
        return _FORMATS[fmt](values)

    return _VARIABLE.sub(replace, sql)


def expand_macros(sql: str, ctx: QueryContext) -> str:
    """The plugin backend's step: every ``$__name`` must be one of :data:`MACROS`."""
    out: list[str] = []
    pos = 0
    for match in _MACRO.finditer(sql):
        if match.start() < pos:
            continue
        name = match.group(1)
        macro = MACROS.get(name)
        if macro is None:
            raise MacroError(
                f"$__{name} is not a macro of grafana-clickhouse-datasource "
                f"(known: {', '.join(sorted({*MACROS, *FRONTEND_MACROS}))})"
            )
        args: list[str] = []
        end = match.end()
        if end < len(sql) and sql[end] == "(":
            parsed = _macro_args(sql, end)
            if parsed is None:
                raise MacroError(f"$__{name}( has no closing parenthesis")
            raw_args, end = parsed
            args = [a.strip() for a in raw_args if a.strip() != ""]
        out.append(sql[pos : match.start()])
        out.append(macro(name, ctx, args))
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def expand(
    sql: str,
    ctx: QueryContext,
    variables: Mapping[str, Value] | None = None,
    all_values: Mapping[str, str] | None = None,
) -> str:
    """Panel SQL as the ClickHouse server receives it (the three steps, in Grafana's order)."""
    variables = variables or {}
    sql = apply_conditional_all(sql, variables)
    sql = interpolate(sql, variables, all_values)
    return expand_macros(sql, ctx)
