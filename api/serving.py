"""How uvicorn serves the API: whom it believes about client addresses, how long it waits.

uvicorn believes ``X-Forwarded-For`` / ``X-Forwarded-Proto`` from ``127.0.0.1`` unless told
otherwise, and the API binds ``127.0.0.1``: any local client (or a proxy that passes the header
through) could name any address and so walk around the per-IP limits. Here forwarded headers
are believed only from ``CIVICPULSE_TRUSTED_PROXIES``; empty (the default) turns them off and the
client address is the TCP peer. Every place that starts uvicorn (``civicpulse api serve``,
``civicpulse up``, the tests) takes its options from :func:`uvicorn_options`.
"""

from __future__ import annotations

from typing import Any

from civicpulse.schemas.settings import Settings

__all__ = ["trusted_proxies", "uvicorn_options"]


def trusted_proxies(settings: Settings) -> list[str]:
    """The configured proxy addresses or networks (comma-separated in the setting)."""
    return [item.strip() for item in settings.trusted_proxies.split(",") if item.strip()]


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run`` besides app, host and port."""
    proxies = trusted_proxies(settings)
    return {
        "proxy_headers": bool(proxies),
        # Never None: uvicorn would then read FORWARDED_ALLOW_IPS or default to 127.0.0.1.
        "forwarded_allow_ips": proxies,
        # The access log would write client addresses, which this API never stores.
        "access_log": False,
        # An idle keep-alive connection is closed after 5 s; a slow body is cut off by the
        # edge middleware's read deadline (CIVICPULSE_API_BODY_SECONDS).
        "timeout_keep_alive": 5,
        "server_header": False,
    }
