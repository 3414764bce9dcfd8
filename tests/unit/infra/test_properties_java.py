"""The rendered properties files as Java itself reads them (``Properties.load``, like Kafka)."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from civicpulse.infra.kafka_config import BrokerLayout, broker_properties, render_properties

READER = """
import java.io.*;
import java.util.*;

public class ReadProps {
    static String hex(String s) {
        StringBuilder b = new StringBuilder("x");
        for (char c : s.toCharArray()) b.append(String.format("%04x", (int) c));
        return b.toString();
    }
    public static void main(String[] args) throws Exception {
        for (String path : args) {
            Properties p = new Properties();
            try (InputStream in = new FileInputStream(path)) { p.load(in); }
            List<String> keys = new ArrayList<>(p.stringPropertyNames());
            Collections.sort(keys);
            StringBuilder line = new StringBuilder();
            for (String k : keys) {
                line.append(hex(k)).append(' ').append(hex(p.getProperty(k))).append(' ');
            }
            System.out.println(line.toString().trim());
        }
    }
}
"""

ALPHABET = "ab =:#!\\\t\f\n\r\x1e\u2028ąŁódź€\U0001f600 ./-_\"'"


def _unhex(token: str) -> str:
    units = bytes.fromhex(token[1:])
    return units.decode("utf-16-be", "surrogatepass")


def _random_properties(rng: random.Random) -> dict[str, str]:
    def text(min_size: int) -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(min_size, 12)))

    return {text(1): text(0) for _ in range(rng.randint(1, 6))}


def test_java_reads_back_exactly_what_was_rendered(tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("needs a java executable to compare against java.util.Properties")
    rng = random.Random(2024)
    cases = [broker_properties(BrokerLayout(Path("/data/Łódź #1")), port=1, controller_port=2)]
    cases += [_random_properties(rng) for _ in range(150)]
    files = []
    for index, case in enumerate(cases):
        path = tmp_path / f"{index}.properties"
        path.write_text(render_properties(case, header="a header"), encoding="ascii")
        files.append(str(path))
    source = tmp_path / "ReadProps.java"
    source.write_text(READER, encoding="utf-8")

    done = subprocess.run(
        [java, str(source), *files], capture_output=True, text=True, timeout=120, check=True
    )

    lines = done.stdout.split("\n")[: len(cases)]
    for case, line in zip(cases, lines, strict=True):
        tokens = line.split()
        read = {_unhex(k): _unhex(v) for k, v in zip(tokens[::2], tokens[1::2], strict=True)}
        assert read == case
