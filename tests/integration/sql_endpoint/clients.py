"""Builds the outside clients once and caches them under the user cache dir.

``tests/clients/go`` (clickhouse-go v2, pinned in its go.mod/go.sum, from the Go module proxy)
is built into ``<cache>/civicpulse/test-clients/sqlclient-<hash of its sources>``; the JDBC
driver's class path (``tests/clients/jdbc/pom.xml``, from Maven Central into ~/.m2) is written
to ``.../jdbc-<hash>.classpath``. A source change makes a new hash, so a stale build is never
used; an unchanged tree costs a file check.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from platformdirs import user_cache_path

__all__ = ["GO_SOURCES", "JDBC_SOURCES", "go_binary", "go_client", "jdbc_classpath"]

_ROOT = Path(__file__).resolve().parents[3] / "tests" / "clients"
GO_SOURCES = _ROOT / "go"
JDBC_SOURCES = _ROOT / "jdbc"


def _digest(folder: Path, names: list[str]) -> str:
    sha = hashlib.sha256()
    for name in names:
        sha.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return sha.hexdigest()[:16]


def _cache() -> Path:
    path = user_cache_path("civicpulse") / "test-clients"
    path.mkdir(parents=True, exist_ok=True)
    return path


def go_client() -> Path:
    """The clickhouse-go test client binary, built when its sources changed."""
    binary = _cache() / f"sqlclient-{_digest(GO_SOURCES, ['go.mod', 'go.sum', 'main.go'])}"
    if not binary.exists():
        go = go_binary() or "go"
        partial = binary.with_suffix(".partial")
        subprocess.run(
            [go, "build", "-mod=readonly", "-o", str(partial), "."],
            cwd=GO_SOURCES,
            check=True,
            env={**os.environ, "CGO_ENABLED": "0"},
            timeout=600,
        )
        partial.rename(binary)
    return binary


def jdbc_classpath() -> str:
    """The class path of the pinned ClickHouse JDBC driver, resolved by Maven when needed."""
    stamp = _cache() / f"jdbc-{_digest(JDBC_SOURCES, ['pom.xml'])}.classpath"
    if not stamp.exists():
        partial = stamp.with_suffix(".partial")
        subprocess.run(
            ["mvn", "-q", "-B", "-f", str(JDBC_SOURCES / "pom.xml"),
             "dependency:build-classpath", f"-Dmdep.outputFile={partial}"],
            check=True,
            timeout=600,
        )  # fmt: skip
        partial.rename(stamp)
    return stamp.read_text().strip()


def go_binary() -> str | None:
    """The Go toolchain: ``go`` on PATH or the official install's path (None: not installed)."""
    found = shutil.which("go")
    if found is None and os.access("/usr/local/go/bin/go", os.X_OK):
        found = "/usr/local/go/bin/go"
    return found


if __name__ == "__main__":  # scripts/bootstrap --dev builds both ahead of the tests
    if go_binary() is None:
        print("no Go toolchain (Go >= 1.26): the clickhouse-go test will be skipped")
    else:
        print(f"clickhouse-go test client: {go_client()}")
    if shutil.which("mvn") is None or shutil.which("java") is None:
        print("no Java/Maven: the JDBC test will be skipped")
    else:
        print(f"JDBC driver class path: {len(jdbc_classpath().split(os.pathsep))} jars")
