"""Missing or too old tools give errors that say what to do; a cached version needs no mvn."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicpulse.infra.exceptions import JavaMissingError, MavenMissingError
from civicpulse.infra.java import require_java
from civicpulse.infra.kafka_jars import MARKER, cached_libs, resolve_jars


def _fake_java(home: Path, version_line: str) -> None:
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)


def test_no_java_at_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JavaMissingError, match="Install a Java 17"):
        require_java()


def test_java_8_is_too_old(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_java(tmp_path, 'java version "1.8.0_381"')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaMissingError, match="is Java 8; Apache Kafka 4 needs Java 17"):
        require_java()


def test_java_21_from_java_home_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_java(tmp_path, 'openjdk version "21.0.2" 2024-01-16')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert require_java() == tmp_path / "bin" / "java"


def test_uncached_version_without_mvn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MavenMissingError, match="needed once"):
        resolve_jars("4.1.2", tmp_path / "cache")
    assert cached_libs("4.1.2", tmp_path / "cache") is None


def test_cached_version_needs_no_mvn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    libs = tmp_path / "cache" / "kafka" / "4.1.2" / "libs"
    libs.mkdir(parents=True)
    (libs / MARKER).write_text("kafka_2.13-4.1.2.jar\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert resolve_jars("4.1.2", tmp_path / "cache") == libs


def test_half_copied_folder_is_not_a_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    libs = tmp_path / "cache" / "kafka" / "4.1.2" / "libs"
    libs.mkdir(parents=True)
    (libs / "kafka_2.13-4.1.2.jar").write_bytes(b"")  # no marker: an interrupted copy
    assert cached_libs("4.1.2", tmp_path / "cache") is None
