"""Contracts shared by every stage: event models, catalogue, topics, settings.

Imported by all other packages; imports none of them.
"""

from civicpulse.schemas.catalogue import (
    Catalogue,
    Department,
    Device,
    Question,
    QuestionSchedule,
    Site,
)
from civicpulse.schemas.events import (
    AlertEvent,
    DeadLetter,
    JudgedPress,
    PressEvent,
    ScoreEvent,
    Verdict,
)
from civicpulse.schemas.settings import Settings, get_settings
from civicpulse.schemas.topics import TOPICS, TopicSpec, alerts_topic, topic_name

__all__ = [
    "TOPICS",
    "AlertEvent",
    "Catalogue",
    "DeadLetter",
    "Department",
    "Device",
    "JudgedPress",
    "PressEvent",
    "Question",
    "QuestionSchedule",
    "ScoreEvent",
    "Settings",
    "Site",
    "TopicSpec",
    "Verdict",
    "alerts_topic",
    "get_settings",
    "topic_name",
]
