"""The landing page, the live wall and its one data endpoint.

* ``GET /`` lists everything a newcomer can open; ``GET /live`` is the city wall;
  ``GET /live/departments/{id}`` one department and its sites; ``GET /live/review`` the
  reviewers' view of suspect periods (:mod:`civicpulse.api.query.review`). Pages are static
  HTML from ``static/`` with the texts of :data:`civicpulse.api.pages.texts.PAGES` pasted in
  for ``?lang=pl|en``; they need no token themselves (the data does).
* ``GET /v1/live/summary`` (bearer token) answers what the wall shows in one request
  (:mod:`civicpulse.api.pages.live_summary`); alerts reach the wall in between from
  ``/v1/alerts/stream``. ``at`` replays the wall at a past moment (demos, tests).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from civicpulse.api.ingest.models import ProblemDetail
from civicpulse.api.pages import demo_links
from civicpulse.api.pages.assets import PAGE_CSP, STATIC_DIR
from civicpulse.api.pages.live_summary import LiveSummary, fetch_summary
from civicpulse.api.pages.texts import PAGES, Lang
from civicpulse.api.query.auth import require_token
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.settings import Settings
from civicpulse.sink.exceptions import SinkError

__all__ = ["pages_router", "router"]

router = APIRouter(prefix="/v1", tags=["queries"], dependencies=[Depends(require_token)])
pages_router = APIRouter(include_in_schema=False)

LangParam = Annotated[str, Query(pattern="^(pl|en)$")]
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.ingest.catalogue.get()
    return catalogue


@router.get(
    "/live/summary",
    response_model=LiveSummary,
    responses={
        401: {"model": ProblemDetail, "description": "no or unknown bearer token"},
        404: {"model": ProblemDetail, "description": "no such department in the catalogue"},
        422: {"model": ProblemDetail, "description": "at without a zone or out of range"},
        503: {"model": ProblemDetail, "description": "ClickHouse is not reachable or not migrated"},
    },
)
def live_summary(
    request: Request,
    at: Annotated[
        datetime | None,
        Query(description="the moment to show (ISO-8601 with a zone); default now"),
    ] = None,
    department: Annotated[
        str | None,
        Query(max_length=200, description="one department: its sites instead of departments"),
    ] = None,
) -> Any:
    """Per department (or per site of ``department``): current rolling-15-min citizen score, n,
    presses in the last minute and 15 minutes, a 6-hour sparkline; open alerts; the total."""
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from civicpulse.sink.clickhouse import create_client

    if at is not None and at.tzinfo is None:
        return JSONResponse({"detail": "at needs a time zone, e.g. 2026-03-29T12:00:00Z"}, 422)
    if at is not None and not _EARLIEST <= at < _LATEST:
        # the stored columns are DateTime64 from 1970 on; a far moment is a caller's mistake
        return JSONResponse({"detail": "at must lie between 1970-01-02 and 2100-01-01"}, 422)
    catalogue = _catalogue(request)
    if department and department not in {d.department_id for d in catalogue.departments}:
        return JSONResponse({"detail": f"no department {department!r} in the catalogue"}, 404)
    settings: Settings = request.app.state.query_settings
    try:
        client = create_client(settings)
        moment = at or datetime.now(UTC)
        return fetch_summary(client, catalogue, moment, department, tz=settings.city_timezone)
    except (SinkError, ClickHouseError) as exc:
        return JSONResponse({"detail": f"ClickHouse: {exc}"}, 503)


def _render(name: str, lang: Lang, links_html: str = "", **values: str) -> HTMLResponse:
    """A page of static/ with ``{{t:key}}`` texts and ``{{name}}`` values (escaped) filled in;
    ``{{links_html}}`` takes markup the caller built with escaped parts."""
    page = (STATIC_DIR / name).read_text(encoding="utf-8")
    texts = PAGES[lang]
    for key, text in texts.items():
        page = page.replace("{{t:" + key + "}}", html.escape(text))
    values |= {"lang": lang, "other_lang": "en" if lang == "pl" else "pl"}
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    page = page.replace("{{links_html}}", links_html)
    texts_json = json.dumps(texts, ensure_ascii=False).replace("</", "<\\/")
    page = page.replace("{{texts_json}}", texts_json)
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": PAGE_CSP,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _lang(value: str) -> Lang:
    return "en" if value == "en" else "pl"


#: index.html's link -> the demo's page it opens while a demo runs
_DEMO_PAGES = {"live": "live", "review": "review", "demo": "widget", "kiosk": "kiosk"}


@pages_router.get("/")
def landing(request: Request, lang: LangParam = "pl") -> HTMLResponse:
    catalogue = _catalogue(request)
    departments = sorted(catalogue.departments, key=lambda d: d.name)
    web = sorted(d.device_id for d in catalogue.devices if d.channel == "web")
    hrefs = {
        "live_href": f"/live?lang={lang}",
        "review_href": f"/live/review?lang={lang}",
        "demo_href": f"/demo/widget?device={quote(web[0])}&lang={lang}" if web else "/demo/widget",
        "kiosk_href": "/kiosk",
    }
    demo_run = demo_links.registered()
    if demo_run is not None:  # the demo's own process: its links, with their token and key
        paths = demo_run.paths(lang)
        hrefs |= {f"{k}_href": paths[p] for k, p in _DEMO_PAGES.items()}
    links = "".join(
        f'<li><a href="/live/departments/{html.escape(d.department_id)}?lang={lang}">'
        f"{html.escape(d.name)}</a></li>"
        for d in departments
    )
    return _render("index.html", _lang(lang), links_html=links or "<li>—</li>", **hrefs)


@pages_router.get("/live")
def live_wall(lang: LangParam = "pl") -> HTMLResponse:
    return _render("live.html", _lang(lang), department="")


@pages_router.get("/live/departments/{department_id}")
def live_department(department_id: str, lang: LangParam = "pl") -> HTMLResponse:
    return _render("live.html", _lang(lang), department=department_id)


@pages_router.get("/live/review")
def review_page(request: Request, lang: LangParam = "pl") -> HTMLResponse:
    """Suspect periods with Confirm / Dismiss; times in the city's zone, sites by their names."""
    settings: Settings = request.app.state.query_settings
    sites = {s.site_id: s.name for s in _catalogue(request).sites}
    return _render(
        "review.html",
        _lang(lang),
        timezone=settings.city_timezone,
        sites_json=json.dumps(sites, ensure_ascii=False),
    )


def _static(name: str, media_type: str) -> Response:
    return Response(
        (STATIC_DIR / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@pages_router.get("/live.js")
def live_js() -> Response:
    return _static("live.js", "text/javascript; charset=utf-8")


@pages_router.get("/review.js")
def review_js() -> Response:
    return _static("review.js", "text/javascript; charset=utf-8")


@pages_router.get("/live.css")
def live_css() -> Response:
    return _static("live.css", "text/css; charset=utf-8")
