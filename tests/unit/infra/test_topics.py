"""Pure topic administration: names, partitions and configs sent to CreateTopics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.infra.exceptions import TopicAdminError
from civicpulse.infra.topics import new_topic_kwargs, validate_topic_name
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


def test_plain_topic_has_no_config_and_explicit_replication() -> None:
    kwargs = new_topic_kwargs(PRESSES_RAW, replication_factor=3)
    assert kwargs == {
        "topic": "presses.raw",
        "num_partitions": PRESSES_RAW.partitions,
        "replication_factor": 3,
        "config": {},
    }


@given(
    st.from_regex(r"[A-Za-z0-9._-]{1,249}", fullmatch=True).filter(lambda n: n not in {".", ".."})
)
def test_legal_names_pass(name: str) -> None:
    assert validate_topic_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "alerts.a:b", "alerts.a b", "x" * 250, "ąę"])
def test_illegal_names_are_refused(name: str) -> None:
    with pytest.raises(TopicAdminError, match="not a legal Kafka topic name"):
        validate_topic_name(name)
