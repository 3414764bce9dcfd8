"""The fixed texts widgets and kiosks show around a catalogue question, in Polish and English."""

from __future__ import annotations

from typing import Literal

__all__ = ["BUTTONS", "DEFAULT_QUESTION", "REASONS", "UI", "Lang"]

Lang = Literal["pl", "en"]

BUTTONS: dict[Lang, list[str]] = {
    "pl": ["Bardzo źle", "Źle", "Dobrze", "Bardzo dobrze"],
    "en": ["Very unhappy", "Unhappy", "Happy", "Very happy"],
}

# Follow-up reasons offered after an unhappy press (buttons 1-2); the code travels in `reason`.
REASONS: list[tuple[str, dict[Lang, str]]] = [
    ("wait_time", {"pl": "Czas oczekiwania", "en": "Waiting time"}),
    ("staff", {"pl": "Obsługa", "en": "Staff"}),
    ("information", {"pl": "Niejasne informacje", "en": "Unclear information"}),
    ("not_resolved", {"pl": "Sprawa niezałatwiona", "en": "Matter not resolved"}),
    ("other", {"pl": "Inne", "en": "Other"}),
]

UI: dict[Lang, dict[str, str]] = {
    "pl": {"reason_prompt": "Co poszło nie tak?", "thanks": "Dziękujemy!", "skip": "Pomiń"},
    "en": {"reason_prompt": "What went wrong?", "thanks": "Thank you!", "skip": "Skip"},
}

DEFAULT_QUESTION: dict[Lang, str] = {
    "pl": "Jak oceniasz naszą obsługę?",
    "en": "How satisfied are you with our service?",
}
