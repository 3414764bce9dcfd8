"""The desk poster of the QR channel (``civicpulse qr DEVICE OUT.pdf|svg``): the question in
Polish and English, the four faces, and a QR code (segno) that opens ``<public url>/m/{device}``.

The poster is one A4 SVG inside an HTML page. The faces come from ``static/faces.js`` (their one
definition): the page runs it, so Chromium draws them; a PDF is Chromium's print of the page, an
SVG the poster element of the DOM after the script ran (``--dump-dom``).
"""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from civicpulse.api.pages.texts import DEFAULT_QUESTION
from civicpulse.schemas.catalogue import Catalogue

__all__ = [
    "PosterError",
    "phone_url",
    "poster_html",
    "qr_command",
    "question_texts",
    "write_poster",
]


# api/pages/static (pages.STATIC_DIR; not imported from there: `civicpulse --help` loads no FastAPI)
STATIC_DIR = Path(__file__).parent / "static"


class PosterError(Exception):
    """The poster cannot be made (unknown device, not a web device, no Chromium)."""


def phone_url(public_url: str, device: str) -> str:
    return f"{public_url.rstrip('/')}/m/{device}"


def question_texts(catalogue: Catalogue, device: str, at: datetime) -> tuple[str, str]:
    """(pl, en) text of the question the web device asks at ``at`` (the default one without)."""
    entry = catalogue.device_at(device, at)
    if entry is None or entry.channel != "web":
        raise PosterError(f"{device}: no active web device of that id in the catalogue")
    asked = entry.question_at(at)
    for question in catalogue.questions:
        if question.question_id == asked:
            return question.text.pl, question.text.en
    return DEFAULT_QUESTION["pl"], DEFAULT_QUESTION["en"]


def _qr_svg(url: str, x: float, y: float, size: float) -> str:
    import segno

    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True)
    return svg.replace("<svg ", f'<svg x="{x}" y="{y}" width="{size}" height="{size}" ', 1)


def _fit(line: str, size: float, width: float = 180.0) -> str:
    """A font size (mm) at which ``line`` fits ``width`` mm (DejaVu Sans: ~0.6 em a letter)."""
    return f"{min(size, width / (0.6 * max(len(line), 1))):.2f}"


def poster_html(question_pl: str, question_en: str, url: str) -> str:
    """The poster page: an A4 SVG (mm units); faces are drawn by faces.js when it loads."""
    e = html.escape
    faces = "".join(
        f'<svg class="face-slot" data-button="{b}" x="{21 + (b - 1) * 45}" y="78" '
        'width="33" height="33"></svg>'
        for b in range(1, 5)
    )
    text = 'font-family="DejaVu Sans, sans-serif" text-anchor="middle" fill="#1a1a1a"'
    svg = (
        '<svg id="poster" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 210 297" '
        'width="210mm" height="297mm"><rect width="210" height="297" fill="#fff"/>'
        f'<text x="105" y="45" font-size="{_fit(question_pl, 11)}" font-weight="bold" {text}>'
        f"{e(question_pl)}</text>"
        f'<text x="105" y="60" font-size="{_fit(question_en, 8)}" {text}>{e(question_en)}</text>'
        f"{faces}{_qr_svg(url, 55, 130, 100)}"
        f'<text x="105" y="245" font-size="9" font-weight="bold" {text}>'
        "Zeskanuj telefonem i oceń</text>"
        f'<text x="105" y="255" font-size="7" {text}>Scan with your phone to rate</text>'
        f'<text x="105" y="266" font-size="5" {text}>{e(url)}</text></svg>'
    )
    faces_js = (STATIC_DIR / "faces.js").read_text(encoding="utf-8")
    draw = (
        "document.querySelectorAll('.face-slot').forEach(function (slot) {"
        "var face = new DOMParser().parseFromString("
        "civicpulseFaces.svg(slot.getAttribute('data-button')), 'image/svg+xml').documentElement;"
        "['x', 'y', 'width', 'height'].forEach(function (a) {"
        "face.setAttribute(a, slot.getAttribute(a)); });"
        "slot.replaceWith(document.importNode(face, true)); });"
    )
    return (
        '<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>civicpulse QR</title>'
        "<style>@page{size:A4;margin:0}html,body{margin:0}svg#poster{display:block}</style>"
        f"</head><body>{svg}<script>{faces_js}\n{draw}</script></body></html>"
    )


def _chromium(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    from civicpulse.analytics.report.pdf import find_chromium

    chromium = find_chromium()
    if chromium is None:
        raise PosterError("the poster is drawn by Chromium: sudo apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="civicpulse-qr-") as profile:
        return subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip


def write_poster(page: str, out: Path, timeout: float = 120.0) -> None:
    """``out`` ending in .pdf: Chromium's print of the page; .svg: the drawn poster element."""
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".svg"):
        raise PosterError(f"{out}: write a .pdf or an .svg")
    with tempfile.TemporaryDirectory(prefix="civicpulse-poster-") as tmp:
        source = Path(tmp) / "poster.html"
        source.write_text(page, encoding="utf-8")
        if suffix == ".pdf":
            out.unlink(missing_ok=True)
            done = _chromium(
                ["--no-pdf-header-footer", f"--print-to-pdf={out.resolve()}", source.as_uri()],
                timeout,
            )
            if done.returncode != 0 or not out.exists():
                raise PosterError(f"Chromium did not print {out}: {done.stderr[-400:]}")
            return
        done = _chromium(["--dump-dom", source.as_uri()], timeout)
    # the poster element ends where the script that drew its faces starts
    found = re.search(r'<svg id="poster".*?</svg>(?=<script>)', done.stdout, re.S)
    if done.returncode != 0 or found is None or 'class="face-slot"' in found.group(0):
        raise PosterError(f"Chromium did not draw the poster: {done.stderr[-400:]}")
    out.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + found.group(0), encoding="utf-8")


def qr_command(
    device: Annotated[str, typer.Argument(help="a web device of the catalogue (its QR id)")],
    out: Annotated[Path, typer.Argument(help="the poster: OUT.pdf (A4) or OUT.svg")],
    catalogue_file: Annotated[
        Path | None,
        typer.Option(
            "--catalogue",
            help="catalogue JSON; default: CIVICPULSE_CATALOGUE_FILE, else the catalogue topic",
        ),
    ] = None,
) -> None:
    """Print a desk poster: the device's question, the four faces and a QR code that opens
    ``CIVICPULSE_PUBLIC_URL/m/DEVICE`` on a phone (docs/pages.md)."""
    from datetime import UTC

    from rich.console import Console
    from rich.markup import escape

    from civicpulse.analytics.report.pdf import find_catalogue
    from civicpulse.schemas.settings import Settings

    console = Console()
    settings = Settings()
    try:
        catalogue = find_catalogue(settings, catalogue_file).catalogue or Catalogue()
        pl, en = question_texts(catalogue, device, datetime.now(UTC))
        url = phone_url(settings.public_url, device)
        write_poster(poster_html(pl, en, url), out)
    except PosterError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    console.print(f"{out}: the QR code opens {escape(url)}")
