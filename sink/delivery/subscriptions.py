"""The subscriptions file (TOML, ``CIVICPULSE_SUBSCRIPTIONS``): who receives which alert, how.

The contract's keys (``department``, ``webhook``, ``secret``, ``format``, ``email``) plus
``name``, ``lang``, ``positive``, ``escalate_after``, ``escalate_to`` and ``silenced_until``
(reference: ``docs/formats.md``). The file is refused as a whole when one entry is wrong, with a
message that names the line, so a typo never silently drops a department's alerts.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from civicpulse.schemas.durations import parse_duration
from civicpulse.schemas.exceptions import DurationError
from civicpulse.sink.delivery.exceptions import SubscriptionError

__all__ = [
    "Format",
    "Subscription",
    "SubscriptionLang",
    "load_subscriptions",
    "parse_subscriptions",
]

Format = Literal["json", "slack", "teams"]
SubscriptionLang = Literal["pl", "en"]
MIN_SECRET = 16

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")
_DEPARTMENT = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9._:-]*)$")
_HEADER = re.compile(r"^\s*\[\[\s*subscription\s*\]\]")


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address (name@domain)")
    return value


def _duration(value: object) -> timedelta:
    try:
        duration = parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None
    if duration <= timedelta(0):
        raise ValueError("escalate_after must be more than zero")
    return duration


def _recipient(value: str) -> str:
    # An escalation goes to an address or, for a chat channel or a pager, a webhook URL.
    return _url(value) if "://" in value else _email(value)


WebhookUrl = Annotated[str, AfterValidator(_url)]
Email = Annotated[str, AfterValidator(_email)]
Recipient = Annotated[str, AfterValidator(_recipient)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Subscription(BaseModel):
    """One ``[[subscription]]`` entry: a department's (or every department's) recipients."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    department: Annotated[str, StringConstraints(pattern=_DEPARTMENT.pattern, max_length=128)]
    name: str = Field(default="", description="shown in logs and dead letters")
    webhook: WebhookUrl | None = None
    secret: str | None = Field(default=None, repr=False)
    format: Format = "json"
    email: tuple[Email, ...] = ()
    lang: SubscriptionLang = "pl"
    positive: bool = Field(default=False, description="also deliver recognition alerts")
    escalate_after: Duration | None = None
    escalate_to: tuple[Recipient, ...] = ()
    silenced_until: datetime | None = None
    #: 1-based position in the file and the line of its ``[[subscription]]`` header
    index: int = Field(default=0, exclude=True)
    line: int = Field(default=0, exclude=True)

    @model_validator(mode="after")
    def _coherent(self) -> Subscription:
        if self.webhook is None and not self.email:
            raise ValueError("give a webhook, an email list, or both")
        short_secret = self.secret is None or len(self.secret) < MIN_SECRET
        if self.webhook is not None and self.format == "json" and short_secret:
            raise ValueError(
                f"a json webhook needs a secret of at least {MIN_SECRET} characters "
                "(the receiver checks X-Civicpulse-Signature with it)"
            )
        if (self.escalate_after is None) != (not self.escalate_to):
            raise ValueError("escalate_after and escalate_to go together: give both or neither")
        if self.silenced_until is not None and self.silenced_until.tzinfo is None:
            raise ValueError("silenced_until needs a UTC offset, e.g. 2026-12-27T08:00:00+01:00")
        return self

    @property
    def label(self) -> str:
        """How logs and dead letters name this subscription."""
        return self.name or f"subscription {self.index} ({self.department}, line {self.line})"


def _header_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if _HEADER.match(line)]


def _key_line(text: str, start: int, end: int | None, key: str) -> int:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    lines = text.splitlines()
    for number in range(start, end or len(lines) + 1):
        if pattern.match(lines[number - 1]):
            return number
    return start


def _describe(exc: ValidationError, text: str, start: int, end: int | None) -> str:
    error = exc.errors(include_url=False)[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    loc = [str(part) for part in error["loc"]]
    if not loc:
        return f"line {start}: {message}"
    key = loc[0]
    if error["type"] == "extra_forbidden":
        return f"line {_key_line(text, start, end, key)}: unknown key {key!r}"
    if error["type"] == "missing":
        return f"line {start}: {key} is required"
    return f"line {_key_line(text, start, end, key)}: {'.'.join(loc)}: {message}"


def parse_subscriptions(text: str, source: str = "subscriptions") -> tuple[Subscription, ...]:
    """Every subscription of a TOML text, or a :class:`SubscriptionError` naming the line."""
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SubscriptionError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"subscription"})
    if unknown:
        raise SubscriptionError(
            f"{source}: unknown top-level key(s) {', '.join(unknown)}: the file holds only "
            "[[subscription]] entries (docs/formats.md)"
        )
    entries = document.get("subscription", [])
    if not isinstance(entries, list):
        raise SubscriptionError(
            f"{source}: write each entry as [[subscription]], not [subscription]"
        )
    headers = _header_lines(text)
    subscriptions = []
    for index, entry in enumerate(entries, start=1):
        start = headers[index - 1] if index - 1 < len(headers) else 1
        end = headers[index] if index < len(headers) else None
        internal = sorted({"index", "line"} & set(entry))
        if internal:
            line = _key_line(text, start, end, internal[0])
            raise SubscriptionError(
                f"{source}, [[subscription]] #{index}, line {line}: unknown key {internal[0]!r}"
            )
        try:
            subscriptions.append(
                Subscription.model_validate({**entry, "index": index, "line": start})
            )
        except ValidationError as exc:
            raise SubscriptionError(
                f"{source}, [[subscription]] #{index}, {_describe(exc, text, start, end)}"
            ) from None
    return tuple(subscriptions)


def load_subscriptions(path: Path) -> tuple[Subscription, ...]:
    """The subscriptions of a file (see :func:`parse_subscriptions`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SubscriptionError(f"cannot read subscriptions file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SubscriptionError(f"subscriptions file {path} is not UTF-8 text") from None
    return parse_subscriptions(text, str(path))
