"""``civicpulse alerts deliver`` as a real process, killed with SIGKILL between a send and its
commit: the restarted service re-sends exactly the unconfirmed event, with the same
Idempotency-Key, and nothing that was confirmed. A malformed subscriptions file stops it with
the line named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from .receivers import WebhookReceiver, wait_until
from .setup import alert_event, committed, prepare, produce_alerts

pytestmark = pytest.mark.integration

SECRET = "restart-test-secret-0123456789"


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "civicpulse", "alerts", "deliver"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_sigkill_between_send_and_commit_resends_only_the_unconfirmed(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    prepare(kafka_bootstrap, topic_prefix)
    log = tmp_path / "deliver.log"
    with WebhookReceiver() as hooks:
        subscriptions = tmp_path / "subscriptions.toml"
        subscriptions.write_text(
            f'[[subscription]]\ndepartment = "d-civil"\nwebhook = "{hooks.url("/h")}"\n'
            f'secret = "{SECRET}"\n'
        )
        env = {
            **os.environ,
            "CIVICPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "CIVICPULSE_TOPIC_PREFIX": topic_prefix,
            "CIVICPULSE_DATA_DIR": str(tmp_path / "data"),
            "CIVICPULSE_SUBSCRIPTIONS": str(subscriptions),
        }
        first, second, unconfirmed = alert_event(), alert_event(), alert_event()
        process = _start(env, log)
        try:
            produce_alerts(kafka_bootstrap, topic_prefix, [first, second])
            wait_until(lambda: committed(kafka_bootstrap, topic_prefix) == 2, 60,
                       "the first two events confirmed and committed")  # fmt: skip
            hooks.hold.set()  # the subscriber receives the next event but does not answer yet
            produce_alerts(kafka_bootstrap, topic_prefix, [unconfirmed])
            wait_until(lambda: len(hooks.requests) == 3, 30, "the third event sent")
            process.send_signal(signal.SIGKILL)
            assert process.wait(10) == -signal.SIGKILL
        finally:
            process.kill()
            process.wait()
        hooks.hold.clear()
        assert committed(kafka_bootstrap, topic_prefix) == 2
        restarted = _start(env, log)
        try:
            wait_until(lambda: len(hooks.requests) == 4, 60, "the unconfirmed event re-sent")
            wait_until(lambda: committed(kafka_bootstrap, topic_prefix) == 3, 15, "its commit")
        finally:
            restarted.send_signal(signal.SIGTERM)
            assert restarted.wait(30) == 0, log.read_text()
    keys = Counter(r.key for r in hooks.requests)
    assert keys == Counter({
        f"{first.alert_id}:opened": 1,
        f"{second.alert_id}:opened": 1,
        f"{unconfirmed.alert_id}:opened": 2,
    })  # fmt: skip
    resent = [r for r in hooks.requests if r.key == f"{unconfirmed.alert_id}:opened"]
    assert resent[0].body == resent[1].body and all(r.signed_with(SECRET) for r in resent)
    assert "delivered" in log.read_text()


def test_a_malformed_subscriptions_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.toml"
    path.write_text('[[subscription]]\ndepartment = "d-civil"\nemail = ["nobody"]\n')
    result = subprocess.run(
        [sys.executable, "-m", "civicpulse", "alerts", "deliver", "--subscriptions", str(path),
         "--check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert f"{path}, [[subscription]] #1, line 3: email.0: 'nobody' is not an e-mail" in message
