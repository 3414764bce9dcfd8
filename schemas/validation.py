"""Validation errors in words, in one place: the API's flat records and the stream's one line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

__all__ = ["describe_validation_error", "field_path", "flat_errors"]


def field_path(loc: Sequence[Any]) -> str:
    """``("events", 2, "button")`` -> ``"events.2.button"``."""
    return ".".join(str(part) for part in loc)


def flat_errors(errors: Iterable[Any]) -> list[dict[str, str]]:
    """Pydantic (or FastAPI) error dicts as ``{"field", "message", "type"}`` records."""
    return [
        {"field": field_path(err["loc"]), "message": str(err["msg"]), "type": str(err["type"])}
        for err in errors
    ]


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_validation_error(exc: ValidationError, what: str = "PressEvent") -> str:
    """One line naming each bad field, what is wrong, and the value received."""
    parts: list[str] = []
    for error in exc.errors(include_url=False):
        if error["type"] == "json_invalid":
            return f"invalid JSON: {error['ctx'].get('error', error['msg'])}"
        message = error["msg"].removeprefix("Value error, ")
        where = field_path(error["loc"])
        if where and error["type"] != "missing":
            message = f"{where}: {message} (got {_short(error['input'])})"
        elif where:
            message = f"{where}: {message}"
        parts.append(message)
    return f"invalid {what}: " + "; ".join(parts).replace("\n", " ")
