"""Static assets: the widget script, the kiosk page and the widget demo page.

Everything is served from this origin with a strict Content-Security-Policy: the pages make no
third-party request (no CDN, no fonts, no analytics).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

__all__ = ["STATIC_DIR", "router"]

STATIC_DIR = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)

_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'self'"
)


def _asset(name: str, media_type: str, *, page: bool = False) -> FileResponse:
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if page:
        headers["Content-Security-Policy"] = _PAGE_CSP
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=headers)


@router.get("/widget.js")
async def widget_js() -> FileResponse:
    # Embedded on city pages: any origin may load it, it only talks back to this API.
    response = _asset("widget.js", "text/javascript; charset=utf-8")
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@router.get("/kiosk.js")
async def kiosk_js() -> FileResponse:
    return _asset("kiosk.js", "text/javascript; charset=utf-8")


@router.get("/kiosk")
async def kiosk_page() -> FileResponse:
    return _asset("kiosk.html", "text/html; charset=utf-8", page=True)


@router.get("/demo/widget")
async def widget_demo() -> FileResponse:
    return _asset("demo.html", "text/html; charset=utf-8", page=True)
