"""The annual report's words in Polish and English, and numbers written the way each reads them."""

from __future__ import annotations

from typing import Literal

__all__ = ["REPORT_TEXTS", "ReportLang", "number"]

ReportLang = Literal["pl", "en"]

REPORT_TEXTS: dict[ReportLang, dict[str, str]] = {
    "pl": {
        "title": "Roczny raport jakości obsługi {year}",
        "city": "Wynik miasta <b>{score}</b> z {n} policzonych ocen mieszkańców "
        "(strefa czasowa {tz}).",
        "departments": "Wydziały",
        "monthly": "Trend miesięczny",
        "monthly_chart": "Wynik miesięczny wydziałów, {year}",
        "heatmap": "Kiedy mieszkańcy są najbardziej zadowoleni",
        "heatmap_chart": "Wynik wg dnia tygodnia i godziny",
        "hour_axis": "godzina ({tz})",
        "score_axis": "wynik (0-100)",
        "best": "Najlepsze placówki",
        "fair_note": "Wynik wyrównany: przybliżony do średniej miasta z k = {k} ocen.",
        "attention": "Placówki wymagające uwagi",
        "filtered": "Odfiltrowane oceny wg urządzenia",
        "alerts": "Historia alarmów",
        "no_alerts": "Brak alarmów w tym roku.",
        "department": "wydział",
        "site": "placówka",
        "presses": "oceny",
        "score": "wynik",
        "fair_score": "wynik wyrównany",
        "device": "urządzenie",
        "filtered_n": "odfiltrowane",
        "share": "udział %",
        "at": "czas (UTC)",
        "state": "stan",
        "scope": "zakres",
        "name": "nazwa",
        "threshold": "próg",
        "opened": "otwarty",
        "resolved": "zamknięty",
        "weekdays": "pon,wt,śr,czw,pt,sob,ndz",
    },
    "en": {
        "title": "Annual service report {year}",
        "city": "City score <b>{score}</b> from {n} counted citizen presses (time zone {tz}).",
        "departments": "Departments",
        "monthly": "Monthly trend",
        "monthly_chart": "Monthly score per department, {year}",
        "heatmap": "When citizens are happiest",
        "heatmap_chart": "Score by weekday and hour",
        "hour_axis": "hour of day ({tz})",
        "score_axis": "score (0-100)",
        "best": "Best sites",
        "fair_note": "Fair score: shrunk toward the city mean with k = {k} presses.",
        "attention": "Sites needing attention",
        "filtered": "Filtered presses per device",
        "alerts": "Alert history",
        "no_alerts": "No alerts this year.",
        "department": "department",
        "site": "site",
        "presses": "presses",
        "score": "score",
        "fair_score": "fair score",
        "device": "device",
        "filtered_n": "filtered",
        "share": "share %",
        "at": "at (UTC)",
        "state": "state",
        "scope": "scope",
        "name": "name",
        "threshold": "threshold",
        "opened": "opened",
        "resolved": "resolved",
        "weekdays": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
    },
}


def number(value: float | None, lang: ReportLang) -> str:
    """One decimal; a decimal comma in Polish. ``None`` (no presses) is a dash."""
    if value is None:
        return "-"
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "pl" else text
