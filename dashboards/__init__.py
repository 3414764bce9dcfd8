"""Grafana dashboards as code for the ClickHouse data source plugin.

``specs`` says what each board shows, ``sql`` holds every panel's SQL, ``render`` builds the JSON
with grafana-foundation-sdk, ``build``/``push`` write provisioning files and upload to Grafana,
``macros`` expands the plugin's macros so tests run every panel on the real engine.
"""
