"""Find the tools the launcher needs: a Java 17+ runtime and (once, to fetch jars) ``mvn``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from civicpulse.infra.exceptions import JavaMissingError, MavenMissingError

__all__ = [
    "MIN_JAVA",
    "find_java",
    "find_mvn",
    "java_major_version",
    "parse_java_version",
    "require_java",
]

#: Kafka 4.x brokers and tools need Java 17 (KIP-1013).
MIN_JAVA = 17

_VERSION_RE = re.compile(r'version "(?P<version>[^"]+)"')
_INSTALL_HINT = (
    "Install a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`, "
    "`brew install openjdk@17`) or point JAVA_HOME at one."
)


def parse_java_version(text: str) -> int:
    """The major version in the output of ``java -version``.

    Handles both schemes: ``1.8.0_381`` (major 8) and ``17.0.15`` / ``21`` / ``25-ea``.
    Raises ``ValueError`` when no version is found.
    """
    match = _VERSION_RE.search(text)
    if match is None:
        raise ValueError(f"no Java version in: {text.strip()[:200]!r}")
    parts = re.split(r"[._+-]", match.group("version"))
    if parts[0] == "1" and len(parts) > 1:
        return int(parts[1])
    return int(parts[0])


def find_java() -> Path:
    """``$JAVA_HOME/bin/java`` when JAVA_HOME is set, else ``java`` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return candidate
    found = shutil.which("java")
    if found is None:
        raise JavaMissingError(
            f"No `java` found (JAVA_HOME unset or wrong, none on PATH). {_INSTALL_HINT}"
        )
    return Path(found)


def java_major_version(java: Path) -> int:
    """Run ``java -version`` (it prints to stderr) and parse the major version."""
    try:
        done = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise JavaMissingError(f"Cannot run {java}: {exc}. {_INSTALL_HINT}") from exc
    try:
        return parse_java_version(done.stderr + done.stdout)
    except ValueError as exc:
        raise JavaMissingError(
            f"Cannot tell the version of {java}: {exc}. {_INSTALL_HINT}"
        ) from exc


def require_java(minimum: int = MIN_JAVA) -> Path:
    """The java executable, checked to be at least ``minimum``."""
    java = find_java()
    major = java_major_version(java)
    if major < minimum:
        raise JavaMissingError(
            f"{java} is Java {major}; Apache Kafka 4 needs Java {minimum}+. {_INSTALL_HINT}"
        )
    return java


def find_mvn() -> Path:
    """The ``mvn`` executable; only needed the first time a Kafka version is used."""
    found = shutil.which("mvn")
    if found is None:
        raise MavenMissingError(
            "`mvn` (Apache Maven) is needed once to download the Kafka broker's jars from Maven "
            "Central. Install it (`apt-get install maven`, `brew install maven`) and retry; later "
            "starts use the cached jars and need neither mvn nor network. Or set KAFKA_BOOTSTRAP "
            "to use an existing cluster."
        )
    return Path(found)
