"""Imports flow one way between the top-level packages (docs/architecture.md's rooms).

Every import statement of the package (at module level, in functions, under ``TYPE_CHECKING``)
is read with ``ast``: a type-only import still ties one room to another. ``ALLOWED`` pins which
other rooms each room imports today; the few imports that break the one-way flow are named in
``EXCEPTIONS`` with the reason, and an exception nobody needs any more fails too, so the list
only shrinks. ``civicpulse`` is the commands' composition root (``cli``, ``stack``, ``demo``):
it may import every room, and no room imports it.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: room -> the other rooms it may import
ALLOWED: dict[str, frozenset[str]] = {
    "schemas": frozenset(),
    "infra": frozenset({"schemas"}),
    "producers": frozenset({"schemas", "infra"}),
    "stream": frozenset({"schemas", "infra"}),
    "sink": frozenset({"schemas", "infra"}),
    "analytics": frozenset({"schemas", "infra", "stream", "sink"}),
    "dashboards": frozenset({"schemas", "analytics"}),
    "simulator": frozenset({"schemas", "infra", "producers", "stream"}),
    "api": frozenset({"schemas", "infra", "producers", "stream", "sink", "analytics"}),
}

#: (importing module, imported module or package) -> why it is there. Each one is a debt.
EXCEPTIONS: dict[tuple[str, str], str] = {
    (
        "civicpulse.infra.cli",
        "civicpulse.stream.app",
    ): "`civicpulse topics create` also creates the topics the stream's stages declare (their "
    "processors' sources and outputs); the command belongs with the composition root",
    (
        "civicpulse.sink.cli",
        "civicpulse.analytics.silent_watch",
    ): "`civicpulse sink` also runs the silent-device watch where the store is (docs/alerts.md); "
    "the command belongs with the composition root, not in the sink's room",
    (
        "civicpulse.sink.delivery.render",
        "civicpulse.analytics.report.texts",
    ): "alert messages format numbers as the annual report does (decimal comma in Polish); the "
    "formatter belongs in a room both read",
    (
        "civicpulse.sink.delivery.context",
        "civicpulse.stream.catalogue.topic",
    ): "alert delivery follows the catalogue topic with the stream's CatalogueReader; the reader "
    "of a schemas topic belongs below both",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    imported: str  # the module named by the statement, dotted
    where: str  # path:line

    def matches(self, importer: str, imported: str) -> bool:
        return self.module == importer and (
            self.imported == imported or self.imported.startswith(imported + ".")
        )


def rooms() -> dict[str, Path]:
    """Each installed package's folder by dotted name (pyproject's ``package-dir``)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping: dict[str, str] = pyproject["tool"]["setuptools"]["package-dir"]
    return {package: ROOT / folder for package, folder in mapping.items()}


def room_of(module: str) -> str:
    """``civicpulse.<room>.…`` -> room; a top-level module (``civicpulse.cli``) -> civicpulse."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    return top if top in ALLOWED else "civicpulse"


def imports_of(source: str, module: str, where: str) -> Iterator[Import]:
    """Every ``civicpulse`` import of one module's source (relative imports are refused)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{where}:{node.lineno}: relative import (imports are absolute)")
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [node.module]
        else:
            continue
        for name in names:
            if name == "civicpulse" or name.startswith("civicpulse."):
                yield Import(module, name, f"{where}:{node.lineno}")


def package_imports() -> list[Import]:
    found: list[Import] = []
    for package, folder in rooms().items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            module = ".".join((package, *parts)).removesuffix(".__init__")
            where = str(path.relative_to(ROOT))
            found.extend(imports_of(path.read_text(), module, where))
    return found


def breaks_the_flow(found: Import) -> bool:
    """Does this import go against ``ALLOWED``, or out of stream/framework into what the stream
    builds on it (the stages, the app that wires them, the worker, the harness, the commands)?"""
    source, target = room_of(found.module), room_of(found.imported)
    if source != "civicpulse" and source != target and target not in ALLOWED[source]:
        return True
    if not found.module.startswith("civicpulse.stream.framework."):
        return False
    above = ("stages", "app", "worker", "testing", "cli")
    return any(
        found.imported == f"civicpulse.stream.{room}"
        or found.imported.startswith(f"civicpulse.stream.{room}.")
        for room in above
    )


def is_excepted(found: Import) -> bool:
    return any(found.matches(importer, imported) for importer, imported in EXCEPTIONS)


def test_every_room_is_pinned_and_found() -> None:
    found = {room_of(package) for package in rooms()}
    assert found == {*ALLOWED, "civicpulse"}
    assert len(package_imports()) > 500  # the walk reads the package, not an empty folder


def test_the_rules_catch_a_backward_import() -> None:
    up = Import("civicpulse.schemas.events", "civicpulse.stream.framework.runner", "x.py:1")
    assert breaks_the_flow(up)
    into_stages = Import(
        "civicpulse.stream.framework.runner", "civicpulse.stream.stages.scores", ""
    )
    assert breaks_the_flow(into_stages)
    into_the_app = Import("civicpulse.stream.framework.registry", "civicpulse.stream.app", "")
    assert breaks_the_flow(into_the_app)
    assert not breaks_the_flow(
        Import("civicpulse.stream.app", "civicpulse.stream.stages.builtin", "")
    )
    to_the_root = Import("civicpulse.sink.writer", "civicpulse.supervisor", "")
    assert breaks_the_flow(to_the_root)
    assert not breaks_the_flow(Import("civicpulse.sink.writer", "civicpulse.schemas.events", ""))
    assert not breaks_the_flow(Import("civicpulse.stack", "civicpulse.sink.writer", ""))
    with_reason = Import("civicpulse.sink.cli", "civicpulse.analytics.silent_watch", "")
    assert is_excepted(with_reason)


def test_imports_flow_one_way() -> None:
    against = [
        f"{found.where}: {found.module} imports {found.imported}"
        for found in package_imports()
        if breaks_the_flow(found) and not is_excepted(found)
    ]
    assert against == [], "imports against the one-way flow:\n" + "\n".join(against)


def test_every_exception_is_still_needed() -> None:
    found = package_imports()
    stale = [
        f"{importer} -> {imported}"
        for importer, imported in EXCEPTIONS
        if not any(item.matches(importer, imported) and breaks_the_flow(item) for item in found)
    ]
    assert stale == [], "exceptions no import needs any more (remove them):\n" + "\n".join(stale)
