"""Pixel checks on Chromium screenshots: does a face show, is a screenshot blank."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

__all__ = ["FACE_COLOURS", "distinct_colours", "face_pixels", "keep_screenshot"]

# The conventional colours of buttons 1..4 (api/pages/static/faces.js): red, pink, light and dark
# green.
FACE_COLOURS = {
    1: (0xD3, 0x2F, 0x2F),
    2: (0xF4, 0x8F, 0xB1),
    3: (0x9C, 0xCC, 0x65),
    4: (0x2E, 0x7D, 0x32),
}
Rgb = tuple[int, ...]
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _image(png: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")


def _near(pixel: Rgb, colour: Rgb, tolerance: int = 40) -> bool:
    return sum((a - b) ** 2 for a, b in zip(pixel, colour, strict=True)) < tolerance**2


def face_pixels(png: bytes, colour: Rgb, inset: float = 0.15) -> tuple[float, float]:
    """Shares of (pixels near ``colour``, near-black pixels) inside the central part of ``png``.

    The outer ``inset`` on each side is left out so a button's coloured border cannot pass for
    a face: only what is drawn inside the button counts.
    """
    image = _image(png)
    w, h = image.size
    box = (int(w * inset), int(h * inset), int(w * (1 - inset)), int(h * (1 - inset)))
    raw = image.crop(box).tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    near = sum(1 for p in pixels if _near(p, colour))
    dark = sum(1 for p in pixels if max(p) < 70)
    return near / len(pixels), dark / len(pixels)


def distinct_colours(png: bytes) -> int:
    """How many colours a screenshot holds: a blank page has one or two."""
    return len(_image(png).getcolors(maxcolors=1 << 24) or [])


def keep_screenshot(png: bytes, tmp_path: Path, name: str) -> Path:
    """Save under the test's tmp dir and copy to docs/screenshots/ (the docs show these)."""
    out = tmp_path / name
    out.write_bytes(png)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out, DOCS_SCREENSHOTS / name)
    return out
