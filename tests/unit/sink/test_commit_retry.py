"""The sink's commit survives a group coordinator that moves (a cluster node killed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import KafkaError, KafkaException

from civicpulse.sink.writer import commit_retrying


def refusing(*codes: int) -> tuple[list[int], Callable[[], None]]:
    calls: list[int] = []
    pending = list(codes)

    def commit() -> None:
        calls.append(1)
        if pending:
            raise KafkaException(KafkaError(pending.pop(0)))

    return calls, commit


def test_a_moving_coordinator_is_waited_for() -> None:
    calls, commit = refusing(KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS)
    slept: list[float] = []
    commit_retrying(commit, sleep=slept.append)
    assert len(calls) == 3 and slept == [0.2, 0.4]


def test_a_lost_partition_is_not_retried() -> None:
    calls, commit = refusing(KafkaError.ILLEGAL_GENERATION)
    with pytest.raises(KafkaException):
        commit_retrying(commit, sleep=lambda _: None)
    assert len(calls) == 1


def test_the_retry_gives_up_after_its_time() -> None:
    calls, commit = refusing(*[KafkaError.NOT_COORDINATOR] * 100)
    with pytest.raises(KafkaException):
        commit_retrying(commit, within=0.0, sleep=lambda _: None)
    assert len(calls) == 1
