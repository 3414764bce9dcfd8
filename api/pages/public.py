"""Public results (opt-in, ``CIVICPULSE_PUBLIC_RESULTS=true``): ``/public`` and
``/public/{department}``, no token: the index shows every department's last complete month, a
department's page its last 12 months (this one so far included) (:mod:`.public_page`).

The figures are the dashboards' and the report's (``DEPARTMENT_MONTHLY``: counted citizen
presses, confirmed misuse left out) and the service standards' month items
(:func:`civicpulse.analytics.standards_read.standards_items`). Pages are cached on the server for
``CIVICPULSE_PUBLIC_CACHE_SECONDS`` (one computation per page and language per period, however
many people read it) and told to clients with the same ``Cache-Control: public, max-age``.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from civicpulse.api.pages.public_page import (
    Lang,
    PublicMonth,
    months_of,
    render_department,
    render_index,
)
from civicpulse.api.query.context import current_catalogue, query_settings
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.sink.exceptions import SinkError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["PageCache", "router"]

router = APIRouter(include_in_schema=False)
MONTHS_SHOWN = 12


class PageCache:
    """Rendered pages by key, each kept ``ttl`` seconds (thread-safe: handlers run in a pool)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._pages: dict[tuple[str, ...], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], now: float) -> str | None:
        with self._lock:
            found = self._pages.get(key)
        return found[1] if found is not None and found[0] > now else None

    def put(self, key: tuple[str, ...], page: str, now: float) -> None:
        with self._lock:
            self._pages[key] = (now + self.ttl, page)


def first_month(today: date, months: int = MONTHS_SHOWN) -> date:
    """The first day of the month ``months - 1`` months before ``today``'s."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def department_months(
    client: Client, catalogue: Catalogue, *, tz: str, today: date
) -> dict[str, list[PublicMonth]]:
    from civicpulse.analytics.api_queries import rollup_source
    from civicpulse.analytics.queries import DEPARTMENT_MONTHLY
    from civicpulse.analytics.standards_read import local_midnight, standards_items

    first, end = first_month(today), today + timedelta(days=1)
    start, stop = local_midnight(first, tz), local_midnight(end, tz)
    params = {"tz": tz, "kind": "citizen", "department": "", "site": "", "start": start,
              "end": stop}  # fmt: skip
    rows = client.query(DEPARTMENT_MONTHLY[rollup_source(tz, start, stop)], parameters=params)
    monthly = [
        (str(dep), f"{month:%Y-%m}", int(n1), int(n2), int(n3), int(n4))
        for dep, month, n1, n2, n3, n4 in rows.result_rows
    ]
    items = standards_items(client, catalogue, tz=tz, first=first, end=end, granularity="month")
    return months_of(monthly, items)


def _serve(request: Request, lang: Lang, department: str | None) -> HTMLResponse:
    from civicpulse.sink.clickhouse import create_client

    settings = query_settings(request)
    if not settings.public_results:
        return HTMLResponse("not published (CIVICPULSE_PUBLIC_RESULTS)", status_code=404)
    catalogue = current_catalogue(request)
    names = {d.department_id: d.name for d in catalogue.departments}
    if department is not None and department not in names:
        return HTMLResponse("no such department", status_code=404)
    cache: PageCache | None = getattr(request.app.state, "public_cache", None)
    if cache is None:
        cache = request.app.state.public_cache = PageCache(settings.public_cache_seconds)
    key, now = (lang, department or ""), time.monotonic()
    page = cache.get(key, now)
    if page is None:
        today = datetime.now(ZoneInfo(settings.city_timezone)).date()
        try:
            figures = department_months(
                create_client(settings), catalogue, tz=settings.city_timezone, today=today
            )
        except SinkError:
            return HTMLResponse("results are not available right now", status_code=503)
        if department is None:
            page = render_index(figures, catalogue, lang, f"{first_month(today, 2):%Y-%m}")
        else:
            page = render_department(
                figures.get(department, []), names[department], department, lang
            )
        cache.put(key, page, now)
    headers = {
        "Cache-Control": f"public, max-age={settings.public_cache_seconds}",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(page, headers=headers)


LangQuery = Annotated[Lang, Query(description="pl or en")]


@router.get("/public")
def public_index(request: Request, lang: LangQuery = "pl") -> HTMLResponse:
    return _serve(request, lang, None)


@router.get("/public/{department}")
def public_department(request: Request, department: str, lang: LangQuery = "pl") -> HTMLResponse:
    return _serve(request, lang, department)
