"""What `civicpulse alerts deliver` says about a subscriptions file before it sends anything."""

from __future__ import annotations

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.sink.delivery.cli import describe, unknown_departments

from .alerts import subscription


def test_describe_names_ways_but_never_secrets_or_urls() -> None:
    subs = (
        subscription(1, escalate_after="30m", escalate_to=["d@x.example"], positive=True),
        subscription(2, department="*", email=[], format="slack", secret=None),
    )
    first, second = describe(subs)
    assert "json webhook" in first and "e-mail to 1 address(es)" in first
    assert "recognition" in first and "escalates after 30 min to 1 recipient(s)" in first
    assert second.startswith("subscription 2 (*, line 2): department *")
    assert "hooks.example" not in first + second and "secret" not in first + second


def test_unknown_departments_are_named() -> None:
    catalogue = Catalogue.model_validate(
        {"departments": [{"department_id": "d-civil", "name": "Civil"}]}
    )
    subs = (subscription(1), subscription(2, department="d-typo"), subscription(3, department="*"))
    (warning,) = unknown_departments(subs, catalogue)
    assert "'d-typo' is not in the catalogue" in warning
    assert unknown_departments(subs, Catalogue()) == []  # nothing loaded yet: no opinion
