"""The subscriptions file: the contract's keys, the extensions, and errors that name the line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from civicpulse.sink.delivery.exceptions import SubscriptionError
from civicpulse.sink.delivery.subscriptions import load_subscriptions, parse_subscriptions

CONTRACT = """
[[subscription]]
department = "d-civil"          # or "*"
webhook = "https://hooks.example/civil"   # JSON body = the alert event
secret = "a-long-shared-secret"            # X-Civicpulse-Signature: sha256=<hex HMAC of the body>
format = "json"                            # or "slack", "teams"
email = ["head@civil.example"]
"""


def test_the_contract_example_parses() -> None:
    (sub,) = parse_subscriptions(CONTRACT)
    assert sub.department == "d-civil"
    assert sub.webhook == "https://hooks.example/civil"
    assert sub.secret == "a-long-shared-secret"
    assert sub.format == "json"
    assert sub.email == ("head@civil.example",)
    assert (sub.lang, sub.positive, sub.escalate_after) == ("pl", False, None)
    assert (sub.index, sub.line) == (1, 2)


def test_extensions_parse() -> None:
    text = (
        CONTRACT
        + """
[[subscription]]
name = "ops"
department = "*"
webhook = "https://hooks.slack.example/T0/B0/x"
format = "slack"
lang = "en"
positive = true
escalate_after = "30m"
escalate_to = ["deputy@city.example", "https://pager.example/hook"]
silenced_until = 2026-12-27T08:00:00+01:00
"""
    )
    first, second = parse_subscriptions(text)
    assert second.label == "ops" and second.index == 2 and second.line == 9
    assert second.escalate_after == timedelta(minutes=30)
    assert second.escalate_to == ("deputy@city.example", "https://pager.example/hook")
    assert second.silenced_until is not None and second.silenced_until.utcoffset() is not None
    assert first.label == "subscription 1 (d-civil, line 2)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a TOML syntax error: tomllib's own line and column
        ('[[subscription]]\ndepartment = "d-civil\n', "line 2"),
        # an unknown key, named with its line
        ('[[subscription]]\ndepartment = "d"\nemail = ["a@b.c"]\nwebhok = "https://x.y"\n',
         "line 4: unknown key 'webhok'"),
        # a bad value in the second entry: the line of that key
        (CONTRACT + '\n[[subscription]]\ndepartment = "d-2"\nemail = ["not-an-address"]\n',
         "#2, line 11: email.0"),
        ('[[subscription]]\ndepartment = "d"\nemail = ["a@b.c"]\nformat = "xml"\n',
         "line 4: format"),
        ('[[subscription]]\ndepartment = "d"\nemail = ["a@b.c"]\nescalate_after = "soon"\n',
         "line 4: escalate_after: bad duration 'soon'"),
        # a missing required key: the entry's header line
        ('\n\n[[subscription]]\nemail = ["a@b.c"]\n', "line 3: department is required"),
        # rules across keys: reported at the entry's header
        ('[[subscription]]\ndepartment = "d"\n', "line 1: give a webhook, an email list"),
        ('[[subscription]]\ndepartment = "d"\nwebhook = "https://x.y/h"\n',
         "line 1: a json webhook needs a secret"),
        ('[[subscription]]\ndepartment = "d"\nemail = ["a@b.c"]\nescalate_after = "5m"\n',
         "escalate_after and escalate_to go together"),
        ('[[subscription]]\ndepartment = "d"\nemail = ["a@b.c"]\nwebhook = "ftp://x.y"\n',
         "line 4: webhook"),
        ('[subscription]\ndepartment = "d"\n', "write each entry as [[subscription]]"),
        ('[smtp]\nhost = "x"\n', "unknown top-level key(s) smtp"),
        ('[[subscription]]\ndepartment = "d"\nemail = ["a@b.c"]\nline = 3\n',
         "line 4: unknown key 'line'"),
    ],
)  # fmt: skip
def test_a_malformed_file_names_the_line(text: str, expected: str) -> None:
    with pytest.raises(SubscriptionError) as caught:
        parse_subscriptions(text, "subs.toml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("subs.toml")


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SubscriptionError, match="cannot read subscriptions file"):
        load_subscriptions(tmp_path / "missing.toml")
    path = tmp_path / "subs.toml"
    path.write_text(CONTRACT)
    assert load_subscriptions(path)[0].department == "d-civil"
