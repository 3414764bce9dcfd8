"""Commands of the API stage: ``civicpulse api serve`` and ``civicpulse devices ...``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

__all__ = ["api_app", "devices_app"]

console = Console()
api_app = typer.Typer(help="The ingest API (terminals, widget, kiosk).", no_args_is_help=True)
devices_app = typer.Typer(help="Device keys for terminals and kiosks.", no_args_is_help=True)


@api_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    sql_port: Annotated[
        int | None,
        typer.Option(help="port of the SQL endpoint (default CIVICPULSE_SQL_PORT, 8123)"),
    ] = None,
) -> None:
    """Serve the ingest API with uvicorn (access log off: it would record client IPs).

    Forwarded headers are believed only from CIVICPULSE_TRUSTED_PROXIES (docs/security.md).
    With embedded chDB this process owns the store, so it also serves the read-only SQL
    endpoint (ClickHouse's HTTP interface) on CIVICPULSE_SQL_HOST:CIVICPULSE_SQL_PORT.
    """
    import uvicorn

    from civicpulse.analytics.standards_mirror import start_standards_mirror
    from civicpulse.api.app import create_app
    from civicpulse.api.serving import uvicorn_options
    from civicpulse.api.sql_endpoint import start_sql_server
    from civicpulse.schemas.settings import get_settings
    from civicpulse.sink.clickhouse import create_client

    settings = get_settings()
    app = create_app(settings)
    sql_server = start_sql_server(settings, app.state.api_tokens, port=sql_port)
    # The catalogue's standards into the store, for Grafana's standards panels (docs/standards.md).
    source = app.state.ingest.catalogue
    standards = start_standards_mirror(create_client(settings), source.get, lambda: source.loaded)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", **uvicorn_options(settings))
    finally:
        standards.stop()
        if sql_server is not None:
            sql_server.stop()


@devices_app.command("add-key")
def add_key(
    device: Annotated[str, typer.Argument(help="device_id to issue a key for")],
    replace: Annotated[bool, typer.Option(help="revoke the device's other keys")] = False,
) -> None:
    """Issue a new random key for DEVICE, print it once; only its scrypt hash is stored."""
    from civicpulse.api.ingest.keys import DeviceKeys
    from civicpulse.schemas.settings import get_settings

    settings = get_settings()
    keys = DeviceKeys.in_data_dir(settings.data_dir)
    key = keys.add(device, replace=replace)
    console.print(f"key for [bold]{device}[/] (shown once, store it on the device):", style="green")
    typer.echo(key)


@devices_app.command("list")
def list_devices() -> None:
    """Devices that have at least one key."""
    from civicpulse.api.ingest.keys import DeviceKeys
    from civicpulse.schemas.settings import get_settings

    for device in DeviceKeys.in_data_dir(get_settings().data_dir).devices():
        typer.echo(device)


@devices_app.command("revoke")
def revoke(device: Annotated[str, typer.Argument(help="device_id whose keys to drop")]) -> None:
    """Revoke every key of DEVICE."""
    from civicpulse.api.ingest.keys import DeviceKeys
    from civicpulse.schemas.settings import get_settings

    if not DeviceKeys.in_data_dir(get_settings().data_dir).revoke(device):
        raise typer.BadParameter(f"device {device} has no key")
    console.print(f"revoked the keys of {device}")
