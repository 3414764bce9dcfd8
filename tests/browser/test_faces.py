"""The four faces are drawn, not left to an emoji font: each button's pixels show a face.

This machine has no emoji font (the test says so if it ever gets one), so an emoji face would
render as an empty box or nothing; the check looks at the button's own pixels.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveApi
from .pixels import FACE_COLOURS, distinct_colours, face_pixels, keep_screenshot
from .test_kiosk import open_kiosk
from .test_widget import open_widget

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _no_emoji_font() -> bool:
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout
    return "emoji" not in fonts.lower()


def assert_faces(buttons: Any) -> None:
    assert buttons.count() == 4
    for button in range(1, 5):
        png = buttons.nth(button - 1).screenshot()
        assert buttons.nth(button - 1).get_attribute("data-button") == str(button)
        coloured, dark = face_pixels(png, FACE_COLOURS[button])
        # the disc fills most of the button's inside; eyes and mouth are dark strokes on it
        assert coloured > 0.30, f"button {button}: {coloured:.0%} in its colour"
        assert dark > 0.03, f"button {button}: {dark:.0%} dark feature pixels"
        for other, colour in FACE_COLOURS.items():
            if other != button:
                assert face_pixels(png, colour)[0] < 0.05, f"button {button} shows {other}'s colour"


def test_no_emoji_font_on_this_machine() -> None:
    # The face tests below prove most where an emoji would show a blank box; with an emoji font
    # they still check the SVG colours, so this is said, not failed.
    if not _no_emoji_font():
        pytest.skip("an emoji font is installed: the face tests cannot show the blank-box case")
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout
    assert "emoji" not in fonts.lower()


def test_widget_buttons_show_faces(browser_context: Any, live_api: LiveApi, tmp_path: Path) -> None:
    page = open_widget(browser_context, live_api, "en")
    assert_faces(page.locator("div.civicpulse-widget button.face"))
    png = page.locator("div.civicpulse-widget").screenshot()
    assert distinct_colours(png) > 50
    keep_screenshot(png, tmp_path, "widget.png")


def test_widget_is_one_script_with_the_shared_faces(live_api: LiveApi) -> None:
    import httpx

    widget = httpx.get(f"{live_api.url}/widget.js").text
    faces = httpx.get(f"{live_api.url}/faces.js").text
    assert faces.strip() in widget and "FACES_JS" not in widget.replace(faces.strip(), "")


def test_kiosk_buttons_show_faces_at_1024(
    browser_context: Any, live_api: LiveApi, tmp_path: Path
) -> None:
    page = open_kiosk(browser_context, live_api)
    page.set_viewport_size({"width": 1024, "height": 768})
    assert_faces(page.locator("#face-row .face"))
    png = page.screenshot()
    assert distinct_colours(png) > 50
    keep_screenshot(png, tmp_path, "kiosk.png")


def test_kiosk_setup_message_fits_1024(browser_context: Any, live_api: LiveApi) -> None:
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{live_api.url}/kiosk")
    page.wait_for_selector("body[data-screen='setup']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    box = page.locator("#setup").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1024
    for code in page.locator("#setup code").all():
        code_box = code.bounding_box()
        assert code_box is not None and code_box["x"] + code_box["width"] <= 1024
    assert "DEVICE_ID" in page.locator("#setup").inner_text()
