"""The worker's configuration: its consumer group and Faust's transport driver."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from civicpulse.cli import app as cli
from civicpulse.stream.app import StreamConfig, app_settings


def test_the_default_group_is_the_stream_and_an_added_processor_can_have_its_own() -> None:
    assert StreamConfig(bootstrap="b:1", prefix="t.").app_id == "t.civicpulse-stream"
    assert StreamConfig(bootstrap="b:1", prefix="t.", group="reasons").app_id == (
        "t.civicpulse-reasons"
    )


@pytest.mark.parametrize(
    ("transport", "broker"), [("aiokafka", "kafka://b:1"), ("confluent", "confluent://b:1")]
)
def test_the_transport_picks_fausts_driver(transport: str, broker: str) -> None:
    config = StreamConfig(bootstrap="b:1", transport=transport)  # type: ignore[arg-type]
    assert app_settings(config)["broker"] == broker


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--transport", "kafka"], "unknown transport 'kafka'"),
        (["--group", "two words"], "'two words' is not a legal Kafka topic name"),
    ],
)
def test_the_worker_refuses_an_unknown_transport_or_an_illegal_group(
    option: list[str], said: str
) -> None:
    result = CliRunner().invoke(cli, ["stream", "worker", *option])
    assert result.exit_code == 2
    assert said in result.output
