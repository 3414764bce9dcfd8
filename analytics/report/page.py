"""The report page's print styles and the formatting helpers its sections share.

:class:`Page` binds one report and one language: words (escaped), integers, scores with their
"too few responses" mark, tables (first columns text, the rest figures, right-aligned), and the
previous year's columns. The styles make the HTML print-first (see
:mod:`civicpulse.analytics.report.html`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from civicpulse.analytics.report.figures import MIN_RESPONSES, too_few
from civicpulse.analytics.report.texts import REPORT_TEXTS, ReportLang, change_text, integer, number

if TYPE_CHECKING:
    from civicpulse.analytics.report.gather import ReportData

__all__ = ["STYLE", "Page"]

STYLE = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm;
  @bottom-center { content: "@PAGE " counter(page) " @OF " counter(pages);
                   font: 8pt "DejaVu Sans", sans-serif; color: #666; } }
@page :first { @bottom-center { content: none; } }
body { font-family: "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 9.5pt;
       color: #222; line-height: 1.35; margin: 0; }
@media screen { body { max-width: 190mm; margin: 1em auto; } }
h1 { font-size: 24pt; margin: 0 0 6mm; color: #1f5f99; }
h2 { font-size: 15pt; color: #1f5f99; border-bottom: 1px solid #1f5f99; break-after: avoid; }
h3 { font-size: 11pt; margin: 5mm 0 2mm; break-after: avoid; }
section { break-before: page; }
.cover { padding-top: 55mm; }
.cover p { font-size: 11pt; }
.kpis { display: flex; gap: 4mm; margin: 8mm 0; break-inside: avoid; }
.kpi { flex: 1; border: 1px solid #c8d6e5; border-radius: 2mm; padding: 3mm; }
.kpi b { display: block; font-size: 18pt; color: #1f5f99; }
.kpi span { font-size: 8.5pt; color: #555; }
ul.facts li { margin: 0 0 2.5mm; }
table { border-collapse: collapse; margin: 2mm 0 3mm; width: 100%; font-size: 8.5pt; }
thead { display: table-header-group; }
tr, .keep, figure, svg, .note { break-inside: avoid; }
th { background: #eef3f8; text-align: left; }
td, th { border: 1px solid #ccc; padding: 1.2mm 2mm; vertical-align: top; }
td.n, th.n { text-align: right; white-space: nowrap; }
.note { color: #555; font-size: 8.5pt; }
figure { margin: 3mm 0; }
svg { max-width: 100%; height: auto; }
"""


class Page:
    """Formatting helpers bound to one language and one report."""

    def __init__(self, data: ReportData, lang: ReportLang) -> None:
        self.data, self.lang, self.t = data, lang, REPORT_TEXTS[lang]
        self.cur = data.current
        self.prev = data.previous
        self.prev_year = data.year - 1

    def w(self, key: str, **values: Any) -> str:
        """A text of the language, filled with already formatted values, HTML-escaped."""
        return html.escape(self.t[key].format(**values))

    def i(self, n: int) -> str:
        return integer(n, self.lang)

    def score(self, entry: dict[str, Any]) -> str:
        mark = "*" if entry["n"] and too_few(entry["n"]) else ""
        return number(entry["score"], self.lang) + mark

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], text_cols: int = 1
    ) -> str:
        """Cells arrive formatted; the first ``text_cols`` columns are text, the rest figures."""

        def cls(j: int) -> str:
            return "" if j < text_cols else ' class="n"'

        head = "".join(f"<th{cls(j)}>{html.escape(h)}</th>" for j, h in enumerate(headers))
        body = "".join(
            "<tr>"
            + "".join(f"<td{cls(j)}>{html.escape(c)}</td>" for j, c in enumerate(r))
            + "</tr>"
            for r in rows
        )
        keep = ' class="keep"' if len(rows) <= 25 else ""
        table = f"<table{keep}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        # :meth:`score` ends a score under MIN_RESPONSES with the mark; explain it once
        marked = any(c.endswith("*") for r in rows for c in r)
        return table + (
            f'<p class="note">{self.w("too_few_mark", min=MIN_RESPONSES)}</p>' if marked else ""
        )

    def yoy_headers(self) -> list[str]:
        if self.prev is None:
            return []
        return [self.t["previous"].format(year=self.prev_year), self.t["change"]]

    def yoy(self, entry: dict[str, Any]) -> list[str]:
        """Previous year's score (its count) and the change, when a previous year is stored."""
        if self.prev is None:
            return []
        before = entry.get("previous")
        if before is None:
            return ["–", "–"]
        shown = f"{self.score(before)} ({self.i(before['n'])})"
        return [shown, change_text(entry.get("change"), self.lang)]

    def scored_rows(self, entries: Sequence[dict[str, Any]]) -> list[list[str]]:
        return [[e["name"], self.i(e["n"]), self.score(e), *self.yoy(e)] for e in entries]
