"""infra/docker-compose.yml, checked without a Docker engine: it parses, the Kafka image is the
launcher's version, every project service runs a real `civicpulse` command, and every setting it
passes is a real ``Settings`` field (or the one variable Grafana's provisioning reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from civicpulse.cli import app
from civicpulse.dashboards.provisioning import PASSWORD_ENV
from civicpulse.schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "infra" / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _project_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services().items() if "build" in s}


def _setting_names() -> set[str]:
    names = {f"CIVICPULSE_{name.upper()}" for name in Settings.model_fields}
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []) or [])
    return names


def test_the_services_of_the_brief_are_there() -> None:
    services = _services()
    assert {"kafka", "clickhouse", "grafana", "worker", "sink", "api"} <= set(services)
    assert services["kafka"]["image"] == f"apache/kafka:{Settings().kafka_version}"
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    plugins = services["grafana"]["environment"]["GF_INSTALL_PLUGINS"]
    assert "grafana-clickhouse-datasource" in plugins
    builds = {
        (s["build"]["context"], s["build"]["dockerfile"]) for s in _project_services().values()
    }
    assert builds == {("..", "infra/Dockerfile")}
    assert (COMPOSE.parent / ".." / "infra" / "Dockerfile").is_file()


def test_published_ports_are_loopback_only() -> None:
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def _command_path(args: list[str]) -> list[str]:
    """The sub-command words of ``args`` (``["api", "serve"]``), resolved on the real CLI."""
    command = typer.main.get_command(app)
    path: list[str] = []
    for word in args:
        # typer bundles its own click: a group is whatever has sub-commands
        commands = getattr(command, "commands", None)
        if commands is None or word not in commands:
            break
        command = commands[word]
        path.append(word)
    assert not hasattr(command, "commands"), f"{args} names a group, not a command"
    return path


@pytest.mark.parametrize("name", sorted(_project_services()))
def test_every_project_service_runs_a_real_civicpulse_command(name: str) -> None:
    command = _project_services()[name]["command"]
    assert command[0] == "civicpulse", command
    path = _command_path(command[1:])
    assert path, command
    # --help after every option: the parser still refuses an option the command does not have
    result = CliRunner().invoke(app, [*command[1:], "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"Usage: civicpulse {' '.join(path)}" in result.output


def test_every_civicpulse_variable_is_a_real_setting() -> None:
    known = _setting_names()
    assert {"KAFKA_BOOTSTRAP", "CIVICPULSE_CLICKHOUSE_DSN"} <= known
    for name, service in _services().items():
        for variable in service.get("environment", {}):
            if name == "grafana" and variable == PASSWORD_ENV:
                continue  # read by Grafana's provisioning file, not by civicpulse
            if variable.startswith("CIVICPULSE_") or variable == "KAFKA_BOOTSTRAP":
                assert variable in known, (name, variable)
    shared = _compose()["x-civicpulse-env"]
    assert set(shared) <= known
    dsn = shared["CIVICPULSE_CLICKHOUSE_DSN"]
    assert dsn.startswith("http://") and "@clickhouse:8123" in dsn
