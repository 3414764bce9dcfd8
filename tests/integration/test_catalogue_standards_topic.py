"""Service standards travel on the real compacted catalogue topic: loaded, changed, removed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from civicpulse.infra.topics import create_topics
from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
from civicpulse.stream.catalogue.topic import assemble, fragments, publish_catalogue, read_records

from .ingest_setup import make_catalogue

pytestmark = pytest.mark.integration

KEY = "standard:department:civil-affairs"


def _with(standards: list[dict[str, Any]]) -> Catalogue:
    data = make_catalogue().model_dump(mode="json")
    return Catalogue.model_validate({**data, "standards": standards})


def test_standards_load_change_and_leave_the_topic(kafka_bootstrap: str, topic_prefix: str) -> None:
    create_topics(kafka_bootstrap, topic_prefix)
    topic = topic_name(CATALOGUE_DEVICES, topic_prefix)
    first = {"scope": "department", "id": "civil-affairs", "target_score": 75,
             "min_responses_per_day": 30, "from": "2026-01-01"}  # fmt: skip
    loaded = _with([first])
    publish_catalogue(kafka_bootstrap, topic, loaded)
    records = read_records(kafka_bootstrap, topic)
    assert orjson.loads(records[KEY]) == {"standards": [{**first, "question": None}]}
    assert assemble(records).standards == loaded.standards
    assert fragments(assemble(records)) == fragments(loaded)  # entity order aside, the same
    # a raised target from July: only the department's standard record is written again
    raised = _with([first, {**first, "target_score": 80, "from": "2026-07-01"}])
    report = publish_catalogue(kafka_bootstrap, topic, raised)
    assert report.written == 1 and report.deleted == 0
    assert assemble(read_records(kafka_bootstrap, topic)).standards == raised.standards
    # no standards any more: the record gets a tombstone
    report = publish_catalogue(kafka_bootstrap, topic, _with([]))
    assert report.deleted == 1
    records = read_records(kafka_bootstrap, topic)
    assert KEY not in records and assemble(records).standards == ()
