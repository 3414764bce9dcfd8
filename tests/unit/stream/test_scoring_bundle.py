"""Bundles of the scoring topic: what the hop packs, the scores agent reads back, in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicpulse.stream.stages.scores.bundle import MAGIC, BundleError, pack, unpack

press_pairs = st.lists(
    st.tuples(st.binary(max_size=40), st.binary(max_size=300)), min_size=1, max_size=60
)


@given(presses=press_pairs, max_bytes=st.integers(min_value=1, max_value=4000))
def test_every_press_comes_back_once_in_order(
    presses: list[tuple[bytes, bytes]], max_bytes: int
) -> None:
    bundles = list(pack(presses, max_bytes))
    read = [pair for bundle in bundles for pair in unpack(b"accepted:0", bundle)]
    assert read == presses


@given(presses=press_pairs, max_bytes=st.integers(min_value=64, max_value=4000))
def test_a_bundle_is_cut_at_its_size_unless_one_press_is_larger(
    presses: list[tuple[bytes, bytes]], max_bytes: int
) -> None:
    for bundle in pack(presses, max_bytes):
        assert len(bundle) <= max_bytes or len(unpack(None, bundle)) == 1


def test_no_presses_no_bundle() -> None:
    assert list(pack([])) == []


def test_a_batch_of_presses_is_one_bundle() -> None:
    presses = [(f"0:{i}:3:{i}".encode(), b'{"event_id": "x"}' * 20) for i in range(500)]
    assert len(list(pack(presses))) == 1


def test_a_message_of_one_press_reads_as_itself() -> None:
    # The scoring topic's messages before bundles, and a press written by hand: JSON.
    assert unpack(b"0:7:1:9", b'{"event_id": "e"}') == [(b"0:7:1:9", b'{"event_id": "e"}')]


@pytest.mark.parametrize("cut", [1, 3, 9, 12])
def test_a_bundle_cut_short_is_refused_with_where(cut: int) -> None:
    (bundle,) = pack([(b"0:1:2:3", b'{"press": 1}')])
    with pytest.raises(BundleError, match="cut short at byte"):
        unpack(None, bundle[: len(MAGIC) + cut])
