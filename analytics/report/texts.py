"""The annual report's words in Polish and English, and numbers, dates and durations written the
way each language reads them (decimal comma and spaced thousands in Polish, the city's local
time, Polish month names in the genitive).

One template (:mod:`civicpulse.analytics.report.html`) looks every word up here by key; both
languages carry exactly the same keys (a unit test holds them to it). Counted things are
written "label: number" so no sentence needs a plural form that depends on the number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "REPORT_TEXTS",
    "ReportLang",
    "change_text",
    "duration",
    "integer",
    "local_date",
    "local_datetime",
    "number",
    "percent",
]

ReportLang = Literal["pl", "en"]

REPORT_TEXTS: dict[ReportLang, dict[str, str]] = {
    "pl": {
        "title": "Raport roczny o jakości obsługi mieszkańców {year}",
        "period": "Okres: 1 stycznia – 31 grudnia {year}, czas lokalny ({tz})",
        "generated": "Wygenerowano {at}",
        "page": "Strona",
        "of": "z",
        "summary": "Podsumowanie roku",
        "kpi_score": "wynik miasta (0–100)",
        "kpi_responses": "oceny mieszkańców",
        "kpi_change": "zmiana wobec {year} r.",
        "kpi_alerts": "alarmy o spadku wyniku",
        "s_city": "Wynik miasta w {year} r.: {score} na 100; policzone oceny mieszkańców: {n}.",
        "s_change": "W {prev} r. wynik wynosił {score} (ocen: {n}); zmiana: {change} pkt.",
        "s_no_previous": "Brak danych z {prev} r. do porównania.",
        "s_best": "Najwyżej oceniany wydział: {name} – wynik {score} (ocen: {n}).",
        "s_weakest": "Najniżej oceniany wydział: {name} – wynik {score} (ocen: {n}).",
        "s_alerts": "Alarmy o spadku wyniku: {opened}; zamknięte: {resolved}; mediana czasu do "
        "poprawy: {median}; najdłużej: {longest}.",
        "s_alerts_open": "Otwarte na koniec okresu: {n}.",
        "s_no_alerts": "W {year} r. nie było alarmów o spadku wyniku.",
        "s_filtered": "Filtr nadużyć odłożył naciśnięcia niebędące rzetelną oceną: {filtered} z "
        "{total} ({share}).",
        "s_reviews": "Okresy nadużyć potwierdzone przez recenzentów: {confirmed} (wyłączone "
        "naciśnięcia: {presses}); odrzucone: {dismissed}; czekające na decyzję: {open}.",
        "s_channels": "Kanały: {parts}.",
        "departments": "Wydziały",
        "departments_chart": "Wynik wydziałów w {year} r. (kreska: {prev} r.)",
        "departments_chart_alone": "Wynik wydziałów w {year} r.",
        "monthly_chart": "Wynik miasta miesiąc po miesiącu",
        "sites": "Placówki",
        "sites_count": "Placówki z ocenami w {year} r.: {n}. Ranking według wyniku wyrównanego "
        "(przybliżonego do średniej miasta o {k} ocen, by placówka z kilkoma ocenami nie trafiła "
        "na szczyt ani na dół przez przypadek). Pełny ranking w załączniku.",
        "sites_too_few": "Placówek jest zbyt mało ({n}), by wskazać najlepsze i najsłabsze "
        "osobno; pełny ranking w załączniku.",
        "best": "Najlepsze placówki",
        "weakest": "Placówki wymagające uwagi",
        "channels": "Kanały",
        "channels_note": "Terminale przy stanowiskach i widżet na stronach miasta.",
        "time": "Pora dnia i tygodnia",
        "heatmap_title": "Wynik według dnia tygodnia i godziny",
        "heatmap_note": "Wynik według dnia tygodnia i godziny (czas lokalny). Szare pola: mniej "
        "niż {min} ocen.",
        "heatmap_too_few": "Zbyt mało ocen na mapę według dnia i godziny (ocen: {n}; godzin "
        "tygodnia z ocenami: {cells}); mapa wymaga co najmniej {need} godzin tygodnia z co "
        "najmniej {min} ocenami każda.",
        "employee": "Nastrój pracowników",
        "employee_note": "Odpowiedzi pracowników na pytanie o ich dzień, liczone osobno i nigdy "
        "nie mieszane z ocenami mieszkańców.",
        "employee_none": "Brak odpowiedzi pracowników w {year} r.",
        "filtered": "Odfiltrowane naciśnięcia",
        "filtered_note": "Naciśnięcia zachowane, lecz niewliczone do wyników. Urządzenia z "
        "największą liczbą odfiltrowanych naciśnięć (do {k}):",
        "reviews": "Przeglądy nadużyć (według roku początku okresu)",
        "alerts": "Alarmy",
        "alerts_note": "Czas do poprawy: od otwarcia alarmu do powrotu wyniku powyżej progu.",
        "annex": "Załącznik: wszystkie placówki",
        "method": "Metoda",
        "method_text": "Wynik: średnia przycisków ważonych 0, 33,3, 66,7 i 100 (0–100), z "
        "policzonych ocen mieszkańców, bez naciśnięć odfiltrowanych i bez potwierdzonych okresów "
        "nadużyć. Rok kalendarzowy w strefie {tz}. Przy każdej liczbie podano liczbę ocen; "
        "oznaczenie * znaczy: mniej niż {min} ocen, wynik orientacyjny.",
        "too_few_mark": "* mniej niż {min} ocen: wynik orientacyjny.",
        "department": "wydział",
        "site": "placówka",
        "channel": "kanał",
        "responses": "oceny",
        "score": "wynik",
        "previous": "wynik {year}",
        "change": "zmiana",
        "fair_score": "wynik wyrównany",
        "rank": "miejsce",
        "positive": "zadowoleni",
        "share": "udział",
        "device": "urządzenie",
        "judged": "naciśnięcia",
        "filtered_n": "odfiltrowane",
        "verdict": "powód",
        "state": "decyzja",
        "periods": "okresy",
        "presses": "naciśnięcia",
        "opened_at": "otwarty",
        "resolved_at": "zamknięty",
        "to_resolve": "czas do poprawy",
        "scope": "zakres",
        "name": "nazwa",
        "threshold": "próg",
        "still_open": "nadal otwarty",
        "opened": "otwarte",
        "open_at_end": "otwarte na koniec okresu",
        "resolved": "zamknięte",
        "median_s": "mediana czasu do poprawy",
        "longest_s": "najdłuższy czas do poprawy",
        "none": "brak",
        "points": "pkt",
        "terminal": "terminale",
        "web": "strony www",
        "standards": "Standardy obsługi",
        "standards_note": "Cel wydziału: wynik dnia co najmniej równy celowi przy co najmniej "
        "minimalnej liczbie ocen dziennie. Miesiąc jest spełniony, gdy każdy dzień z wystarczającą "
        "liczbą ocen osiągnął cel. W komórce: ocena miesiąca, wynik miesiąca i dni spełnione / "
        "niespełnione / ze zbyt małą liczbą ocen.",
        "standards_none": "W katalogu nie ustalono standardów obsługi wydziałów.",
        "standard_target": "cel {target} przy co najmniej {min} ocenach dziennie",
        "status_met": "spełniony",
        "status_missed": "niespełniony",
        "status_too_few": "za mało ocen",
        "month": "miesiąc",
        "channel_gap_rule": "Różnica między kanałami jest wskazywana, gdy wyniki dwóch "
        "kanałów jednego wydziału, każdy z co najmniej {min} ocenami, różnią się o więcej niż "
        "{points} pkt.",
        "channel_gap": "{name}: {higher} {higher_score}, {lower} {lower_score} – różnica "
        "{points} pkt.",
        "channel_gap_none": "Żaden wydział nie ma takiej różnicy między kanałami.",
        "department_scope": "wydział",
        "site_scope": "placówka",
        "confirmed": "potwierdzone",
        "dismissed": "odrzucone",
        "open": "czekające",
        "counted": "policzone",
        "repeat": "powtórzenie",
        "burst": "seria naciśnięć",
        "duplicate": "duplikat",
        "clock_skew": "błędny zegar",
        "unknown_device": "nieznane urządzenie",
        "visitor_limit": "limit odwiedzającego",
        "misuse": "potwierdzone nadużycie",
        "weekdays": "pon,wt,śr,czw,pt,sob,ndz",
        "months": "sty,lut,mar,kwi,maj,cze,lip,sie,wrz,paź,lis,gru",
        "months_genitive": "stycznia,lutego,marca,kwietnia,maja,czerwca,lipca,sierpnia,"
        "września,października,listopada,grudnia",
        "hour_axis": "godzina",
    },
    "en": {
        "title": "Annual citizen service report {year}",
        "period": "Period: 1 January – 31 December {year}, local time ({tz})",
        "generated": "Generated {at}",
        "page": "Page",
        "of": "of",
        "summary": "The year in brief",
        "kpi_score": "city score (0–100)",
        "kpi_responses": "citizen responses",
        "kpi_change": "change on {year}",
        "kpi_alerts": "low-score alerts",
        "s_city": "City score in {year}: {score} out of 100; counted citizen responses: {n}.",
        "s_change": "In {prev} the score was {score} (responses: {n}); change: {change} points.",
        "s_no_previous": "No figures stored for {prev} to compare with.",
        "s_best": "Best-rated department: {name} – score {score} (responses: {n}).",
        "s_weakest": "Weakest department: {name} – score {score} (responses: {n}).",
        "s_alerts": "Low-score alerts: {opened}; resolved: {resolved}; median time to resolve: "
        "{median}; longest: {longest}.",
        "s_alerts_open": "Still open at the end of the period: {n}.",
        "s_no_alerts": "No low-score alerts in {year}.",
        "s_filtered": "The misuse filter set aside presses that were not honest feedback: "
        "{filtered} of {total} ({share}).",
        "s_reviews": "Misuse periods confirmed by reviewers: {confirmed} (presses excluded: "
        "{presses}); dismissed: {dismissed}; awaiting a decision: {open}.",
        "s_channels": "Channels: {parts}.",
        "departments": "Departments",
        "departments_chart": "Department scores in {year} (tick: {prev})",
        "departments_chart_alone": "Department scores in {year}",
        "monthly_chart": "City score month by month",
        "sites": "Sites",
        "sites_count": "Sites with responses in {year}: {n}. Ranked by the fair score (pulled "
        "toward the city mean by {k} responses, so that a site with a handful of responses "
        "cannot top or bottom the ranking by luck). The full ranking is in the annex.",
        "sites_too_few": "Too few sites ({n}) to list the best and the weakest apart; the full "
        "ranking is in the annex.",
        "best": "Best sites",
        "weakest": "Sites needing attention",
        "channels": "Channels",
        "channels_note": "Terminals at service desks and the widget on the city's web pages.",
        "time": "Time of day and week",
        "heatmap_title": "Score by weekday and hour",
        "heatmap_note": "Score by weekday and hour (local time). Grey cells: fewer than {min} "
        "responses.",
        "heatmap_too_few": "Too few responses for a map by weekday and hour (responses: {n}; "
        "hours of the week with responses: {cells}); the map needs at least {need} hours of the "
        "week with at least {min} responses each.",
        "employee": "Employee mood",
        "employee_note": "Employees' answers about their day, scored apart and never mixed "
        "with citizens' responses.",
        "employee_none": "No employee responses in {year}.",
        "filtered": "Filtered presses",
        "filtered_note": "Presses kept but left out of every score. Devices with the most "
        "filtered presses (up to {k}):",
        "reviews": "Misuse reviews (by the year a period starts)",
        "alerts": "Alerts",
        "alerts_note": "Time to resolve: from the alert's opening until the score recovered "
        "above the threshold.",
        "annex": "Annex: every site",
        "method": "Method",
        "method_text": "Score: the mean of the buttons weighted 0, 33.3, 66.7 and 100 (0–100), "
        "over counted citizen responses, without filtered presses and without confirmed misuse "
        "periods. Calendar year in {tz}. Every figure gives its number of responses; * marks "
        "fewer than {min} responses: read with care.",
        "too_few_mark": "* fewer than {min} responses: read with care.",
        "department": "department",
        "site": "site",
        "channel": "channel",
        "responses": "responses",
        "score": "score",
        "previous": "score {year}",
        "change": "change",
        "fair_score": "fair score",
        "rank": "rank",
        "positive": "satisfied",
        "share": "share",
        "device": "device",
        "judged": "presses",
        "filtered_n": "filtered",
        "verdict": "reason",
        "state": "decision",
        "periods": "periods",
        "presses": "presses",
        "opened_at": "opened",
        "resolved_at": "resolved",
        "to_resolve": "time to resolve",
        "scope": "scope",
        "name": "name",
        "threshold": "threshold",
        "still_open": "still open",
        "opened": "opened",
        "open_at_end": "open at the end of the period",
        "resolved": "resolved",
        "median_s": "median time to resolve",
        "longest_s": "longest time to resolve",
        "none": "none",
        "points": "pts",
        "terminal": "terminals",
        "web": "web pages",
        "standards": "Service standards",
        "standards_note": "A department's standard: a day's score at or above the target with "
        "at least the minimum number of responses that day. A month is met when every day with "
        "enough responses met the target. In each cell: the month's status, the month's score, "
        "and days met / missed / with too few responses.",
        "standards_none": "The catalogue sets no department service standards.",
        "standard_target": "target {target} with at least {min} responses a day",
        "status_met": "met",
        "status_missed": "missed",
        "status_too_few": "too few responses",
        "month": "month",
        "channel_gap_rule": "A gap between channels is named when two channels of one "
        "department, each with at least {min} responses, differ by more than {points} points.",
        "channel_gap": "{name}: {higher} {higher_score}, {lower} {lower_score} – a gap of "
        "{points} points.",
        "channel_gap_none": "No department has such a gap between its channels.",
        "department_scope": "department",
        "site_scope": "site",
        "confirmed": "confirmed",
        "dismissed": "dismissed",
        "open": "awaiting",
        "counted": "counted",
        "repeat": "repeat",
        "burst": "burst",
        "duplicate": "duplicate",
        "clock_skew": "clock skew",
        "unknown_device": "unknown device",
        "visitor_limit": "visitor limit",
        "misuse": "confirmed misuse",
        "weekdays": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
        "months": "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec",
        "months_genitive": "January,February,March,April,May,June,July,August,September,"
        "October,November,December",
        "hour_axis": "hour",
    },
}

_MINUS = "\u2212"
_NBSP = "\u00a0"


def integer(value: int, lang: ReportLang) -> str:
    """Thousands spaced (non-breaking) in Polish from 10 000 on, comma-grouped in English."""
    if lang == "en":
        return f"{value:,}"
    text = str(value)
    return text if abs(value) < 10_000 else f"{value:,}".replace(",", _NBSP)


def number(value: float | None, lang: ReportLang, digits: int = 1) -> str:
    """``digits`` decimals; a decimal comma in Polish. ``None`` (no responses) is a dash."""
    if value is None:
        return "–"
    text = f"{value:.{digits}f}".replace("-", _MINUS)
    return text.replace(".", ",") if lang == "pl" else text


def percent(part: int, whole: int, lang: ReportLang) -> str:
    if whole == 0:
        return "–"
    return number(100 * part / whole, lang) + ("\u00a0%" if lang == "pl" else "%")


def change_text(value: float | None, lang: ReportLang) -> str:
    """A signed change with one decimal (``+2,3``, ``−0,4``, ``±0,0``); a dash when unknown."""
    if value is None:
        return "–"
    if round(value, 1) == 0:
        return "±" + number(0.0, lang)
    return ("+" if value > 0 else "") + number(value, lang)


def local_date(moment: datetime, tz: str, lang: ReportLang) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    month = REPORT_TEXTS[lang]["months_genitive"].split(",")[local.month - 1]
    return f"{local.day}{_NBSP}{month}{_NBSP}{local.year}"


def local_datetime(moment: datetime, tz: str, lang: ReportLang) -> str:
    """E.g. ``4 grudnia 2026, 14:05`` / ``4 December 2026, 14:05`` in the city's time (joined
    by no-break spaces: a table cell never splits a date)."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local_date(moment, tz, lang)},{_NBSP}{local:%H:%M}"


def duration(seconds: float | None, lang: ReportLang) -> str:
    """``42 min``, ``3 h 05 min``, ``2 d 4 h`` (``dni``/``godz.`` read the same way in pl)."""
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}{_NBSP}min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}{_NBSP}h {minutes:02d}{_NBSP}min"
    days, hours = divmod(hours, 24)
    unit = "d" if lang == "en" else "dni"
    return f"{days}{_NBSP}{unit} {hours}{_NBSP}h"
