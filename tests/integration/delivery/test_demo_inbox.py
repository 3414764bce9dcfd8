"""The demo's inbox end to end: the real delivery service (a supervised child) sends an alert of
the subscribed department to the inbox's webhook (signature checked) and mailbox (aiosmtpd),
escalates it to the deputy's mailbox when nobody acknowledges it, and ``/demo/inbox`` lists
them; another department's alert is not delivered."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from civicpulse.demo.inbox import DemoInbox

from .setup import alert_event, prepare, produce_alerts

pytestmark = pytest.mark.integration


def test_demo_inbox_receives_the_degraded_departments_alert(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    prepare(kafka_bootstrap, topic_prefix)
    said: list[str] = []
    inbox = DemoInbox(said.append, escalate_after="2s")
    env = {
        **os.environ,
        "CIVICPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
        "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
    }
    path = inbox.start("d-civil", "http://127.0.0.1:8000", tmp_path, env)
    try:
        assert oct(path.stat().st_mode & 0o777) == "0o600"  # it holds the webhook secret
        other = alert_event(department_id="d-other", scope_id="d-other")
        event = alert_event()
        produce_alerts(kafka_bootstrap, topic_prefix, [other, event])
        assert inbox.wait_for(3, 60), said  # the webhook, the mail, then the escalation
        page = httpx.get(f"{inbox.url}/demo/inbox", timeout=10).text
    finally:
        inbox.stop()
    channels = sorted(entry.channel for entry in inbox.entries)
    assert channels == ["e-mail", "e-mail", "webhook"]
    assert sorted(entry.key for entry in inbox.entries) == [
        f"{event.alert_id}:escalated", f"{event.alert_id}:opened", f"{event.alert_id}:opened",
    ]  # fmt: skip
    (escalation,) = [e for e in inbox.entries if e.key.endswith(":escalated")]
    assert escalation.title.startswith("Bez potwierdzenia od 2 s: Niskie zadowolenie")
    assert all(entry.verified for entry in inbox.entries)
    assert "Niskie zadowolenie: Wydział Spraw Obywatelskich" in page
    assert "signature ok" in page and str(other.alert_id) not in page
    assert any("inbox" in line and "e-mail received" in line for line in said)
