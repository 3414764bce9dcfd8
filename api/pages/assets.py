"""Static assets: the widget script, the kiosk page, the widget demo page and the shared faces.

The four faces are defined once, in ``static/faces.js``: the kiosk and the live pages load it as
``/faces.js``; the widget, one self-contained script embedded cross-origin, gets it pasted in at
its ``/*! FACES_JS */`` marker when served (:func:`widget_source`).

Everything is served from this origin with a strict Content-Security-Policy: the pages make no
third-party request (no CDN, no fonts, no analytics).
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

__all__ = ["PAGE_CSP", "STATIC_DIR", "router", "widget_source"]

FACES_MARKER = "/*! FACES_JS */"
_JS = "text/javascript; charset=utf-8"
_NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

STATIC_DIR = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'self'"
)


def _asset(name: str, media_type: str, *, page: bool = False) -> FileResponse:
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if page:
        headers["Content-Security-Policy"] = PAGE_CSP
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=headers)


@cache
def widget_source() -> str:
    """widget.js with faces.js pasted in at its marker: one script, one definition of the faces."""
    widget = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    if widget.count(FACES_MARKER) != 1:
        raise RuntimeError(f"widget.js must hold the marker {FACES_MARKER} exactly once")
    faces = (STATIC_DIR / "faces.js").read_text(encoding="utf-8")
    return widget.replace(FACES_MARKER, faces.strip())


@router.get("/widget.js")
async def widget_js() -> Response:
    # Embedded on city pages: any origin may load it, it only talks back to this API.
    return Response(
        widget_source(),
        media_type=_JS,
        headers={
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@router.get("/faces.js")
async def faces_js() -> FileResponse:
    return _asset("faces.js", _JS)


@router.get("/kiosk.js")
async def kiosk_js() -> FileResponse:
    return _asset("kiosk.js", _JS)


@router.get("/kiosk")
async def kiosk_page() -> FileResponse:
    return _asset("kiosk.html", "text/html; charset=utf-8", page=True)


@router.get("/demo/widget")
def widget_demo(request: Request, device: str = "", lang: str = "pl") -> HTMLResponse:
    """The widget on a page of its own: ``?device=`` (else the catalogue's first web device)."""
    if not device:
        catalogue = request.app.state.ingest.catalogue.get()
        web = sorted(d.device_id for d in catalogue.devices if d.channel == "web")
        device = web[0] if web else "web-DEVICE-ID"
    values = {
        "device": device[:200],
        "lang": "en" if lang == "en" else "pl",
        "origin": str(request.base_url).rstrip("/"),
    }
    page = (STATIC_DIR / "demo.html").read_text(encoding="utf-8")
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return HTMLResponse(page, headers={**_NO_CACHE, "Content-Security-Policy": PAGE_CSP})
