"""The pages people open: ``live`` and ``live_summary`` (the live wall), ``assets`` (widget script,
kiosk page, shared faces), ``phone`` (``/m/{device}``), ``public`` and ``public_page`` (public
results), ``poster`` (the QR desk poster), ``docs`` (Swagger/ReDoc offline), ``texts`` (pl/en),
``demo_links`` (a running demo's pages); their files are in ``static/``."""
