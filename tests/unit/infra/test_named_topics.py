"""Topics outside the catalogue (a stream app's internal ones) and merged create reports."""

from __future__ import annotations

import pytest

from civicpulse.infra.exceptions import TopicAdminError
from civicpulse.infra.topics import (
    TopicReport,
    merge_reports,
    named_topic_kwargs,
    new_topic_kwargs,
)
from civicpulse.schemas.topics import PRESSES_RAW


def test_an_internal_topic_keeps_its_name_and_partitions_without_config() -> None:
    assert named_topic_kwargs("t.civicpulse-stream-scoring", 1) == {
        "topic": "t.civicpulse-stream-scoring",
        "num_partitions": 1,
        "replication_factor": -1,
        "config": {},
    }
    three = named_topic_kwargs("x", 2, replication_factor=3)
    assert three["replication_factor"] == 3
    assert three["config"] == {"min.insync.replicas": "2"}


def test_a_named_topic_is_created_like_the_catalogue_topic_of_that_name() -> None:
    named = named_topic_kwargs("t.presses.raw", PRESSES_RAW.partitions, 2)
    assert named == new_topic_kwargs(PRESSES_RAW, "t.", replication_factor=2)


def test_an_illegal_internal_name_is_refused() -> None:
    with pytest.raises(TopicAdminError, match="not a legal Kafka topic name"):
        named_topic_kwargs("civicpulse-two words-scoring", 1)


def test_reports_merge_in_order() -> None:
    first = TopicReport(("a",), ("b",), ("b",))
    second = TopicReport(("c",), (), ())
    assert merge_reports(first, second) == TopicReport(("a", "c"), ("b",), ("b",))
    assert merge_reports() == TopicReport((), (), ())
