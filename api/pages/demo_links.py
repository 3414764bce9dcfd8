"""The pages of a running ``civicpulse demo``, with the secrets that make them open at once.

The demo issues a query-API token (for the live wall and the review page) and a key for its
kiosk device; the links it prints carry them in the address's fragment (``#token=``,
``#key=``: a fragment never reaches a server or its log, and the pages move it to browser
storage). The landing page ``/`` of the
demo's own process shows the same links (:func:`register`); any other API process (``civicpulse
up``, ``api serve``) never registers any, so its ``/`` holds no secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["LABELS", "DemoLinks", "register", "registered"]

#: what each page is, in the order a newcomer opens them
LABELS = {
    "home": "home",
    "live": "live wall",
    "widget": "widget demo",
    "kiosk": "kiosk",
    "review": "misuse review",
    "docs": "API docs",
}


def _q(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class DemoLinks:
    token: str | None
    web_device: str | None
    kiosk_device: str
    kiosk_key: str

    def paths(self, lang: str) -> dict[str, str]:
        """Every page of :data:`LABELS` as a path (with query and fragment) on the API."""
        token = f"#token={_q(self.token)}" if self.token else ""
        widget = (
            f"/demo/widget?device={_q(self.web_device)}&lang={lang}"
            if self.web_device
            else f"/demo/widget?lang={lang}"
        )
        return {
            "home": f"/?lang={lang}",
            "live": f"/live?lang={lang}{token}",
            "widget": widget,
            "kiosk": f"/kiosk?device={_q(self.kiosk_device)}&lang={lang}#key={_q(self.kiosk_key)}",
            "review": f"/live/review?lang={lang}{token}",
            "docs": "/docs",
        }

    def lines(self, base_url: str, lang: str) -> list[str]:
        """One line a page: what it is, then its whole address (printed plain: never cut)."""
        width = max(len(label) for label in LABELS.values()) + 1
        paths = self.paths(lang)
        return [f"  {LABELS[k] + ':':<{width}} {base_url}{paths[k]}" for k in LABELS]


_registered: DemoLinks | None = None


def register(links: DemoLinks | None) -> None:
    """Show ``links`` on this process's landing page (None: the plain page again)."""
    global _registered
    _registered = links


def registered() -> DemoLinks | None:
    return _registered
