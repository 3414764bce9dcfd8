"""The rendered broker files: properties escaping, loopback-only listeners, cluster ids, pom."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from civicpulse.infra.kafka_config import (
    BrokerLayout,
    broker_properties,
    new_cluster_id,
    render_log4j2,
    render_properties,
)
from civicpulse.infra.kafka_jars import render_pom


def parse_properties(text: str) -> dict[str, str]:
    """A reader of the subset of java.util.Properties that render_properties writes."""
    escapes = {"n": "\n", "r": "\r", "t": "\t", "f": "\f"}
    result: dict[str, str] = {}
    for line in text.split("\n"):  # Java ends lines at \n and \r only, unlike str.splitlines
        if not line or line.startswith(("#", "!")):
            continue
        key: list[str] = []
        value: list[str] = []
        target = key
        index = 0
        while index < len(line):
            char = line[index]
            if char == "\\":
                nxt = line[index + 1]
                if nxt == "u":
                    target.append(chr(int(line[index + 2 : index + 6], 16)))
                    index += 6
                    continue
                target.append(escapes.get(nxt, nxt))
                index += 2
                continue
            if char in "=:" and target is key:
                target = value
            else:
                target.append(char)
            index += 1
        # \uXXXX pairs are UTF-16 surrogates: join them back into characters.
        result[_utf16("".join(key))] = _utf16("".join(value))
    return result


def _utf16(text: str) -> str:
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be")


LAYOUT = BrokerLayout(Path("/srv/city/.civicpulse/kafka"))


def test_broker_listens_and_advertises_loopback_only() -> None:
    props = broker_properties(LAYOUT, port=29092, controller_port=29093)

    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["process.roles"] == "broker,controller"
    assert props["log.dirs"] == "/srv/city/.civicpulse/kafka/data"
    assert props["auto.create.topics.enable"] == "false"
    replication = {k: v for k, v in props.items() if "replication.factor" in k or "min.isr" in k}
    assert replication and set(replication.values()) == {"1"}


def test_rendered_server_properties_read_back_identically() -> None:
    props = broker_properties(LAYOUT, port=1, controller_port=2, num_partitions=3)
    assert parse_properties(render_properties(props, header="two\nlines")) == props


text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(st.dictionaries(text.filter(bool), text, max_size=8))
def test_any_properties_round_trip(props: dict[str, str]) -> None:
    assert parse_properties(render_properties(props)) == props


def test_log4j2_writes_to_the_server_log_only() -> None:
    props = parse_properties(render_log4j2(LAYOUT))

    assert props["appender.server.fileName"] == "/srv/city/.civicpulse/kafka/logs/server.log"
    appender_types = {v for k, v in props.items() if re.fullmatch(r"appender\.\w+\.type", k)}
    assert appender_types == {"RollingFile"}  # nothing on the console


@given(st.integers(min_value=0, max_value=50))
def test_cluster_ids_are_kafka_uuids(_: int) -> None:
    cluster_id = new_cluster_id()
    assert len(cluster_id) == 22
    assert not cluster_id.startswith("-")
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_pom_asks_for_the_broker_and_a_log_binding() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.fromstring(render_pom("4.1.2", log4j_version="2.25.3"))
    deps = {
        (d.findtext("m:groupId", namespaces=ns), d.findtext("m:artifactId", namespaces=ns)): (
            d.findtext("m:version", namespaces=ns)
        )
        for d in root.iterfind("m:dependencies/m:dependency", ns)
    }
    assert deps == {
        ("org.apache.kafka", "kafka_2.13"): "4.1.2",
        ("org.apache.logging.log4j", "log4j-slf4j-impl"): "2.25.3",
    }
