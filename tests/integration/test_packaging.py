"""A real wheel of the project: one `civicpulse` namespace, data files inside, entry point set."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("civicpulse-*.whl")
    return zipfile.ZipFile(built)


def test_everything_installs_under_the_civicpulse_namespace(wheel: zipfile.ZipFile) -> None:
    top_level = {name.split("/")[0] for name in wheel.namelist()}
    assert top_level == {"civicpulse", "civicpulse-0.1.0.dist-info"}
    for stage in ("schemas", "producers", "stream", "sink", "api", "dashboards", "infra"):
        assert f"civicpulse/{stage}/__init__.py" in wheel.namelist()


def test_migrations_and_static_assets_ship_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    repo_migrations = sorted(p.name for p in (ROOT / "sink" / "migrations").glob("*.sql"))
    assert repo_migrations, "the repository has migrations"
    for migration in repo_migrations:
        assert f"civicpulse/sink/migrations/{migration}" in names
    for asset in (ROOT / "api" / "static").iterdir():
        assert f"civicpulse/api/static/{asset.name}" in names


def test_console_script_points_at_the_cli(wheel: zipfile.ZipFile) -> None:
    entry_points = wheel.read("civicpulse-0.1.0.dist-info/entry_points.txt").decode()
    assert "civicpulse = civicpulse.cli:app" in entry_points
