"""infra/prometheus: the alert rules and the example scrape config parse, every metric an
expression names is one the code defines (with the suffix its type exposes), and promtool both
accepts the files and runs the rules' unit tests (alerts_test.yml)."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

PROMETHEUS = Path(__file__).parents[3] / "infra" / "prometheus"
#: the modules that define metrics (importing one registers its metrics)
METRIC_MODULES = (
    "civicpulse.stream.framework.metrics",
    "civicpulse.sink.metrics",
    "civicpulse.api.metrics",
    "civicpulse.supervisor",
)
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
}


def exposed_names() -> set[str]:
    """The sample names of every civicpulse metric the metric modules define."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith("civicpulse_"):
            names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_the_metric_modules_define_what_the_rules_need() -> None:
    assert {
        "civicpulse_stream_consumer_lag_records",
        "civicpulse_sink_rows_written_total",
        "civicpulse_api_requests_total",
        "civicpulse_supervisor_restarts_total",
    } <= exposed_names()


def test_every_rule_is_complete_and_names_only_metrics_that_exist() -> None:
    exposed = exposed_names()
    found = rules()
    assert len(found) >= 6
    covered: set[str] = set()
    for rule in found:
        assert rule["alert"].startswith("Civicpulse")
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        named = set(re.findall(r"\bcivicpulse_[a-z_]+", rule["expr"]))
        assert named, rule["alert"]
        assert named <= exposed, f"{rule['alert']}: unknown {sorted(named - exposed)}"
        covered |= named
    # the brief's four: lag growing, dead letters rising, worker restarting, no commit
    assert {
        "civicpulse_stream_consumer_lag_records",
        "civicpulse_stream_dead_letters_total",
        "civicpulse_supervisor_restarts_total",
        "civicpulse_stream_last_commit_timestamp_seconds",
    } <= covered


def test_the_example_config_loads_the_rules_and_scrapes_loopback_only() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    targets = [
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    ]
    assert targets and all(t.startswith("127.0.0.1:") for t in targets)


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool missing: scripts/bootstrap --dev installs Debian's prometheus",
)


def _promtool(*args: str) -> str:
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_promtool
def test_promtool_accepts_the_rules_and_the_config() -> None:
    assert "SUCCESS: 9 rules found" in _promtool("check", "rules", "alerts.yml")
    assert "valid prometheus config" in _promtool("check", "config", "prometheus.yml")


@needs_promtool
def test_each_alert_fires_on_its_case_and_not_on_its_look_alike() -> None:
    # alerts_test.yml: synthetic series per alert, expected labels and summaries
    tested = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    names = {case["alertname"] for test in tested["tests"] for case in test["alert_rule_test"]}
    assert names == {rule["alert"] for rule in rules()}
    assert "SUCCESS" in _promtool("test", "rules", "alerts_test.yml")
