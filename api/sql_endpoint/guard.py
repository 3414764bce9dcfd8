"""What may reach the engine: one read statement, no table function that leaves the store, no
``SETTINGS`` clause that lifts the endpoint's limits.

This is the first of two locks. The second is the engine's own: every endpoint connection runs
with ClickHouse's ``readonly = 2`` (:mod:`.engine`), which refuses writes and DDL and any change
of ``readonly`` itself. (``readonly = 1`` would refuse most table functions too, but also every
``SETTINGS`` clause, and the project's own panel SQL carries one; so ``readonly = 2``.) The
guard refuses, with ClickHouse's codes and texts, what ``readonly = 2`` lets through in chDB
(measured on chDB 4.4): every table function but the few that only compute or read the store's
own tables (so ``file``, ``url``, ``s3``, ``remote``, ``mysql``, ``executable``, ``python``,
``filesystem``, ... and whatever a new chDB adds), ``INTO OUTFILE`` (writes a file), more than
one statement per request (chDB runs them all), and a ``SETTINGS`` clause naming a limit.
Pure functions over a small SQL tokenizer that knows strings,
quoted identifiers and comments, so a keyword inside a literal never counts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from civicpulse.api.sql_endpoint.errors import SqlEndpointError

__all__ = [
    "BLOCKED_TABLE_FUNCTIONS",
    "READ_STATEMENTS",
    "SAFE_TABLE_FUNCTIONS",
    "CheckedQuery",
    "blocked_functions",
    "check_query",
    "tokenize",
]

#: the statements the endpoint passes on, by their first keyword
READ_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"})

#: table functions that only compute or read the store's own tables (lower case); every other
#: table function the engine knows is refused (:func:`blocked_functions`)
SAFE_TABLE_FUNCTIONS = frozenset(
    {
        "numbers", "numbers_mt", "zeros", "zeros_mt", "generaterandom", "generateseries",
        "generate_series", "primes", "values", "view", "merge", "null", "format",
    }
)  # fmt: skip

#: table functions that reach files, URLs, other servers or processes (lower case): refused
#: even before the engine's own list is known
BLOCKED_TABLE_FUNCTIONS = frozenset(
    {
        "azureblobstorage", "azureblobstoragecluster", "cluster", "clusterallreplicas",
        "deltalake", "deltalakecluster", "dictionary", "executable", "file", "filecluster", "gcs",
        "hdfs", "hdfscluster", "hudi", "hudicluster", "iceberg", "icebergcluster", "icebergs3",
        "input", "jdbc", "mongodb", "mysql", "odbc", "postgresql", "python", "redis", "remote",
        "remotesecure", "s3", "s3cluster", "sqlite", "url", "urlcluster", "ytsaurus", "arrowflight",
        "paimon", "hive", "objectstorage",
    }
)  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^'\\]|\\.|'')*(?:'|\Z))
  | (?P<quoted>"(?:[^"\\]|\\.|"")*(?:"|\Z)|`(?:[^`\\]|\\.|``)*(?:`|\Z))
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # word, quoted, string, other
    text: str


@dataclass(frozen=True)
class CheckedQuery:
    """A query the guard let through: its text (one statement, no trailing ``;``) and the
    output format its own ``FORMAT`` clause names, if any."""

    sql: str
    format: str | None


def tokenize(sql: str) -> list[Token]:
    """Tokens of ``sql`` without spaces and comments (pure)."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup or "other"
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, match.group()))
    return tokens


def _identifier(token: Token) -> str:
    """The name a word or a quoted identifier stands for (quotes and their escapes removed)."""
    if token.kind != "quoted":
        return token.text
    quote, inner = token.text[0], token.text[1:]
    if inner.endswith(quote):
        inner = inner[:-1]
    return re.sub(r"\\(.)", r"\1", inner.replace(quote * 2, quote))


def _readonly_error() -> SqlEndpointError:
    return SqlEndpointError(164, "READONLY", "Cannot execute query in readonly mode")


def _statements(tokens: list[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind == "other" and token.text == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    return [statement for statement in statements if statement]


def _first_keyword(statement: list[Token]) -> str:
    for token in statement:
        if token.kind == "other" and token.text == "(":
            continue  # (SELECT ...) UNION ALL (SELECT ...)
        return token.text.upper() if token.kind == "word" else ""
    return ""


def _format_clause(statement: list[Token]) -> str | None:
    """The format named by the statement's last ``FORMAT name`` (not ``format(...)``)."""
    found: str | None = None
    for token, following in itertools.pairwise(statement):
        if token.kind == "word" and token.text.upper() == "FORMAT" and following.kind == "word":
            found = following.text
    return found


def _clause_settings(statement: list[Token]) -> list[str]:
    """Names set by ``SETTINGS name = value, ...`` clauses (pure; ``system.settings`` is not a
    clause: no ``name =`` follows it). A clause ends at ``FORMAT`` or at the ``)`` that closes
    its subquery."""
    names: list[str] = []
    for index, token in enumerate(statement):
        if token.kind != "word" or token.text.upper() != "SETTINGS":
            continue
        depth = 0
        for position in range(index + 1, len(statement) - 1):
            current, following = statement[position], statement[position + 1]
            if current.text == "(":
                depth += 1
            elif current.text == ")":
                depth -= 1
                if depth < 0:
                    break
            elif current.kind == "word" and current.text.upper() == "FORMAT" and depth == 0:
                break
            elif current.kind in ("word", "quoted") and following.text == "=" and depth == 0:
                names.append(current.text.strip('`"').lower())
    return names


def blocked_functions(table_functions: Iterable[str]) -> frozenset[str]:
    """Every table function of the engine (``system.table_functions``) and the known escapes,
    but the safe ones: a table function chDB adds in a new release is refused until it is
    judged safe (pure)."""
    return (
        frozenset(name.lower() for name in table_functions) | BLOCKED_TABLE_FUNCTIONS
    ) - SAFE_TABLE_FUNCTIONS


def check_query(
    sql: str,
    protected: frozenset[str] = frozenset(),
    blocked: frozenset[str] = BLOCKED_TABLE_FUNCTIONS,
) -> CheckedQuery:
    """Let one read statement through, or raise ClickHouse's error for it.

    ``blocked`` names the refused table functions (lower case; :func:`blocked_functions`);
    ``protected`` names the settings a ``SETTINGS`` clause may not change (code 164, as a
    readonly user gets). Empty queries get code 62 (as ClickHouse: "Empty query"); two
    statements get code 62 ("Multi-statements are not allowed"); anything but
    SELECT/WITH/SHOW/DESCRIBE/EXISTS/EXPLAIN and a blocked table function get code 164
    READONLY; ``INTO OUTFILE`` gets code 564.
    """
    tokens = tokenize(sql)
    statements = _statements(tokens)
    if not statements:
        raise SqlEndpointError(62, "SYNTAX_ERROR", "Empty query")
    if len(statements) > 1:
        raise SqlEndpointError(62, "SYNTAX_ERROR", "Multi-statements are not allowed")
    statement = statements[0]
    if _first_keyword(statement) not in READ_STATEMENTS:
        raise _readonly_error()
    for token, following in itertools.pairwise(statement):
        if token.kind not in ("word", "quoted"):
            continue
        word = token.text.upper()
        if word == "INTO" and following.kind == "word" and following.text.upper() == "OUTFILE":
            raise SqlEndpointError(564, "INTO_OUTFILE_NOT_ALLOWED", "INTO OUTFILE is not allowed")
        # the engine calls `file`(...) and "file"(...) as it calls file(...) (measured on chDB)
        if following.text == "(" and _identifier(token).lower() in blocked:
            raise SqlEndpointError(
                164,
                "READONLY",
                f"Cannot execute query in readonly mode: table function {token.text} reaches "
                "outside the store",
            )
    for name in _clause_settings(statement):
        if name in protected or name == "readonly":
            raise SqlEndpointError(
                164, "READONLY", f"Cannot modify '{name}' setting in readonly mode"
            )
    body = sql.rstrip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    return CheckedQuery(sql=body, format=_format_clause(statement))
