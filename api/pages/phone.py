"""``/m/{device}``: the page a desk's QR code opens on a phone (issue 24, "QR channel").

It is the web widget (``/widget.js``, the same faces, the same ``POST /v1/web/presses`` and so
the same anti-spam: visitor hash, per-visitor and per-IP rate limits) on a page sized for a
phone, in Polish or English. A QR device is a catalogue device of channel ``web``: the press
contract knows only ``terminal`` and ``web``, so the QR source is not in the press; it is the
device's (a city names its QR devices, e.g. ``qr-town-hall-1``, and filters on them).
"""

from __future__ import annotations

import html
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from civicpulse.api.pages.assets import PAGE_CSP, STATIC_DIR

__all__ = ["TEXTS", "router"]

router = APIRouter(include_in_schema=False)
Lang = Literal["pl", "en"]

TEXTS: dict[Lang, dict[str, str]] = {
    "pl": {
        "title": "Oceń obsługę",
        "heading": "Oceń swoją wizytę",
        "note": "Ocena jest anonimowa: nie zapisujemy, kim jesteś.",
        "other_name": "English",
    },
    "en": {
        "title": "Rate the service",
        "heading": "Rate your visit",
        "note": "Your rating is anonymous: we do not record who you are.",
        "other_name": "Polski",
    },
}


@router.get("/m/{device}")
def phone_page(
    request: Request, device: str, lang: Annotated[Lang, Query()] = "pl"
) -> HTMLResponse:
    catalogue = request.app.state.ingest.catalogue.get()
    if not any(d.channel == "web" for d in catalogue.entries_of(device)):
        return HTMLResponse("no such web device", status_code=404)
    values = {
        **TEXTS[lang],
        "lang": lang,
        "device": device,
        "other": "en" if lang == "pl" else "pl",
    }
    page = (STATIC_DIR / "phone.html").read_text(encoding="utf-8")
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP}
    return HTMLResponse(page, headers=headers)
