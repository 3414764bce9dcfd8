"""``civicpulse qr DEVICE OUT.pdf|svg``: the poster is drawn by real Chromium with the shared
faces, and its QR code, read back with zbar (Debian zbar-tools) from the rendered page, is the
device's phone page address."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.pixels import keep_screenshot
from tests.fixtures.clickhouse import run_civicpulse

from .ingest_setup import make_catalogue

pytestmark = pytest.mark.integration

PUBLIC_URL = "https://oceny.krakow.example"


def _decode(png: Path) -> str:
    zbar = shutil.which("zbarimg")
    if zbar is None:
        pytest.fail("zbarimg missing: run scripts/bootstrap --dev (Debian zbar-tools)")
    done = subprocess.run(
        [zbar, "--raw", "-q", str(png)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _render_svg(svg: Path, png: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=794,1123",
         f"--screenshot={png}", svg.resolve().as_uri()],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip


def test_poster_pdf_and_svg_carry_the_phone_address(tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps(make_catalogue().model_dump(mode="json")), encoding="utf-8")
    env = {"CIVICPULSE_PUBLIC_URL": PUBLIC_URL, "CIVICPULSE_DATA_DIR": str(tmp_path / "data")}
    pdf, svg = tmp_path / "poster.pdf", tmp_path / "poster.svg"
    for out in (pdf, svg):
        done = run_civicpulse("qr", "web-1", str(out), "--catalogue", str(catalogue), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{PUBLIC_URL}/m/web-1" in done.stdout
    page = ["pdftoppm", "-png", "-r", "100", "-singlefile", str(pdf), str(tmp_path / "pdf")]
    subprocess.run(page, check=True, timeout=60)
    assert _decode(tmp_path / "pdf.png") == f"{PUBLIC_URL}/m/web-1"
    text = svg.read_text(encoding="utf-8")
    assert text.count('class="cp-face"') == 4 and "face-slot" not in text  # faces.js drew them
    assert "Jak oceniasz obsługę w urzędzie?" in text
    _render_svg(svg, tmp_path / "svg.png", tmp_path)
    assert _decode(tmp_path / "svg.png") == f"{PUBLIC_URL}/m/web-1"
    keep_screenshot((tmp_path / "pdf.png").read_bytes(), tmp_path, "qr-poster.png")


def test_only_a_web_device_gets_a_poster(tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps(make_catalogue().model_dump(mode="json")), encoding="utf-8")
    env = {"CIVICPULSE_DATA_DIR": str(tmp_path / "data")}
    for device in ("term-1", "no-such"):
        done = run_civicpulse(
            "qr", device, str(tmp_path / "p.svg"), "--catalogue", str(catalogue), env=env
        )
        assert done.returncode == 2 and "no active web device" in done.stdout
    done = run_civicpulse(
        "qr", "web-1", str(tmp_path / "p.png"), "--catalogue", str(catalogue), env=env
    )
    assert done.returncode == 2 and ".pdf or an .svg" in done.stdout
