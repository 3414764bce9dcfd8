"""Where the report's names come from and how its PDF is printed.

Names: a report shows sites and departments by name, so :func:`find_catalogue` looks for the
catalogue the stack loaded, in this order: ``--catalogue``, ``CIVICPULSE_CATALOGUE_FILE``, the
``catalogue.devices`` topic when a broker answers (the one way in, what the API and the stream
read), the newest ``<data dir>/demo/<run>/catalogue.json`` (what ``civicpulse demo`` loaded; the
demo stops the broker it started, so after a demo this is where the names are).

PDF: Debian's Chromium prints the HTML headless (``--print-to-pdf``); the page's own CSS draws
the page numbers (``@page`` margin boxes), so Chromium's header and footer are off.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.settings import Settings
from civicpulse.sink.exceptions import ReportPdfError

__all__ = ["CatalogueFound", "find_catalogue", "find_chromium", "print_pdf"]


@dataclass(frozen=True)
class CatalogueFound:
    catalogue: Catalogue | None
    source: str  # where it came from, said to the user


def _broker_answers(bootstrap: str, timeout: float = 0.5) -> bool:
    """A TCP connect to the first bootstrap address: cheap, and silent when nothing listens."""
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _from_topic(settings: Settings) -> Catalogue | None:
    from civicpulse.schemas.topics import CATALOGUE_DEVICES, topic_name
    from civicpulse.stream.catalogue.topic import assemble, read_records

    if not _broker_answers(settings.bootstrap_servers):
        return None
    topic = topic_name(CATALOGUE_DEVICES, settings.topic_prefix)
    try:
        records = read_records(settings.bootstrap_servers, topic, timeout=5.0)
        return assemble(records) if records else None
    except Exception:  # a broker that answers but holds no catalogue: try the next source
        return None


def _newest_demo_catalogue(data_dir: Path) -> Path | None:
    runs = sorted((data_dir / "demo").glob("*/catalogue.json"))
    return runs[-1] if runs else None


def find_catalogue(settings: Settings, given: Path | None) -> CatalogueFound:
    """The catalogue for names (see the module docstring); ``None`` when there is none."""
    path = given or settings.catalogue_file
    if path is not None:
        return CatalogueFound(Catalogue.model_validate_json(path.read_bytes()), str(path))
    catalogue = _from_topic(settings)
    if catalogue is not None:
        return CatalogueFound(catalogue, f"topic catalogue.devices at {settings.bootstrap_servers}")
    demo = _newest_demo_catalogue(settings.data_dir)
    if demo is not None:
        return CatalogueFound(Catalogue.model_validate_json(demo.read_bytes()), str(demo))
    return CatalogueFound(None, "none found")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_file: Path, pdf_file: Path, timeout: float = 180.0) -> None:
    """Print ``html_file`` to ``pdf_file`` with headless Chromium (A4, the page's CSS)."""
    chromium = find_chromium()
    if chromium is None:
        raise ReportPdfError(
            "the PDF is printed by Chromium, which is not installed: "
            "sudo apt-get install chromium (or open the HTML in a browser and print it)"
        )
    pdf_file.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="civicpulse-report-") as profile:
        done = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf_file.resolve()}",
                html_file.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0 or not pdf_file.exists():
        raise ReportPdfError(
            f"Chromium did not print {pdf_file} (exit {done.returncode}): {done.stderr[-500:]}"
        )
