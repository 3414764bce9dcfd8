"""The fixed texts widgets and kiosks show around a catalogue question, in Polish and English."""

from __future__ import annotations

from typing import Literal

__all__ = ["BUTTONS", "DEFAULT_QUESTION", "PAGES", "REASONS", "UI", "Lang"]

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

# The landing page, the live wall and the review page (api/pages/live.py pastes them into the page
# for its language).
PAGES: dict[Lang, dict[str, str]] = {
    "pl": {
        "title": "civicpulse: zadowolenie mieszkańców",
        "intro": "Oceny z terminali i widżetów na stronach miasta, na żywo.",
        "live": "Ekran na żywo",
        "live_hint": "wynik każdego wydziału, oceny na minutę, otwarte alarmy",
        "departments": "Strony wydziałów",
        "api_docs": "Dokumentacja API",
        "api_hint": "zapytania /v1 wymagają tokenu: civicpulse tokens add NAZWA",
        "widget_demo": "Demo widżetu",
        "kiosk": "Kiosk (tablet jako terminal)",
        "grafana": "Pulpity Grafany: civicpulse dashboards build KATALOG",
        "city": "Miasto",
        "score": "Wynik",
        "score_hint": "ostatnie 15 min, 0-100",
        "per_min": "ocen/min",
        "in_15": "ocen w 15 min",
        "no_data": "brak ocen",
        "alerts": "Otwarte alarmy",
        "no_alerts": "Brak otwartych alarmów",
        "below": "poniżej progu",
        "silent_since": "urządzenie milczy od",
        "ack": "Przyjmij",
        "acked_by": "przyjęte przez",
        "comment": "Skomentuj",
        "comment_placeholder": "komentarz…",
        "close": "Zamknij",
        "action_failed": "nie udało się",
        "sites": "Placówki",
        "back": "Wszystkie wydziały",
        "token_prompt": "Token API (civicpulse tokens add NAZWA)",
        "token_save": "Otwórz",
        "token_bad": "Token odrzucony",
        "updated": "aktualizacja",
        "stream_on": "alarmy na żywo",
        "stream_off": "łączenie…",
        "trend": "trend 6 h",
        "standard": "standard",
        "standard_hint": "cel wyniku dnia i minimum ocen dziennie; ocena tego miesiąca (dni "
        "spełnione/niespełnione/za mało ocen)",
        "status_met": "spełniony",
        "status_missed": "niespełniony",
        "status_too_few": "za mało ocen",
        "days": "dni",
        "review": "Przegląd nadużyć",
        "review_hint": "okresy podejrzane o ocenianie własnego stanowiska: potwierdź lub odrzuć",
        "review_intro": (
            "Okresy, w których oceny jednego urządzenia układają się we wzorzec, jakiego nie daje "
            "kolejka mieszkańców (np. pracownik ocenia własne stanowisko). Potwierdzenie: oceny z "
            "okresu liczą się wszędzie jako nadużycie, a zamknięte okna wyników są przeliczane. "
            "Odrzucenie: oceny liczą się normalnie."
        ),
        "show": "Pokaż",
        "show_open": "otwarte",
        "show_all": "wszystkie",
        "col_device": "Urządzenie",
        "col_site": "Placówka",
        "col_pattern": "Wzorzec",
        "col_period": "Okres",
        "col_presses": "Oceny",
        "col_evidence": "Uzasadnienie",
        "col_decision": "Decyzja",
        "pattern_one_button_run": "seria jednego przycisku",
        "pattern_recurring_bursts": "powtarzające się krótkie serie",
        "pattern_one_sided_hour": "jednostronna godzina",
        "pattern_outside_hours": "poza godzinami otwarcia",
        "confirm": "Potwierdź",
        "dismiss": "Odrzuć",
        "note": "Notatka (opcjonalnie)",
        "state_open": "otwarty",
        "state_confirmed": "potwierdzony: oceny liczone jako nadużycie",
        "state_dismissed": "odrzucony: oceny liczone normalnie",
        "no_suspects": "Brak okresów do przeglądu",
        "not_saved": "Nie zapisano",
    },
    "en": {
        "title": "civicpulse: citizen satisfaction",
        "intro": "Ratings from service-desk terminals and city web pages, live.",
        "live": "Live wall",
        "live_hint": "each department's score, presses per minute, open alerts",
        "departments": "Department pages",
        "api_docs": "API documentation",
        "api_hint": "/v1 queries need a token: civicpulse tokens add NAME",
        "widget_demo": "Widget demo",
        "kiosk": "Kiosk (a tablet as a terminal)",
        "grafana": "Grafana dashboards: civicpulse dashboards build DIR",
        "city": "City",
        "score": "Score",
        "score_hint": "last 15 min, 0-100",
        "per_min": "presses/min",
        "in_15": "presses in 15 min",
        "no_data": "no presses",
        "alerts": "Open alerts",
        "no_alerts": "No open alerts",
        "below": "below threshold",
        "silent_since": "device silent since",
        "ack": "Acknowledge",
        "acked_by": "acknowledged by",
        "comment": "Comment",
        "comment_placeholder": "comment…",
        "close": "Close",
        "action_failed": "failed",
        "sites": "Sites",
        "back": "All departments",
        "token_prompt": "API token (civicpulse tokens add NAME)",
        "token_save": "Open",
        "token_bad": "Token refused",
        "updated": "updated",
        "stream_on": "live alerts",
        "stream_off": "connecting…",
        "trend": "6 h trend",
        "standard": "standard",
        "standard_hint": "daily score target and minimum responses a day; this month's status "
        "(days met/missed/too few)",
        "status_met": "met",
        "status_missed": "missed",
        "status_too_few": "too few responses",
        "days": "days",
        "review": "Misuse review",
        "review_hint": "suspect periods of staff rating their own desk: confirm or dismiss",
        "review_intro": (
            "Periods in which one device's presses form a pattern a queue of citizens does not "
            "produce (staff rating their own desk, for one). Confirm: the period's presses count "
            "as misuse everywhere and the closed score windows are recomputed. Dismiss: they "
            "count as usual."
        ),
        "show": "Show",
        "show_open": "open",
        "show_all": "all",
        "col_device": "Device",
        "col_site": "Site",
        "col_pattern": "Pattern",
        "col_period": "Period",
        "col_presses": "Presses",
        "col_evidence": "Evidence",
        "col_decision": "Decision",
        "pattern_one_button_run": "one-button run",
        "pattern_recurring_bursts": "recurring short bursts",
        "pattern_one_sided_hour": "one-sided hour",
        "pattern_outside_hours": "outside opening hours",
        "confirm": "Confirm",
        "dismiss": "Dismiss",
        "note": "Note (optional)",
        "state_open": "open",
        "state_confirmed": "confirmed: presses count as misuse",
        "state_dismissed": "dismissed: presses count as usual",
        "no_suspects": "No suspect periods to review",
        "not_saved": "Not saved",
    },
}
