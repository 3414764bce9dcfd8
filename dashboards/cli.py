"""``civicpulse dashboards build|push``: Grafana dashboards as code.

The SDK and grafana-client are imported inside the command bodies so ``civicpulse --help``
stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import get_settings

__all__ = ["dashboards_app"]

dashboards_app = typer.Typer(
    help="Grafana dashboards as code (grafana-foundation-sdk) for the ClickHouse data source "
    "plugin: build JSON + provisioning files, push to a running Grafana.",
    no_args_is_help=True,
)

_BUILD_EPILOG = """
Writes OUT_DIR/dashboards/civicpulse-*.json, OUT_DIR/provisioning/datasources/civicpulse.yaml
(grafana-clickhouse-datasource, uid civicpulse-clickhouse, the server of
CIVICPULSE_CLICKHOUSE_DSN; and Prometheus, uid civicpulse-prometheus, for the pipeline health
board) and OUT_DIR/provisioning/dashboards/civicpulse.yaml (file provider).

Provision: point Grafana's paths.provisioning at OUT_DIR/provisioning (or copy both YAML files
into its provisioning folders) and install the plugin (GF_INSTALL_PLUGINS=
grafana-clickhouse-datasource).
"""


@dashboards_app.command("build", epilog=_BUILD_EPILOG)
def build_command(
    out_dir: Annotated[Path, typer.Argument(help="output folder (created if missing)")],
    dashboards_path: Annotated[
        str | None,
        typer.Option(
            help="the dashboards folder as Grafana sees it, written into the provider YAML "
            "(e.g. /var/lib/grafana/dashboards/civicpulse in a container); "
            "default: the absolute path of OUT_DIR/dashboards"
        ),
    ] = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            help="the Prometheus server that scrapes every /metrics, as Grafana reaches it "
            "(the pipeline health board's data source); default: http://127.0.0.1:9090"
        ),
    ] = None,
    scrape_interval: Annotated[
        str | None,
        typer.Option(
            help="that server's scrape interval (Grafana's $__rate_interval builds on it); "
            "default: 15s, as infra/prometheus/prometheus.yml"
        ),
    ] = None,
) -> None:
    """Write every dashboard's JSON and Grafana's provisioning files into OUT_DIR."""
    from civicpulse.dashboards.build import build

    console = Console()
    try:
        prometheus = {"prometheus_url": prometheus_url, "scrape_interval": scrape_interval}
        given = {name: value for name, value in prometheus.items() if value is not None}
        built = build(out_dir, get_settings(), dashboards_path, **given)
    except CivicpulseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    for path in built.dashboards:
        console.print(f"  [green]dashboard[/green]   {path}")
    console.print(f"  [green]datasource[/green]  {built.datasource}")
    console.print(f"  [green]provider[/green]    {built.provider}")


@dashboards_app.command("push")
def push_command(
    url: Annotated[
        str,
        typer.Option(envvar="GRAFANA_URL", help="Grafana base URL, e.g. http://127.0.0.1:3000"),
    ],
    token: Annotated[
        str,
        typer.Option(
            envvar="GRAFANA_TOKEN",
            help="service-account token with dashboard write rights",
        ),
    ],
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="a `dashboards build` output folder to push; default: build afresh from the code",
        ),
    ] = None,
    folder_uid: Annotated[
        str, typer.Option(help="Grafana folder uid (created if missing)")
    ] = "civicpulse",
) -> None:
    """Create or update every dashboard by its uid (idempotent: never a duplicate)."""
    from civicpulse.dashboards.build import dashboards as every_dashboard
    from civicpulse.dashboards.push import load_dashboards, push

    console = Console()
    try:
        dashboards = (
            load_dashboards(directory)
            if directory is not None
            else every_dashboard(get_settings().city_timezone)
        )
        answers = push(url, token, dashboards, folder_uid)
    except CivicpulseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    for answer in answers:
        console.print(f"  [green]{answer.get('status', 'pushed')}[/green]  {answer.get('url')}")
    console.print(f"{len(answers)} dashboard(s) pushed to {url}")
