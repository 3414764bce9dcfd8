"""The demo inbox's pure parts: its subscription is a valid subscriptions file, its page lists
what arrived newest first, escaped, the mail's HTML only inside a sandboxed frame."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from civicpulse.demo.inbox import Received, inbox_page, start_demo_inbox, subscriptions_toml
from civicpulse.schemas.settings import Settings
from civicpulse.sink.delivery.subscriptions import parse_subscriptions


def test_the_demo_subscription_is_a_valid_file() -> None:
    text = subscriptions_toml(
        "civil-registry", "http://127.0.0.1:9/hook", "s" * 32, "a@b.invalid", "d@b.invalid", "3m"
    )
    (sub,) = parse_subscriptions(text)
    assert (sub.department, sub.webhook, sub.format, sub.lang) == (
        "civil-registry", "http://127.0.0.1:9/hook", "json", "pl",
    )  # fmt: skip
    assert sub.email == ("a@b.invalid",)
    assert sub.escalate_after == timedelta(minutes=3) and sub.escalate_to == ("d@b.invalid",)


def test_page_lists_newest_first_and_escapes() -> None:
    at = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    entries = [
        Received("webhook", at, "opened <b>low_score</b>", "k:opened", True, '{"a": 1}'),
        Received("e-mail", at, "Niskie zadowolenie", "k:opened", True, "plain",
                 html='<p onclick="x()">mail & "quotes"</p>'),
        Received("webhook", at, "forged", "k2:opened", False, "{}"),
    ]  # fmt: skip
    page = inbox_page(entries)
    assert page.index("forged") < page.index("Niskie zadowolenie") < page.index("low_score")
    assert "<b>low_score</b>" not in page and "&lt;b&gt;low_score&lt;/b&gt;" in page
    assert "SIGNATURE WRONG" in page and "signature ok" in page
    # the mail's HTML is only ever inside the sandboxed frame's srcdoc, escaped
    assert '<iframe sandbox srcdoc="&lt;p onclick=&quot;x()&quot;&gt;mail &amp; ' in page
    assert '<p onclick="x()">' not in page


def test_empty_inbox_says_what_to_expect() -> None:
    assert "Nothing delivered yet" in inbox_page([])


def test_the_users_own_subscriptions_switch_the_demo_inbox_off(tmp_path: Path) -> None:
    said: list[str] = []
    settings = Settings(subscriptions=tmp_path / "mine.toml", data_dir=tmp_path)
    assert start_demo_inbox(settings, "d-civil", "http://x", tmp_path, said.append) is None
    assert said == [f"alert delivery: {tmp_path / 'mine.toml'} (the demo's own inbox is off)"]
