"""The Faust repairs against the installed faust-streaming (its real classes, no broker)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.framework.faust_repairs import (
    FAUST_VERSION,
    GAP_FILLER,
    changelog_record,
    check_faust,
    refuse_offset_gaps,
    table_data,
    withhold_ack,
)


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
