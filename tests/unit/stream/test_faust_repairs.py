"""The Faust repairs against the installed faust-streaming (its real classes, no broker)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.framework.faust_repairs import (
    FAUST_VERSION,
    GAP_FILLER,
    REBALANCE_SETTINGS,
    changelog_record,
    check_faust,
    held_partitions,
    refuse_offset_gaps,
    table_data,
    withhold_ack,
)
from civicpulse.stream.framework.runner import split_held


@pytest.fixture
def app() -> Any:
    import faust

    app = faust.App("repairs-test", broker="kafka://127.0.0.1:1", store="memory://")
    app.topic("t", key_serializer="raw", value_serializer="raw")
    return app


def _message(offset: int) -> Any:
    from faust.types import TP
    from faust.types.tuples import Message

    return Message("t", 0, offset, 0.0, 0, None, b"k", b"v", None, tp=TP("t", 0))


class _Event:
    def __init__(self, message: Any) -> None:
        self.message = message


def test_the_installed_faust_is_the_pinned_one_with_every_internal_in_place() -> None:
    check_faust()


def test_another_faust_version_stops_the_worker_with_what_to_install() -> None:
    with pytest.raises(StreamError, match=f"faust-streaming 0.16.0 is installed.*{FAUST_VERSION}"):
        check_faust("0.16.0")


def test_a_withheld_event_is_never_acknowledged_by_the_consumer(app: Any) -> None:
    consumer = app.consumer
    plain, held = _message(1), _message(2)
    withhold_ack(_Event(held))
    consumer.ack(plain)
    assert plain.acked  # the consumer took this one into its bookkeeping
    assert consumer.ack(held) is False  # skipped: never among the offsets a commit may reach


def test_changelog_records_decode_with_fausts_own_table_codec() -> None:
    from faust.serializers import codecs

    key, value = changelog_record("device-1|s12.3", {"e": [1, 2, "counted"]})
    assert codecs.loads("json", key) == "device-1|s12.3"
    assert value is not None and codecs.loads("json", value) == {"e": [1, 2, "counted"]}
    assert changelog_record("gone", None)[1] is None


def test_table_data_is_the_tables_local_store(app: Any) -> None:
    table = app.Table("repairs", partitions=1, key_type=str)
    table_data(table)["k"] = {"n": 1}
    assert table.get("k") == {"n": 1}


def test_gap_filling_is_replaced_after_each_assignment(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    refuse_offset_gaps(app)
    original = getattr(app.consumer, GAP_FILLER)
    asyncio.run(app.on_partitions_assigned.send(assigned=set()))
    replaced = getattr(app.consumer, GAP_FILLER)
    assert replaced != original
    asyncio.run(replaced(_message(0).tp, 3, 7))  # a warning, not an acknowledgement
    assert "offsets 3..7 were skipped by the fetcher" in caplog.text


# ---- the rebalance workaround (docs/faults.md, "Cluster rounds") --------------------------


def _on(partition: int, offset: int) -> Any:
    from faust.types import TP
    from faust.types.tuples import Message

    message = Message("t", partition, offset, 0.0, 0, None, b"k", b"v", None, tp=TP("t", partition))
    return _Event(message)


def test_the_worker_does_not_let_faust_wait_for_delivered_messages_on_a_rebalance() -> None:
    from civicpulse.stream.app import StreamConfig, app_settings

    assert REBALANCE_SETTINGS == {"stream_wait_empty": False}
    assert app_settings(StreamConfig(bootstrap="b:1"))["stream_wait_empty"] is False


def test_held_partitions_are_the_consumers_assignment_of_the_topic(app: Any) -> None:
    from faust.types import TP

    class Consumer:
        def assignment(self) -> set[Any]:
            return {TP("t", 0), TP("t", 2), TP("other", 1)}

    app.consumer = Consumer()
    assert held_partitions(app, "t") == {0, 2}
    assert held_partitions(app, "other") == {1}


def test_events_of_partitions_no_longer_held_are_split_off_in_order() -> None:
    events = [_on(0, 5), _on(1, 7), _on(0, 6), _on(2, 1), _on(1, 8)]
    kept, dropped = split_held(events, {0, 2})
    assert kept == [events[0], events[2], events[3]]
    assert dropped == [events[1], events[4]]
    # dropped unacknowledged: Faust's later ack of the batch cannot commit their offsets
    for event in dropped:
        withhold_ack(event)
        assert event.message.acked
