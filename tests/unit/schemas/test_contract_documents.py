"""The published contracts: JSON Schemas validate real events; AsyncAPI passes the real parser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from civicpulse.cli import app
from civicpulse.schemas.topics import TOPICS

from .test_events import press

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("contracts")
    result = CliRunner().invoke(app, ["schemas", "export", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_press_event_schema_accepts_a_valid_press_and_refuses_a_bad_button(exported: Path) -> None:
    schema = json.loads((exported / "PressEvent.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(press())) == []
    assert [e.validator for e in validator.iter_errors(press(button=7))] == ["maximum"]


def test_every_event_type_has_a_schema(exported: Path) -> None:
    names = {p.name for p in exported.glob("*.schema.json")}
    assert {"PressEvent.schema.json", "ScoreEvent.schema.json", "AlertEvent.schema.json"} <= names


def test_asyncapi_document_passes_the_reference_parser(exported: Path) -> None:
    node = shutil.which("node")
    assert node, "node is required for the AsyncAPI parser check (installed by scripts/test)"
    assert (CONTRACTS_DIR / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "run `npm ci --prefix tests/contracts` (scripts/test does)"
    )
    result = subprocess.run(
        [node, str(CONTRACTS_DIR / "validate_asyncapi.mjs"), str(exported / "asyncapi.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    assert result.returncode == 0, report["errors"]
    assert set(report["channels"]) == {t.name for t in TOPICS} | {"alerts.{department_id}"}


def test_the_parser_check_is_not_a_rubber_stamp(exported: Path, tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node
    document = json.loads((exported / "asyncapi.json").read_text())
    document["channels"]["scores"]["messages"]["ScoreEvent"]["$ref"] = "#/components/messages/x"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    result = subprocess.run(
        [node, str(CONTRACTS_DIR / "validate_asyncapi.mjs"), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "does not exist" in result.stdout
