"""Pure topic administration: names, partitions and configs sent to CreateTopics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.infra.exceptions import TopicAdminError
from civicpulse.infra.topics import min_insync_replicas, new_topic_kwargs, validate_topic_name
from civicpulse.schemas.topics import CATALOGUE_DEVICES, PRESSES_RAW, TopicSpec


def test_catalogue_topic_is_compacted_and_prefixed() -> None:
    kwargs = new_topic_kwargs(CATALOGUE_DEVICES, "krakow.")

    assert kwargs["topic"] == "krakow.catalogue.devices"
    assert kwargs["num_partitions"] == CATALOGUE_DEVICES.partitions
    assert kwargs["config"]["cleanup.policy"] == "compact"
    assert kwargs["replication_factor"] == -1  # the cluster's default


def test_compacted_flag_alone_sets_the_policy() -> None:
    spec = TopicSpec("x", 1, "k", None, "d", compacted=True)
    assert new_topic_kwargs(spec)["config"] == {"cleanup.policy": "compact"}


def test_plain_topic_has_no_config_without_a_replication_factor() -> None:
    assert new_topic_kwargs(PRESSES_RAW)["config"] == {}


def test_an_explicit_replication_factor_brings_its_min_insync_replicas() -> None:
    kwargs = new_topic_kwargs(PRESSES_RAW, replication_factor=3)
    assert kwargs == {
        "topic": "presses.raw",
        "num_partitions": PRESSES_RAW.partitions,
        "replication_factor": 3,
        "config": {"min.insync.replicas": "2"},
    }
    compacted = new_topic_kwargs(CATALOGUE_DEVICES, replication_factor=3)["config"]
    assert compacted["min.insync.replicas"] == "2"
    assert compacted["cleanup.policy"] == "compact"


@pytest.mark.parametrize(("factor", "isr"), [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3), (7, 4)])
def test_min_insync_replicas_is_a_majority_from_three_replicas(factor: int, isr: int) -> None:
    assert min_insync_replicas(factor) == isr


@given(st.integers(1, 50))
def test_min_insync_replicas_leaves_one_replica_to_lose(factor: int) -> None:
    isr = min_insync_replicas(factor)
    assert 1 <= isr <= factor
    # from three replicas on, one node may be down and writes are still acknowledged
    assert factor < 3 or isr <= factor - 1
    # ... and an acknowledged write is on more than half of them
    assert factor < 3 or isr > factor / 2


def test_min_insync_replicas_refuses_no_replicas() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        min_insync_replicas(0)


@given(
    st.from_regex(r"[A-Za-z0-9._-]{1,249}", fullmatch=True).filter(lambda n: n not in {".", ".."})
)
def test_legal_names_pass(name: str) -> None:
    assert validate_topic_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "alerts.a:b", "alerts.a b", "x" * 250, "ąę"])
def test_illegal_names_are_refused(name: str) -> None:
    with pytest.raises(TopicAdminError, match="not a legal Kafka topic name"):
        validate_topic_name(name)
