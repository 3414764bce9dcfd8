"""The local cluster's pure parts: node ports, layouts, quorum, replication of internal topics,
and the bootstrap string every other command gets from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.infra.exceptions import InfraError
from civicpulse.infra.kafka_config import (
    BrokerLayout,
    LauncherConfig,
    broker_properties,
    quorum_voters,
)
from civicpulse.infra.kafka_jars import render_pom
from civicpulse.schemas.settings import Settings, launcher_node_ports

DATA = Path("/srv/city/.civicpulse")


def test_three_nodes_take_two_ports_each_from_the_configured_ones() -> None:
    config = LauncherConfig(data_dir=DATA, port=19092, controller_port=19093, nodes=3)

    assert config.node_ports == [(19092, 19093), (19094, 19095), (19096, 19097)]
    assert config.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert config.node_bootstrap(3) == "127.0.0.1:19096"
    assert [config.node_layout(n).root for n in config.node_ids] == [
        DATA / "kafka" / f"node-{n}" for n in (1, 2, 3)
    ]
    assert config.replicas == 3


def test_one_node_keeps_the_single_broker_layout_and_bootstrap() -> None:
    config = LauncherConfig(data_dir=DATA, port=19092, controller_port=19093)

    assert config.layout == BrokerLayout.under(DATA)
    assert config.bootstrap == "127.0.0.1:19092"
    assert config.replicas == 1


def test_nodes_that_would_share_a_port_are_refused() -> None:
    with pytest.raises(InfraError, match="would share a port"):
        LauncherConfig(data_dir=DATA, port=18800, controller_port=18802, nodes=2)


@given(st.integers(1, 9), st.integers(1024, 60000), st.integers(1, 9))
def test_settings_bootstrap_lists_every_launcher_node(nodes: int, port: int, gap: int) -> None:
    controller = port + 2 * nodes + gap  # never one of the brokers' ports
    settings = Settings(kafka_port=port, kafka_controller_port=controller, kafka_nodes=nodes)
    config = LauncherConfig.from_settings(settings)

    assert settings.bootstrap_servers == config.bootstrap
    assert len(settings.bootstrap_servers.split(",")) == nodes
    ports = [p for pair in launcher_node_ports(port, controller, nodes) for p in pair]
    assert len(set(ports)) == 2 * nodes


def test_an_external_cluster_wins_over_the_launcher_nodes() -> None:
    settings = Settings(kafka_bootstrap="kafka-1:9092,kafka-2:9092", kafka_nodes=3)
    assert settings.bootstrap_servers == "kafka-1:9092,kafka-2:9092"


def test_each_node_votes_in_one_static_quorum_of_all() -> None:
    config = LauncherConfig(data_dir=DATA, port=19092, controller_port=19093, nodes=3)
    voters = quorum_voters([controller for _, controller in config.node_ports])
    assert voters == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"

    props = broker_properties(
        config.node_layout(2), port=19094, controller_port=19095, node_id=2, voters=voters,
        replicas=3,
    )  # fmt: skip
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == voters
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    assert props["log.dirs"] == str(DATA / "kafka" / "node-2" / "data")


def test_a_cluster_of_three_replicates_internal_topics_three_times_two_in_sync() -> None:
    props = broker_properties(BrokerLayout(DATA), port=1, controller_port=2, replicas=3)

    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "3", key
    for key in (
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.min.isr",
        "min.insync.replicas",
    ):
        assert props[key] == "2", key


def test_one_node_sets_no_broker_wide_min_insync_replicas() -> None:
    assert "min.insync.replicas" not in broker_properties(
        BrokerLayout(DATA), port=1, controller_port=2
    )


def test_tools_pom_asks_for_kafka_tools() -> None:
    pom = render_pom("4.1.2", artifact="kafka-tools")
    assert "<artifactId>kafka-tools</artifactId>" in pom
    assert "<artifactId>kafka_2.13</artifactId>" not in pom
