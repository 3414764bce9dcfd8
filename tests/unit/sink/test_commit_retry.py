"""The sink's commit survives a group coordinator that moves (a cluster node killed) and a
session that ran out meanwhile."""

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
    # "Local: Waiting for coordinator": a cluster run's sink exited on it (status 1)
    calls, commit = refusing(
        KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError._WAIT_COORD
    )
    slept: list[float] = []
    assert commit_retrying(commit, sleep=slept.append) is True
    assert len(calls) == 4 and slept == [0.2, 0.4, 0.8]


@pytest.mark.parametrize(
    "code",
    [KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID, KafkaError.REBALANCE_IN_PROGRESS],
)
def test_lost_partitions_are_neither_retried_nor_fatal(code: int) -> None:
    # a cluster run's sink exited (status 1) on "Commit failed: Broker: Unknown member" after
    # its session ran out while its coordinator's node was down; the rows were stored
    calls, commit = refusing(code)
    assert commit_retrying(commit, sleep=lambda _: None) is False
    assert len(calls) == 1


def test_any_other_refusal_is_raised() -> None:
    calls, commit = refusing(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    with pytest.raises(KafkaException):
        commit_retrying(commit, sleep=lambda _: None)
    assert len(calls) == 1


def test_the_retry_gives_up_after_its_time() -> None:
    calls, commit = refusing(*[KafkaError.NOT_COORDINATOR] * 100)
    with pytest.raises(KafkaException):
        commit_retrying(commit, within=0.0, sleep=lambda _: None)
    assert len(calls) == 1
