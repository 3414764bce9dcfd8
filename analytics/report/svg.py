"""The report's three charts as inline SVG drawn in Python (no plotting dependency): score bars
with the previous year's mark, a monthly line against the previous year, and a weekday x hour
heat map. Vector graphics print crisply in the PDF and carry their text (names, figures) as
text. Labels arrive formatted by the caller; every one is escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "LinePoint", "bars", "heat_colour", "heatmap", "monthly_line"]

_FONT = 'font-family="DejaVu Sans, Liberation Sans, sans-serif"'
_INK, _GRID, _MUTED = "#222", "#ddd", "#888"
_THIS_YEAR, _LAST_YEAR = "#1f5f99", "#9a9a9a"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    shown: str  # the value as printed beside the bar (with its count)
    previous: float | None = None


@dataclass(frozen=True)
class LinePoint:
    value: float | None
    previous: float | None
    faint: bool  # too few responses: drawn hollow


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", **kw: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in kw.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {_FONT}'
        f"{extra}>{html.escape(text)}</text>"
    )


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">'
        + "".join(body)
        + "</svg>"
    )


def bars(items: Sequence[Bar], title: str, width: int = 680) -> str:
    """Horizontal 0-100 bars, one per item, the previous year's value as a dark tick."""
    label_w, value_w, row = 250, 120, 24
    plot = width - label_w - value_w
    height = 24 + row * len(items) + 18
    body = [_text(0, 14, title, 12, font_weight="bold")]
    for tick in range(0, 101, 25):
        x = label_w + plot * tick / 100
        body.append(
            f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{height - 16}" stroke="{_GRID}"/>'
        )
        body.append(_text(x, height - 4, str(tick), 9, "middle", fill=_MUTED))
    for i, item in enumerate(items):
        y = 24 + i * row
        body.append(_text(label_w - 6, y + 15, item.label, 11, "end"))
        if item.value is not None:
            w = plot * item.value / 100
            body.append(
                f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
                f'fill="{_THIS_YEAR}"/>'
            )
        if item.previous is not None:
            x = label_w + plot * item.previous / 100
            body.append(
                f'<rect x="{x - 1.5:.1f}" y="{y + 1}" width="3" height="{row - 2}" fill="{_INK}"/>'
            )
        body.append(_text(label_w + plot + 6, y + 15, item.shown, 10))
    return _svg(width, height, body, title)


def monthly_line(
    points: Sequence[LinePoint], months: Sequence[str], legend: tuple[str, str], title: str
) -> str:
    """Twelve months on 0-100: this year solid (hollow dots: too few), the previous dashed."""
    width, height, left, top, bottom = 680, 230, 36, 24, 34
    plot_w, plot_h = width - left - 10, height - top - bottom

    def xy(i: int, value: float) -> tuple[float, float]:
        return left + plot_w * (i + 0.5) / 12, top + plot_h * (1 - value / 100)

    body = [_text(0, 14, title, 12, font_weight="bold")]
    for tick in range(0, 101, 25):
        _, y = xy(0, tick)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="{_GRID}"/>'
        )
        body.append(_text(left - 4, y + 3, str(tick), 9, "end", fill=_MUTED))
    for i, month in enumerate(months):
        body.append(_text(xy(i, 0)[0], height - bottom + 14, month, 10, "middle"))
    for attr, colour, dash in (
        ("previous", _LAST_YEAR, ' stroke-dasharray="5 4"'),
        ("value", _THIS_YEAR, ""),
    ):
        run: list[str] = []
        for i, point in enumerate([*points, LinePoint(None, None, False)]):
            value = getattr(point, attr)
            if value is None:
                if len(run) > 1:
                    body.append(
                        f'<polyline points="{" ".join(run)}" fill="none" '
                        f'stroke="{colour}" stroke-width="2"{dash}/>'
                    )
                run = []
                continue
            x, y = xy(i, value)
            run.append(f"{x:.1f},{y:.1f}")
            if attr == "value":
                fill = "#fff" if point.faint else colour
                body.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{fill}" '
                    f'stroke="{colour}" stroke-width="1.5"/>'
                )
    for j, (label, colour) in enumerate(zip(legend, (_THIS_YEAR, _LAST_YEAR), strict=True)):
        x = left + 10 + j * 150
        dash = "" if j == 0 else ' stroke-dasharray="5 4"'
        body.append(
            f'<line x1="{x}" y1="{height - 8}" x2="{x + 24}" y2="{height - 8}" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
        )
        body.append(_text(x + 30, height - 4, label, 10))
    return _svg(width, height, body, title)


def heat_colour(score: float) -> str:
    """Red (0) through amber (50) to green (100)."""
    stops = ((0.0, (200, 40, 40)), (50.0, (240, 190, 60)), (100.0, (40, 150, 70)))
    s = min(max(score, 0.0), 100.0)
    (a, ca), (b, cb) = (stops[0], stops[1]) if s <= 50 else (stops[1], stops[2])
    t = (s - a) / (b - a)
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(ca, cb, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"


def heatmap(
    cells: dict[tuple[int, int], tuple[float | None, int]],
    weekdays: Sequence[str],
    hour_label: str,
    min_cell: int,
    title: str,
) -> str:
    """7 rows (Mon..Sun) x 24 hours; ``cells[(weekday, hour)] = (score, n)``; a cell with fewer
    than ``min_cell`` responses is grey, an empty one white."""
    left, top, cw, ch = 40, 24, 26, 22
    width, height = left + 24 * cw + 4, top + 7 * ch + 56
    body = [_text(0, 14, title, 12, font_weight="bold")]
    for day in range(7):
        y = top + day * ch
        body.append(_text(left - 6, y + ch / 2 + 4, weekdays[day], 10, "end"))
        for hour in range(24):
            score, n = cells.get((day + 1, hour), (None, 0))
            x = left + hour * cw
            fill = (
                "#fff"
                if n == 0
                else "#d8d8d8"
                if n < min_cell or score is None
                else heat_colour(score)
            )
            body.append(
                f'<rect x="{x}" y="{y}" width="{cw - 1}" height="{ch - 1}" '
                f'fill="{fill}" stroke="#eee"/>'
            )
            if n >= min_cell and score is not None:
                body.append(_text(x + cw / 2, y + ch / 2 + 3, f"{score:.0f}", 8, "middle"))
    for hour in range(0, 24, 2):
        body.append(_text(left + hour * cw + cw / 2, top + 7 * ch + 12, f"{hour:02d}", 9, "middle"))
    body.append(_text(left + 12 * cw, top + 7 * ch + 26, hour_label, 10, "middle"))
    for k in range(11):
        x = left + k * 22
        body.append(
            f'<rect x="{x}" y="{height - 18}" width="22" height="10" fill="{heat_colour(k * 10)}"/>'
        )
    body.append(_text(left - 4, height - 9, "0", 9, "end"))
    body.append(_text(left + 11 * 22 + 4, height - 9, "100", 9))
    return _svg(width, height, body, title)
