"""``civicpulse schemas``: publish the event contracts as JSON Schema and AsyncAPI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from civicpulse.schemas.asyncapi import asyncapi_document, json_schemas
from civicpulse.schemas.settings import get_settings

__all__ = ["schemas_app"]

schemas_app = typer.Typer(help="Export the event contracts (JSON Schema, AsyncAPI 3).")


@schemas_app.command("export")
def export(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write into (created if missing).")],
) -> None:
    """Write one JSON Schema per event type and an AsyncAPI 3 document of every topic."""
    console = Console(stderr=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    for name, schema in json_schemas().items():
        path = out_dir / f"{name}.schema.json"
        path.write_bytes(orjson.dumps(schema, option=options))
        console.print(f"wrote {path}")
    path = out_dir / "asyncapi.json"
    path.write_bytes(orjson.dumps(asyncapi_document(get_settings().topic_prefix), option=options))
    console.print(f"wrote {path}")
