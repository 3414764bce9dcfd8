"""Response shapes of the query API, for the OpenAPI document (the contract in DESIGN.md).

Handlers build plain dicts and send them with orjson (a page holds up to 10,000 rows: pydantic
validation of each would cost more than the query); these models only document them, and the
schemathesis test checks every response against them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "AlertComment",
    "AlertItem",
    "AlertsPage",
    "ChannelScoreItem",
    "ChannelScoresPage",
    "HeatmapCell",
    "HeatmapPage",
    "PressItem",
    "PressesPage",
    "RankingItem",
    "RankingPage",
    "ScoreItem",
    "ScoresPage",
    "VerdictItem",
    "VerdictsPage",
]

_CURSOR = Field(description="pass as ?cursor= for the next page; null on the last page")


class ScoreItem(BaseModel):
    scope: Literal["device", "site", "department", "question", "city"]
    scope_id: str
    kind: Literal["citizen", "employee"]
    window: Literal["15m", "1h", "1d"]
    window_start: str = Field(description="UTC, ISO-8601")
    window_end: str
    n: int
    n1: int
    n2: int
    n3: int
    n4: int
    score: float | None
    positive_share: float | None


class ScoresPage(BaseModel):
    items: list[ScoreItem]
    next_cursor: str | None = _CURSOR


class ChannelScoreItem(BaseModel):
    """``/v1/scores?by=channel``: counted citizen presses of one channel of a department/site."""

    scope: Literal["department", "site"]
    scope_id: str
    channel: str
    n: int
    n1: int
    n2: int
    n3: int
    n4: int
    score: float | None
    positive_share: float | None
    share: float | None = Field(description="of the scope's responses over the range")


class ChannelScoresPage(BaseModel):
    items: list[ChannelScoreItem]
    next_cursor: str | None = _CURSOR


class RankingItem(BaseModel):
    id: str
    name: str
    n: int
    score: float | None
    shrunk_score: float = Field(description="(n * score + k * city mean) / (n + k), k = 50")
    rank: int


class RankingPage(BaseModel):
    items: list[RankingItem]
    next_cursor: str | None = _CURSOR


class HeatmapCell(BaseModel):
    weekday: int = Field(ge=1, le=7, description="1 = Monday")
    hour: int = Field(ge=0, le=23, description="hour of day in the city time zone")
    n: int
    score: float | None


class HeatmapPage(BaseModel):
    items: list[HeatmapCell]
    next_cursor: str | None = _CURSOR


class VerdictItem(BaseModel):
    device_id: str
    verdict: str
    n: int


class VerdictsPage(BaseModel):
    items: list[VerdictItem]
    next_cursor: str | None = _CURSOR


class AlertComment(BaseModel):
    by: str = Field(description="name of the token that wrote it")
    at: str = Field(description="UTC, ISO-8601")
    comment: str
    action: Literal["ack", "comment", "close"] = Field(description="the action it came with")


class AlertItem(BaseModel):
    alert_id: str
    state: Literal["opened", "resolved"]
    scope: Literal["department", "site", "device"]
    scope_id: str
    department_id: str
    mode: Literal["threshold", "confidence"]
    score: float
    n: int
    threshold: float
    window_start: str
    window_end: str
    at: str
    kind: Literal["low_score", "recognition", "silent_device"]
    site_id: str | None = Field(description="silent_device: the device's site")
    expected_presses: float | None = Field(
        description="silent_device: mean presses in these hours on the reference weeks"
    )
    acked_by: str | None = Field(description="token name of the first acknowledgement")
    acked_at: str | None
    comments: list[AlertComment]
    closed: bool = Field(description="closed by hand or by recovery")
    closed_by: str | None = Field(
        description='"recovered" when the alert closed itself (score recovered, device back), '
        "else the token name that closed it"
    )
    closed_at: str | None


class AlertsPage(BaseModel):
    items: list[AlertItem]
    next_cursor: str | None = _CURSOR


class PressItem(BaseModel):
    event_id: str
    channel: Literal["terminal", "web"]
    device_id: str
    button: int = Field(ge=1, le=4)
    pressed_at: str
    received_at: str
    visitor: str | None
    reason: str | None
    lang: str | None
    verdict: str
    site_id: str | None
    department_id: str | None
    question_id: str | None
    question_kind: Literal["citizen", "employee"] | None


class PressesPage(BaseModel):
    items: list[PressItem]
    next_cursor: str | None = _CURSOR
