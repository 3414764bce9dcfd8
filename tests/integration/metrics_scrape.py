"""Scrape a /metrics page over HTTP and read it with prometheus_client's own text parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
#: the sample names a family of each type exposes (a family with no sample yet exposes none)
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def scrape(url: str) -> Samples:
    """Every sample of the page: (sample name, labels) -> value."""
    response = httpx.get(url, timeout=5.0)
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def parse(text: str) -> Samples:
    """Every sample of a page in the Prometheus text format."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and wanted <= got)


def served_names(text: str) -> set[str]:
    """The sample names of every family a page declares (``# TYPE``), with or without samples:
    a labelled counter nobody incremented yet is served, and a query may name it."""
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in _SUFFIXES.get(family.type, ("",))
    }
