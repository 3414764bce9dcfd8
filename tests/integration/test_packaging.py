"""A real wheel of the project: one `civicpulse` namespace, data files inside, entry point set,
and a fresh venv with the wheel alone (no extras) that runs every command's help and imports
every module: the runtime dependencies are complete."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: the top-level stage folders, each installed as civicpulse.<stage>
STAGES = (
    "schemas",
    "producers",
    "stream",
    "sink",
    "analytics",
    "api",
    "dashboards",
    "infra",
    "simulator",
)
BASE_LOCK = ROOT / "requirements" / "base.lock"


@pytest.fixture(scope="module")
def wheel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    return built


@pytest.fixture(scope="module")
def wheel(wheel_path: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(wheel_path)


def test_everything_installs_under_the_civicpulse_namespace(wheel: zipfile.ZipFile) -> None:
    top_level = {name.split("/")[0] for name in wheel.namelist()}
    assert top_level == {"civicpulse", "civicpulse-0.1.0.dist-info"}
    for stage in STAGES:
        assert f"civicpulse/{stage}/__init__.py" in wheel.namelist()
    # every sub-package of the tree ships (pyproject lists packages one by one)
    folders = ("civicpulse", *STAGES)
    inits = [init for stage in folders for init in sorted((ROOT / stage).glob("**/__init__.py"))]
    assert len(inits) > len(STAGES)
    for init in inits:
        inside = init.relative_to(
            ROOT / "civicpulse" if init.is_relative_to(ROOT / "civicpulse") else ROOT
        )
        assert f"civicpulse/{inside.as_posix()}" in wheel.namelist(), init


def test_migrations_and_static_assets_ship_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    repo_migrations = sorted(p.name for p in (ROOT / "sink" / "migrations").glob("*.sql"))
    assert repo_migrations, "the repository has migrations"
    for migration in repo_migrations:
        assert f"civicpulse/sink/migrations/{migration}" in names
    for asset in (ROOT / "api" / "pages" / "static").iterdir():
        assert f"civicpulse/api/pages/static/{asset.name}" in names


def test_console_script_points_at_the_cli(wheel: zipfile.ZipFile) -> None:
    entry_points = wheel.read("civicpulse-0.1.0.dist-info/entry_points.txt").decode()
    assert "civicpulse = civicpulse.cli:app" in entry_points


# --- a fresh venv with the wheel and its declared dependencies only ------------------------------

# Run inside the fresh venv: every command path of the typer app with --help (in one process,
# through click's runner), then every module of the installed package imported.
_WALK = """
import importlib, importlib.util, json, pkgutil, traceback
import typer.main
from typer.testing import CliRunner
import civicpulse
from civicpulse.cli import app

root = typer.main.get_command(app)

def walk(command, path):
    yield path
    # typer >= 0.29 carries its own click: a group is whatever has sub-commands
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, [*path, name])

runner = CliRunner()
helps = {}
for path in walk(root, []):
    result = runner.invoke(app, [*path, "--help"], prog_name="civicpulse")
    helps[" ".join(path)] = [result.exit_code, "Usage" in result.output, repr(result.exception)]

modules = {}
for info in pkgutil.walk_packages(civicpulse.__path__, "civicpulse."):
    if info.name == "civicpulse.__main__":  # runs the CLI on import
        continue
    try:
        importlib.import_module(info.name)
        modules[info.name] = "ok"
    except Exception:
        modules[info.name] = traceback.format_exc(limit=3)

extras = {
    name: importlib.util.find_spec(name) is not None for name in ("quixstreams",)
}
print(json.dumps({"helps": helps, "modules": modules, "extras": extras}))
"""


@pytest.fixture(scope="module")
def fresh_venv(wheel_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding the wheel and what its metadata requires, nothing else.

    Versions are held to requirements/base.lock (what CI tested, and no resolver backtracking);
    uv (a dev tool of the lock) installs from its cache in seconds, pip is the fallback.
    """
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is not None:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        install = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*install, str(wheel_path), "-c", str(BASE_LOCK)], check=True, timeout=600)
    return venv


def _run_in(venv: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run from an empty folder so the repository's source folders cannot shadow the install."""
    env = {**os.environ, "CIVICPULSE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "120"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_the_console_script_of_a_bare_install_answers_help(
    fresh_venv: Path, tmp_path: Path
) -> None:
    civicpulse = str(fresh_venv / "bin" / "civicpulse")
    for args in ([], ["terminal"], ["up"], ["report"], ["stream", "worker"]):
        done = _run_in(fresh_venv, tmp_path, civicpulse, *args, "--help")
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert "Usage" in done.stdout, args


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_a_bare_install_runs_every_commands_help_and_imports_every_module(
    fresh_venv: Path, tmp_path: Path
) -> None:
    done = _run_in(fresh_venv, tmp_path, str(fresh_venv / "bin" / "python"), "-c", _WALK)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["extras"] == {"quixstreams": False}, "extras leaked in"

    helps: dict[str, list[object]] = found["helps"]
    assert {"", "terminal", "up", "stream worker", "kafka start", "report"} <= set(helps)
    assert len(helps) > 40, sorted(helps)
    broken_help = {path: h for path, h in helps.items() if h[:2] != [0, True]}
    assert broken_help == {}

    modules: dict[str, str] = found["modules"]
    for stage in STAGES:
        assert any(name.startswith(f"civicpulse.{stage}.") for name in modules), stage
    failed = {name: error for name, error in modules.items() if error != "ok"}
    assert failed == {}


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_the_terminal_client_of_a_bare_install_buffers_presses_while_the_api_is_down(
    fresh_venv: Path, tmp_path: Path
) -> None:
    done = _run_in(
        fresh_venv,
        tmp_path,
        str(fresh_venv / "bin" / "civicpulse"),
        "terminal",
        "--device",
        "t-1",
        "--key",
        "k",
        "--api",
        "http://127.0.0.1:9",  # discard port: nothing listens
        "--presses",
        "4,3",
        "--buffer",
        str(tmp_path / "buffer.sqlite3"),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "2 press(es) still buffered" in done.stdout


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_the_report_of_a_bare_install_draws_its_charts_without_extras(
    fresh_venv: Path, tmp_path: Path
) -> None:
    civicpulse = str(fresh_venv / "bin" / "civicpulse")
    done = _run_in(fresh_venv, tmp_path, civicpulse, "db", "migrate")
    assert done.returncode == 0, done.stdout + done.stderr
    done = _run_in(fresh_venv, tmp_path, civicpulse, "report", "--year", "2026", "out.html")
    assert done.returncode == 0, done.stdout + done.stderr
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 2, "the charts are inline SVG, drawn with no plotting extra"


# --- the lock files cover what pyproject.toml asks for -------------------------------------------


def _locked(lock: Path) -> dict[str, str]:
    import re

    pins = (re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line) for line in lock.read_text().splitlines())
    return {_normal(m.group(1)): m.group(2) for m in pins if m}


def _normal(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: list[str]) -> set[str]:
    import re

    found = (re.match(r"^\s*([A-Za-z0-9._-]+)", r) for r in requirements)
    return {_normal(m.group(1)) for m in found if m} - {"civicpulse"}


def test_every_dependency_of_pyproject_is_pinned_in_the_lock_files() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    base, dev = _locked(BASE_LOCK), _locked(ROOT / "requirements" / "dev.lock")
    missing_base = _names(project["dependencies"]) - set(base)
    wanted_dev = _names([*project["dependencies"], *extras["dev"], *extras["bench"]])
    assert missing_base == set(), "run scripts/lock"
    assert wanted_dev - set(dev) == set(), "run scripts/lock"
    assert {"quixstreams"} & set(base) == set(), "extras leaked into the base lock"
    assert base["faust-streaming"] == "0.15.3"
