"""Every word a page shows has a text in both languages: the ``{{t:key}}`` placeholders of the
static pages, the ``T.key`` lookups of their scripts, and the review page's pattern and state
names (a pattern added to the scan without a text would show its raw code to a reviewer)."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from civicpulse.analytics.review.periods import Pattern
from civicpulse.analytics.review.store import State
from civicpulse.api.pages.assets import STATIC_DIR
from civicpulse.api.pages.texts import PAGES

_PAGES = ("index.html", "live.html", "review.html")
_SCRIPTS = ("live.js", "review.js")


def test_both_languages_have_the_same_keys() -> None:
    assert PAGES["pl"].keys() == PAGES["en"].keys()
    assert all(text.strip() for lang in PAGES.values() for text in lang.values())


@pytest.mark.parametrize("name", _PAGES)
def test_page_placeholders_have_texts(name: str) -> None:
    used = set(re.findall(r"\{\{t:(\w+)\}\}", (STATIC_DIR / name).read_text(encoding="utf-8")))
    assert used, f"{name} shows no texts at all?"
    assert used <= PAGES["en"].keys(), used - PAGES["en"].keys()


@pytest.mark.parametrize("name", _SCRIPTS)
def test_script_lookups_have_texts(name: str) -> None:
    used = set(re.findall(r"\bT\.(\w+)", (STATIC_DIR / name).read_text(encoding="utf-8")))
    assert used, f"{name} looks up no texts at all?"
    assert used <= PAGES["en"].keys(), used - PAGES["en"].keys()


def test_review_names_every_pattern_and_state() -> None:
    names = {f"pattern_{p}" for p in get_args(Pattern)} | {f"state_{s}" for s in get_args(State)}
    assert names <= PAGES["en"].keys(), names - PAGES["en"].keys()
