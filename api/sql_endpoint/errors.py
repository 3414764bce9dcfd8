"""ClickHouse's errors as the endpoint answers them: code, name, text, HTTP status.

A ClickHouse server answers a failed HTTP query with a status from the error's code, the header
``X-ClickHouse-Exception-Code`` and a body ``Code: N. DB::Exception: text. (NAME) (version V)``;
drivers parse that body (clickhouse-go, clickhouse-connect and JDBC read the code from it), so
the endpoint writes errors of its own the same way and passes chDB's through unchanged.
"""

from __future__ import annotations

import re

from civicpulse.api.exceptions import ApiError

__all__ = ["SqlEndpointError", "engine_error", "http_status"]

_ENGINE_CODE = re.compile(
    r"Code: (\d+)\. DB::Exception: (.*?)(?: \((\w+)\))?(?: \(version [^)]*\))?\.?\s*$", re.S
)

# ClickHouse's own mapping (src/Server/HTTPHandler.cpp, exceptionCodeToHTTPStatus), for the
# codes the endpoint can meet; everything else is 500 as there.
_STATUS_BY_CODE = {
    516: 401,  # AUTHENTICATION_FAILED
    192: 401,  # UNKNOWN_USER
    193: 401,  # WRONG_PASSWORD
    194: 401,  # REQUIRED_PASSWORD
    164: 403,  # READONLY
    497: 403,  # ACCESS_DENIED
    564: 403,  # INTO_OUTFILE_NOT_ALLOWED
    62: 400,  # SYNTAX_ERROR
    27: 400,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    36: 400,  # BAD_ARGUMENTS
    43: 400,  # ILLEGAL_TYPE_OF_ARGUMENT
    46: 404,  # UNKNOWN_FUNCTION
    47: 404,  # UNKNOWN_IDENTIFIER
    60: 404,  # UNKNOWN_TABLE
    73: 404,  # UNKNOWN_FORMAT
    81: 404,  # UNKNOWN_DATABASE
    115: 404,  # UNKNOWN_SETTING
    202: 503,  # TOO_MANY_SIMULTANEOUS_QUERIES
}


class SqlEndpointError(ApiError):
    """A ClickHouse error: ``code`` and ``name`` as ClickHouse has them, ``text`` its message."""

    def __init__(self, code: int, name: str, text: str, *, body: str | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.name = name
        self.text = text
        self._body = body

    def body(self, version: str) -> str:
        """The response body ClickHouse would send (chDB's own text when it came from chDB)."""
        if self._body is not None:
            text = self._body.rstrip("\n")
            return text + "\n" if "(version " in text else f"{text} (version {version})\n"
        return f"Code: {self.code}. DB::Exception: {self.text}. ({self.name}) (version {version})\n"


def engine_error(message: str) -> SqlEndpointError:
    """chDB's exception text as a :class:`SqlEndpointError` (code 1001 when it has no code)."""
    text = message.strip()
    start = text.find("Code: ")
    if start > 0:
        text = text[start:]
    match = _ENGINE_CODE.match(text)
    if match is None:
        return SqlEndpointError(1001, "STD_EXCEPTION", text)
    code, detail, name = int(match.group(1)), match.group(2), match.group(3) or "UNKNOWN"
    return SqlEndpointError(code, name, detail, body=text)


def http_status(code: int) -> int:
    """The HTTP status ClickHouse answers an error of ``code`` with."""
    return _STATUS_BY_CODE.get(code, 500)
