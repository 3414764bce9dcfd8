"""``java -version`` parsing: both version schemes, real outputs, garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.infra.java import parse_java_version

REAL_OUTPUTS = {
    'openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-deb)': 17,
    'java version "1.8.0_381"\nJava(TM) SE Runtime Environment (build 1.8.0_381-b09)': 8,
    'openjdk version "21" 2023-09-19\nOpenJDK Runtime Environment (build 21+35-2513)': 21,
    'openjdk version "25-ea" 2025-09-16\nOpenJDK Runtime Environment (build 25-ea+3-235)': 25,
    'openjdk version "11.0.2" 2019-01-15': 11,
    'Picked up JAVA_TOOL_OPTIONS: -Xss1m\nopenjdk version "22.0.1" 2024-04-16': 22,
}


@pytest.mark.parametrize(("text", "major"), REAL_OUTPUTS.items())
def test_real_outputs(text: str, major: int) -> None:
    assert parse_java_version(text) == major


@given(
    major=st.integers(min_value=9, max_value=99),
    minor=st.integers(min_value=0, max_value=99),
    patch=st.integers(min_value=0, max_value=99),
)
def test_modern_scheme_major_is_first_number(major: int, minor: int, patch: int) -> None:
    assert parse_java_version(f'openjdk version "{major}.{minor}.{patch}" 2030-01-01') == major


@given(major=st.integers(min_value=1, max_value=8), update=st.integers(min_value=0, max_value=999))
def test_legacy_scheme_major_is_second_number(major: int, update: int) -> None:
    assert parse_java_version(f'java version "1.{major}.0_{update}"') == major


@pytest.mark.parametrize("text", ["", "bash: java: command not found", "version 17"])
def test_no_version_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="no Java version"):
        parse_java_version(text)
