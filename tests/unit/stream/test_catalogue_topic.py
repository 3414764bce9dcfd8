"""Catalogue topic records (pure): one record per entity, and back to the same catalogue."""

from __future__ import annotations

import orjson
import pytest

from civicpulse.stream.catalogue.topic import assemble, fragments
from civicpulse.stream.exceptions import StreamError

from .factory import CATALOGUE


def test_fragments_round_trip_to_the_same_catalogue() -> None:
    records = fragments(CATALOGUE)
    assert assemble(records) == CATALOGUE
    # t1 has two entries (two sites over time): one record holds both.
    assert len(orjson.loads(records["device:t1"])["devices"]) == 2
    assert set(records) == {
        "device:t1", "device:w1", "site:site-a", "site:site-b", "department:dep-a",
        "question:q1", "question:q2", "question:qe",
    }  # fmt: skip


def test_fragments_are_deterministic_bytes() -> None:
    # A reload of an unchanged file writes nothing: equal bytes, record for record.
    assert fragments(CATALOGUE) == fragments(assemble(fragments(CATALOGUE)))


def test_a_catalogue_with_a_dangling_reference_is_refused() -> None:
    records = fragments(CATALOGUE)
    del records["site:site-b"]  # t1's second entry points at site-b
    with pytest.raises(StreamError, match="catalogue load"):
        assemble(records)
