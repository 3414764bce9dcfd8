"""Presses in: ``terminals`` (``POST /v1/presses``, health), ``web`` (widget and kiosk presses),
``keys`` (device keys), ``visitors`` (the daily visitor hash), ``ratelimit``, ``catalogue_source``
(which devices exist), ``models`` (request/response bodies), ``state`` (what the routes share)."""
