"""Resolve the Apache Kafka broker's jars from Maven Central once, then reuse them offline.

A small generated pom depends on ``org.apache.kafka:kafka_2.13`` (the broker, ``kafka.Kafka``, and
the storage format tool, ``kafka.tools.StorageTool``) plus a log4j2 binding for slf4j: Kafka 4
logs through slf4j, and the Maven artifact leaves the binding to the distribution, so without it
the broker's log would be silently dropped. ``mvn dependency:copy-dependencies`` copies the runtime
closure into ``<cache>/kafka/<version>/libs``; a marker file written last says the copy is
complete, so a second start needs neither network nor ``mvn``.

``tools=True`` resolves Kafka's command-line tools (``org.apache.kafka:kafka-tools``, e.g.
``org.apache.kafka.tools.TopicCommand``, the ``kafka-topics.sh`` of a distribution) the same
way into ``<cache>/kafka/<version>/tools``: the broker does not need them, so the broker's
folder stays as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from civicpulse.infra.exceptions import JarResolutionError
from civicpulse.infra.java import find_mvn
from civicpulse.infra.kafka_process import file_lock

__all__ = [
    "DEPENDENCY_PLUGIN",
    "LOG4J_VERSION",
    "MARKER",
    "cached_libs",
    "kafka_cache_root",
    "render_pom",
    "resolve_jars",
]

#: Pinned so that resolution does not depend on whatever plugin version Maven picks today.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
#: The slf4j -> log4j2 bridge; Kafka 4.1 itself depends on log4j-core 2.24/2.25.
LOG4J_VERSION = "2.25.3"
MARKER = ".complete"

Progress = Callable[[str], None]


def kafka_cache_root(cache_dir: Path | None = None) -> Path:
    """``<cache_dir>/kafka``; ``cache_dir`` defaults to the user cache dir of ``civicpulse``."""
    if cache_dir is None:
        from platformdirs import user_cache_dir

        cache_dir = Path(user_cache_dir("civicpulse"))
    return cache_dir / "kafka"


def render_pom(
    kafka_version: str, log4j_version: str = LOG4J_VERSION, *, artifact: str = "kafka_2.13"
) -> str:
    """A pom whose runtime dependency closure is exactly what the broker (or ``artifact``,
    e.g. ``kafka-tools``) needs."""
    kafka = escape(kafka_version)
    log4j = escape(log4j_version)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>civicpulse.local</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>{escape(artifact)}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""


def _folder(tools: bool) -> str:
    return "tools" if tools else "libs"


def cached_libs(
    kafka_version: str, cache_dir: Path | None = None, *, tools: bool = False
) -> Path | None:
    """The complete jar folder of ``kafka_version``, or None when it still has to be resolved."""
    libs = kafka_cache_root(cache_dir) / kafka_version / _folder(tools)
    return libs if (libs / MARKER).is_file() else None


def resolve_jars(
    kafka_version: str,
    cache_dir: Path | None = None,
    *,
    progress: Progress | None = None,
    timeout: float = 900.0,
    tools: bool = False,
) -> Path:
    """The folder holding every jar of the broker (``tools``: of Kafka's command-line tools);
    runs ``mvn`` only when not cached yet."""
    libs = cached_libs(kafka_version, cache_dir, tools=tools)
    if libs is not None:
        return libs
    version_dir = kafka_cache_root(cache_dir) / kafka_version
    with file_lock(version_dir / ".lock"):
        libs = cached_libs(kafka_version, cache_dir, tools=tools)
        if libs is not None:
            return libs
        if progress is not None:
            progress(f"downloading Apache Kafka {kafka_version} jars from Maven Central (once)")
        _run_maven(kafka_version, version_dir, timeout, tools=tools)
    return version_dir / _folder(tools)


def _run_maven(kafka_version: str, version_dir: Path, timeout: float, *, tools: bool) -> None:
    mvn = find_mvn()
    artifact = "kafka-tools" if tools else "kafka_2.13"
    work = Path(tempfile.mkdtemp(prefix="resolve-", dir=version_dir))
    try:
        pom = work / "pom.xml"
        pom.write_text(render_pom(kafka_version, artifact=artifact), encoding="utf-8")
        staging = work / "libs"
        argv = [
            str(mvn),
            "--batch-mode",
            "--quiet",
            "--file",
            str(pom),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ]
        try:
            done = subprocess.run(
                argv, cwd=work, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise JarResolutionError(
                f"mvn did not finish within {timeout:.0f}s resolving Kafka {kafka_version}. "
                "Check the network access to Maven Central (proxy settings in ~/.m2/settings.xml)."
            ) from exc
        jars = sorted(p.name for p in staging.glob("*.jar")) if staging.is_dir() else []
        if done.returncode != 0 or not any(j.startswith(f"{artifact}-") for j in jars):
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
            raise JarResolutionError(
                f"mvn could not resolve Apache Kafka {kafka_version} (exit {done.returncode}). "
                f"Is the version published on Maven Central and is the network up?\n{tail}"
            )
        (staging / MARKER).write_text("\n".join(jars) + "\n", encoding="utf-8")
        target = version_dir / _folder(tools)
        if target.exists():  # a partial folder from an older, interrupted layout
            shutil.rmtree(target)
        # The rename makes the complete folder appear at once: readers never see half of it.
        os.replace(staging, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
