"""The words of delivered alerts in Polish and English (one table; rendering picks the language).

Every key exists in both languages (a unit test checks it). Placeholders are ``str.format``
fields filled by :mod:`.render`.
"""

from __future__ import annotations

from civicpulse.sink.delivery.subscriptions import SubscriptionLang

__all__ = ["TEXTS", "text"]

TEXTS: dict[SubscriptionLang, dict[str, str]] = {
    "pl": {
        "low_score.opened": "Niskie zadowolenie: {scope}",
        "low_score.resolved": "Zadowolenie wróciło do normy: {scope}",
        "recognition.opened": "Dobra robota: {scope}",
        "recognition.resolved": "Wyróżnienie zakończone: {scope}",
        "silent_device.opened": "Urządzenie milczy: {scope}",
        "silent_device.resolved": "Urządzenie znów działa: {scope}",
        "escalation": "Bez potwierdzenia od {after}: {title}",
        "lead.low_score.opened": "Wynik {score} spadł poniżej progu {threshold}.",
        "lead.low_score.resolved": "Wynik {score} znów powyżej progu {threshold}.",
        "lead.recognition.opened": "Wynik dnia {score} przy progu wyróżnienia {threshold}.",
        "lead.recognition.resolved": "Wynik dnia {score}.",
        "lead.silent_device.opened": "Brak ocen od {silent_for} w godzinach otwarcia.",
        "lead.silent_device.resolved": "Urządzenie przysłało ocenę po przerwie.",
        "lead.escalation": "Nikt nie potwierdził tego alarmu w ciągu {after}.",
        "department": "Wydział",
        "scope": "Dotyczy",
        "score": "Wynik",
        "score_value": "{score} (próg {threshold})",
        "window": "Okno",
        "presses": "Liczba ocen",
        "expected": "Zwykle w tych godzinach",
        "worst_site": "Najsłabsza placówka",
        "worst_value": "{name}: {score} z {n} ocen",
        "no_worst_site": "brak danych placówek w tym oknie",
        "open_page": "Otwórz stronę wydziału na żywo",
        "ack_hint": "Potwierdź alarm na stronie wydziału, aby zatrzymać eskalację.",
        "footer": "Wiadomość z civicpulse, id alarmu {alert_id}.",
        "scope.department": "wydział",
        "scope.site": "placówka",
        "scope.device": "urządzenie",
    },
    "en": {
        "low_score.opened": "Low satisfaction: {scope}",
        "low_score.resolved": "Satisfaction recovered: {scope}",
        "recognition.opened": "Good work: {scope}",
        "recognition.resolved": "Recognition ended: {scope}",
        "silent_device.opened": "Device silent: {scope}",
        "silent_device.resolved": "Device back: {scope}",
        "escalation": "Not acknowledged for {after}: {title}",
        "lead.low_score.opened": "The score {score} fell below the threshold {threshold}.",
        "lead.low_score.resolved": "The score {score} is back above the threshold {threshold}.",
        "lead.recognition.opened": "The day's score {score} at a recognition threshold of "
        "{threshold}.",
        "lead.recognition.resolved": "The day's score {score}.",
        "lead.silent_device.opened": "No presses for {silent_for} during opening hours.",
        "lead.silent_device.resolved": "The device sent a press again.",
        "lead.escalation": "Nobody acknowledged this alert within {after}.",
        "department": "Department",
        "scope": "About",
        "score": "Score",
        "score_value": "{score} (threshold {threshold})",
        "window": "Window",
        "presses": "Presses",
        "expected": "Usually in these hours",
        "worst_site": "Worst site",
        "worst_value": "{name}: {score} from {n} presses",
        "no_worst_site": "no site figures for this window",
        "open_page": "Open the department's live page",
        "ack_hint": "Acknowledge the alert on the department page to stop the escalation.",
        "footer": "Sent by civicpulse, alert id {alert_id}.",
        "scope.department": "department",
        "scope.site": "site",
        "scope.device": "device",
    },
}


def text(lang: SubscriptionLang, key: str, **fields: object) -> str:
    """The text ``key`` in ``lang``, its placeholders filled."""
    return TEXTS[lang][key].format(**fields)
