"""The one entry point other stages use to get a Kafka cluster.

``ensure_broker(settings)`` returns bootstrap servers: the cluster named by ``KAFKA_BOOTSTRAP`` /
``CIVICPULSE_KAFKA_BOOTSTRAP`` when set (nothing is started), else the launcher's own broker,
started if needed. The launcher's parts live in ``kafka_jars`` (jar resolution),
``kafka_config`` (pure config rendering), ``kafka_process`` (pids, ports) and ``kafka_broker``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from civicpulse.infra.exceptions import BrokerStartError
from civicpulse.infra.kafka_broker import (
    BrokerStatus,
    LauncherConfig,
    NodeStatus,
    broker_status,
    external_status,
    formatted_nodes,
    start_broker,
    stop_broker,
    stop_nodes,
    wait_for_broker,
)
from civicpulse.schemas.settings import Settings, get_settings

__all__ = [
    "BrokerStatus",
    "LauncherConfig",
    "NodeStatus",
    "broker_status",
    "ensure_broker",
    "kafka_status",
    "start_broker",
    "stop_broker",
    "stop_nodes",
]


def ensure_broker(
    settings: Settings | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    timeout: float = 120.0,
) -> str:
    """Bootstrap servers of a cluster that answers; starts the launcher's broker when needed."""
    settings = settings or get_settings()
    if settings.kafka_bootstrap:
        try:
            wait_for_broker(settings.kafka_bootstrap, min(timeout, 30.0))
        except BrokerStartError as exc:
            raise BrokerStartError(
                f"{exc} It was configured with KAFKA_BOOTSTRAP / CIVICPULSE_KAFKA_BOOTSTRAP; "
                "unset that variable to use the local launcher instead."
            ) from exc
        return settings.kafka_bootstrap
    return start_broker(
        LauncherConfig.from_settings(settings), progress=progress, timeout=timeout
    ).bootstrap


def kafka_status(settings: Settings | None = None) -> BrokerStatus:
    """Status of the configured cluster (external) or of the launcher's broker."""
    settings = settings or get_settings()
    if settings.kafka_bootstrap:
        return external_status(settings.kafka_bootstrap)
    config = LauncherConfig.from_settings(settings)
    # What the data dir holds wins: `kafka start --nodes 3` without CIVICPULSE_KAFKA_NODES.
    formatted = formatted_nodes(config)
    if formatted is not None and formatted != config.nodes:
        config = replace(config, nodes=formatted)
    return broker_status(config)
