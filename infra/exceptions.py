"""Errors of the local stack launcher. Each message says what to do next."""

from __future__ import annotations

from civicpulse.schemas.exceptions import CivicpulseError

__all__ = [
    "BrokerNotRunningError",
    "BrokerStartError",
    "InfraError",
    "JarResolutionError",
    "JavaMissingError",
    "KafkaClientConfigError",
    "MavenMissingError",
    "PortInUseError",
    "TopicAdminError",
]


class InfraError(CivicpulseError):
    """Root of the launcher's errors."""


class JavaMissingError(InfraError):
    """No Java 17+ runtime to run the broker."""


class MavenMissingError(InfraError):
    """``mvn`` is needed once, to fetch the broker's jars from Maven Central."""


class JarResolutionError(InfraError):
    """Maven could not resolve the broker's jars."""


class PortInUseError(InfraError):
    """A port the broker needs is taken by another process."""


class BrokerStartError(InfraError):
    """The broker process died or did not answer in time."""


class BrokerNotRunningError(InfraError):
    """An operation needs the launcher's broker, and it is not running."""


class TopicAdminError(InfraError):
    """Creating or describing topics failed."""


class KafkaClientConfigError(InfraError):
    """A Kafka client could not be configured: an unknown role or a value librdkafka refuses."""
