"""The webhook signature is HMAC-SHA256 of the exact body; headers carry the stable key."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from civicpulse.sink.delivery.matching import deliveries_for
from civicpulse.sink.delivery.senders import signature, verify_signature, webhook_headers

from .alerts import SECRET, alert, subscription


@given(body=st.binary(max_size=2048), secret=st.text(min_size=16, max_size=64))
def test_signature_is_hmac_sha256_of_the_body(body: bytes, secret: str) -> None:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert signature(body, secret) == f"sha256={expected}"
    assert verify_signature(body, secret, signature(body, secret))
    assert not verify_signature(body + b" ", secret, signature(body, secret))


def test_headers_are_stable_across_attempts_but_the_attempt_number() -> None:
    event = alert()
    (delivery, _) = deliveries_for(event, (subscription(),))
    first = webhook_headers(delivery, b"{}", 1)
    third = webhook_headers(delivery, b"{}", 3)
    assert first["Idempotency-Key"] == third["Idempotency-Key"] == f"{event.alert_id}:opened"
    assert first["X-Civicpulse-Signature"] == signature(b"{}", SECRET)
    assert (first["X-Civicpulse-Attempt"], third["X-Civicpulse-Attempt"]) == ("1", "3")
    assert first["X-Civicpulse-Event"] == "opened"


def test_no_secret_no_signature() -> None:
    (delivery, _) = deliveries_for(alert(), (subscription(format="slack", secret=None),))
    assert "X-Civicpulse-Signature" not in webhook_headers(delivery, b"{}", 1)
