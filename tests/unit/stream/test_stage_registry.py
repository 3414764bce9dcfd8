"""Stages by name (``stream.framework.registry``, ``stream.stages.builtin``) and the topics a
worker creates from its processors' declarations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from civicpulse.cli import app as cli
from civicpulse.schemas.topics import (
    ALERTS_ALL,
    CATALOGUE_DEVICES,
    DEADLETTER,
    PRESSES_ACCEPTED,
    PRESSES_RAW,
    SCORES,
    TOPICS,
    TopicSpec,
)
from civicpulse.stream.app import (
    DEFAULT_STAGES,
    STAGES,
    StreamConfig,
    processors,
    stage_topics,
)
from civicpulse.stream.exceptions import StreamError
from civicpulse.stream.framework.processors import Batch, Internal, RawProcessor
from civicpulse.stream.framework.registry import (
    Stage,
    StageRegistry,
    declared_topics,
    worker_topics,
)
from civicpulse.stream.stages.builtin import BUILT_IN

#: a topic no catalogue lists: what a data engineer's new processor might write
AUDIT = replace(PRESSES_ACCEPTED, name="audit.presses", partitions=2, description="audit")
HOP = Internal("audit-hop", 3)


class Audit(RawProcessor):
    name: ClassVar[str] = "audit"
    source = PRESSES_ACCEPTED
    outputs = (AUDIT, HOP, DEADLETTER)

    async def process(self, batch: Batch[Any]) -> None:
        """Not run here: only the declarations are read."""


def _audit(config: StreamConfig) -> Sequence[Audit]:
    return (Audit(),)


def test_the_built_in_stages_keep_their_names_order_and_defaults() -> None:
    assert BUILT_IN.names() == ("antispam", "scores", "reasons")
    assert frozenset({"antispam", "scores", "reasons"}) == STAGES
    assert frozenset({"antispam", "scores"}) == DEFAULT_STAGES
    assert StreamConfig(bootstrap="b:1").stages == DEFAULT_STAGES


def test_a_stage_runs_its_processors_in_registration_order_whatever_the_order_asked() -> None:
    config = StreamConfig(bootstrap="b:1", stages=frozenset({"reasons", "scores", "antispam"}))
    assert [p.name for p in processors(config)] == ["antispam", "scoring_hop", "scores", "reasons"]
    only_scores = StreamConfig(bootstrap="b:1", stages=frozenset({"scores"}))
    assert [p.name for p in processors(only_scores)] == ["scoring_hop", "scores"]


def test_an_unknown_stage_is_an_error_naming_the_registered_ones() -> None:
    config = StreamConfig(bootstrap="b:1", stages=frozenset({"antispam", "spam"}))
    with pytest.raises(
        StreamError, match=r"unknown stage\(s\) spam: choose among antispam, scores"
    ):
        processors(config)


def test_a_stage_name_registers_once() -> None:
    registry = StageRegistry([Stage("audit", _audit, default=False, summary="audit")])
    with pytest.raises(StreamError, match="'audit' is registered twice"):
        registry.register(Stage("audit", _audit, default=True, summary="again"))


def test_a_registered_stage_is_chosen_by_name_and_is_not_a_default() -> None:
    registry = StageRegistry([*BUILT_IN.stages(), Stage("audit", _audit, False, "audit")])
    config = StreamConfig(bootstrap="b:1", stages=frozenset({"audit"}))
    assert [p.name for p in registry.processors(config)] == ["audit"]
    assert registry.defaults() == DEFAULT_STAGES


def test_the_worker_creates_what_its_processors_declare_and_the_framework_topics() -> None:
    topics = worker_topics([Audit()])
    assert topics.catalogue == (PRESSES_ACCEPTED, AUDIT, DEADLETTER, CATALOGUE_DEVICES)
    assert topics.internal == (HOP,)
    assert topics.internal_partitions("t.civicpulse-audit") == {"t.civicpulse-audit-audit-hop": 3}


def test_declared_topics_are_listed_once_in_the_order_first_declared() -> None:
    config = StreamConfig(bootstrap="b:1", stages=STAGES)
    declared = declared_topics([*processors(config), Audit()])
    names = [t.name for t in declared]
    assert len(names) == len(set(names))
    assert names[:3] == [PRESSES_RAW.name, PRESSES_ACCEPTED.name, "presses.rejected"]
    assert Internal("scoring", 1) in declared
    assert AUDIT in declared


#: what a processor may declare: catalogue topics and internal ones, one internal named like a
#: catalogue topic (they are different topics: ``<app id>-scores`` is not ``scores``)
POOL: list[TopicSpec | Internal] = [
    PRESSES_RAW,
    PRESSES_ACCEPTED,
    ALERTS_ALL,
    SCORES,
    AUDIT,
    Internal("scoring", 1),
    Internal("scores", 2),
]
declarations = st.lists(
    st.tuples(st.sampled_from(POOL), st.lists(st.sampled_from(POOL), max_size=4)), max_size=5
)


@given(declarations)
def test_declared_topics_are_each_declaration_once_in_first_declared_order(
    declared: list[tuple[TopicSpec | Internal, list[TopicSpec | Internal]]],
) -> None:
    running = [
        type("P", (Audit,), {"source": source, "outputs": tuple(outputs)})()
        for source, outputs in declared
    ]
    in_order = [topic for source, outputs in declared for topic in (source, *outputs)]
    expected = [topic for i, topic in enumerate(in_order) if topic not in in_order[:i]]
    assert list(declared_topics(running)) == expected


def test_the_default_worker_creates_the_topics_its_stages_use() -> None:
    topics = worker_topics(processors(StreamConfig(bootstrap="b:1")))
    assert {spec.name for spec in topics.catalogue} == {
        "presses.raw",
        "presses.accepted",
        "presses.rejected",
        "deadletter",
        "scores",
        "alerts.all",
        "catalogue.devices",
    }
    assert topics.internal_partitions("civicpulse-stream") == {"civicpulse-stream-scoring": 1}


def test_every_topic_a_built_in_stage_declares_is_in_the_catalogue() -> None:
    # the AsyncAPI document and the sink's routes read the catalogue: a stage's topic belongs there
    assert all(spec in TOPICS for spec in stage_topics())
    assert {spec.name for spec in stage_topics()} >= {"reasons", "scores", "presses.raw"}


def test_the_worker_offers_the_registered_stages_and_refuses_an_unknown_one() -> None:
    runner = CliRunner()
    shown = runner.invoke(cli, ["stream", "worker", "--help"], env={"COLUMNS": "200"})
    for stage in BUILT_IN.stages():
        assert f"{stage.name} ({stage.summary})" in shown.output
    assert "[default: antispam,scores]" in shown.output

    refused = runner.invoke(cli, ["stream", "worker", "--stages", "antispam,spam"])
    assert refused.exit_code == 2
    assert "unknown stage(s) spam: choose among antispam, scores, reasons" in refused.output
