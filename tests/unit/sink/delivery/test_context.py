"""Names and the worst site come from the catalogue and the site scores of the alert's window."""

from __future__ import annotations

from datetime import timedelta

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.sink.delivery.context import SiteScore, alert_context, department_url

from .alerts import AT, alert

CATALOGUE = Catalogue.model_validate(
    {
        "departments": [
            {"department_id": "d-civil", "name": "Civil Affairs"},
            {"department_id": "d-other", "name": "Other"},
        ],
        "sites": [
            {"site_id": "s-1", "department_id": "d-civil", "name": "Town Hall"},
            {"site_id": "s-2", "department_id": "d-civil", "name": "Annex"},
            {"site_id": "s-3", "department_id": "d-other", "name": "Elsewhere"},
        ],
    }
)


def test_worst_site_is_the_lowest_of_the_department_in_the_same_window() -> None:
    scores = {
        "s-1": SiteScore(AT, 40.0, 5),
        "s-2": SiteScore(AT, 20.0, 3),
        "s-3": SiteScore(AT, 1.0, 9),  # another department
    }
    ctx = alert_context(alert(), CATALOGUE, scores, public_url="http://c/", timezone="UTC",
                        lang="en")  # fmt: skip
    assert ctx.department_name == "Civil Affairs"
    assert ctx.worst_site is not None and ctx.worst_site.name == "Annex"
    assert ctx.live_url == "http://c/live/departments/d-civil?lang=en"
    stale = {"s-2": SiteScore(AT - timedelta(minutes=1), 20.0, 3)}
    assert alert_context(alert(), CATALOGUE, stale, public_url="http://c", timezone="UTC",
                         lang="pl").worst_site is None  # fmt: skip


def test_site_and_device_names() -> None:
    site = alert_context(alert(scope="site", scope_id="s-1"), CATALOGUE, {},
                         public_url="http://c", timezone="UTC", lang="pl")  # fmt: skip
    assert site.scope_name == "Town Hall" and site.worst_site is None
    device = alert_context(
        alert(kind="silent_device", scope="device", scope_id="t-9", site_id="s-2", n=0),
        CATALOGUE, {}, public_url="http://c", timezone="UTC", lang="pl",
    )  # fmt: skip
    assert device.scope_name == "t-9 (Annex)"
    unknown = alert_context(alert(department_id="d-new", scope_id="d-new"), CATALOGUE, {},
                            public_url="http://c", timezone="UTC", lang="pl")  # fmt: skip
    assert unknown.department_name == "d-new"


def test_department_url_quotes_the_id() -> None:
    assert department_url("http://c/", "a b", "pl") == "http://c/live/departments/a%20b?lang=pl"
