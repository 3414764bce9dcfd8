"""The one settings object: every knob of every stage, read from ``CIVICPULSE_*`` env vars."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "launcher_node_ports"]


def launcher_node_ports(port: int, controller_port: int, nodes: int) -> list[tuple[int, int]]:
    """(broker port, controller port) of each node of the launcher's local cluster, node 1
    first: node ``i`` listens on ``port + 2 (i - 1)`` and ``controller_port + 2 (i - 1)`` (with
    the defaults 19092/19093, 19094/19095, 19096/19097)."""
    return [(port + 2 * i, controller_port + 2 * i) for i in range(nodes)]


class Settings(BaseSettings):
    """Runtime configuration. Defaults run the whole pipeline embedded on one machine."""

    model_config = SettingsConfigDict(env_prefix="CIVICPULSE_", extra="ignore", frozen=True)

    kafka_bootstrap: str | None = Field(
        default=None,
        # The plain KAFKA_BOOTSTRAP is what operators and CI already export for other tools.
        validation_alias=AliasChoices("CIVICPULSE_KAFKA_BOOTSTRAP", "KAFKA_BOOTSTRAP"),
        description="host:port list of an existing cluster; unset = the local launcher's broker",
    )
    kafka_version: str = Field(
        default="4.1.2", description="Apache Kafka release the launcher runs"
    )
    kafka_port: int = Field(default=19092, description="loopback port of the launcher's broker")
    kafka_controller_port: int = Field(
        default=19093, description="launcher's KRaft controller port"
    )
    kafka_nodes: int = Field(
        default=1,
        ge=1,
        le=9,
        description="nodes of the launcher's local cluster (`civicpulse kafka start --nodes`); "
        "node i listens on kafka_port + 2(i-1), its controller on kafka_controller_port + 2(i-1)",
    )
    topic_replication_factor: int | None = Field(
        default=None,
        ge=1,
        description="replicas per partition of every topic civicpulse creates (topics create, a "
        "worker's own topics, Faust's changelogs, alert topics), each with min.insync.replicas "
        "set to match (infra.topics.min_insync_replicas); unset = the cluster's defaults",
    )
    clickhouse_dsn: str | None = Field(
        default=None,
        description="chdb:///path (embedded) or http(s)://user:pass@host:port; unset = embedded "
        "chDB under data_dir",
    )
    clickhouse_database: str = Field(default="civicpulse")
    topic_prefix: str = Field(
        default="", description="prepended to every topic name so several cities share a cluster"
    )
    city_timezone: str = Field(default="Europe/Warsaw", description="IANA zone of calendar days")
    city_id: str = Field(
        default="city",
        description="scope_id of the city-wide scores (the stream writes it, verify checks it)",
    )
    data_dir: Path = Field(default=Path(".civicpulse"), description="broker logs, chDB, buffers")
    rules_file: Path | None = Field(default=None, description="anti-spam rules TOML")
    cache_dir: Path | None = Field(
        default=None,
        description="downloaded Kafka jars; unset = the user cache dir (platformdirs)",
    )
    catalogue_file: Path | None = Field(
        default=None,
        description="a catalogue JSON file `civicpulse up` loads onto the catalogue topic at start "
        "(a convenience: `civicpulse catalogue load` is the one way in; the API and the stream "
        "both read the topic, never the file)",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="one more bearer token for the query API (automation); tokens issued with "
        "`civicpulse tokens add` are stored hashed in data_dir",
    )
    api_cors_origins: list[str] = Field(
        default_factory=list,
        description="city web origins allowed to call the widget endpoints (JSON list in env)",
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        lt=65536,
        description="port of a stream worker's Prometheus /metrics on 127.0.0.1 (0: off; the "
        "API serves its own at /metrics)",
    )
    # The SQL endpoint (ClickHouse's HTTP interface over embedded chDB; docs/operations.md)
    sql_host: str = Field(default="127.0.0.1", description="interface of the SQL endpoint")
    sql_port: int = Field(
        default=8123, gt=0, lt=65536, description="port of the SQL endpoint (ClickHouse HTTP)"
    )
    sql_max_concurrent_queries: int = Field(
        default=2,
        ge=1,
        description="queries the SQL endpoint runs at once (each on its own read-only chDB "
        "connection); more wait in line",
    )
    sql_queue_seconds: float = Field(
        default=10.0, gt=0, description="how long a query waits for a free slot before code 202"
    )
    sql_max_execution_time: float = Field(
        default=30.0, gt=0, description="seconds a SQL endpoint query may run (code 159 past it)"
    )
    sql_max_result_rows: int = Field(
        default=1_000_000, ge=1, description="rows a SQL endpoint result may have (code 396)"
    )
    sql_max_result_bytes: int = Field(
        default=256_000_000, ge=1, description="bytes a SQL endpoint result may have (code 396)"
    )
    sql_max_memory_usage: int = Field(
        default=1_000_000_000, ge=1, description="bytes of memory one SQL endpoint query may use"
    )
    sql_max_threads: int = Field(
        default=2,
        ge=1,
        description="threads one SQL endpoint query may use (2: panel p95 within 1.5x of chDB "
        "directly and the sink's pace kept, benchmarks/sql_endpoint.py)",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated IPs or networks of the reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto the API believes; empty = nobody's (the client "
        "address is the TCP peer)",
    )
    api_batch_body_bytes: int = Field(
        default=256_000,
        gt=0,
        description="largest body of POST /v1/presses (sized for a full batch of 500 presses)",
    )
    api_web_body_bytes: int = Field(
        default=4096, gt=0, description="largest body of POST /v1/web/presses (one press)"
    )
    api_body_bytes: int = Field(
        default=16_384, gt=0, description="largest body of any other request"
    )
    api_body_seconds: float = Field(
        default=10.0,
        gt=0,
        description="time a client has to send a whole request body (slow bodies get 408)",
    )
    # Public results (docs/standards.md): off unless the city opts in
    public_results: bool = Field(
        default=False,
        description="serve /public and /public/{department}: per department and month score, "
        "responses and service standard attainment, no token",
    )
    public_cache_seconds: int = Field(
        default=300, gt=0, description="how long /public pages are cached (server and clients)"
    )
    # Alert delivery (`civicpulse alerts deliver`, docs/alerts.md)
    subscriptions: Path | None = Field(
        default=None,
        description="alert subscriptions TOML (docs/formats.md); set = `civicpulse up` also "
        "runs the delivery service",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the API's address as people reach it: links in delivered alerts",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server of alert e-mail")
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_starttls: bool = Field(default=True, description="STARTTLS before anything else")
    smtp_user: str | None = Field(default=None, description="login after STARTTLS when set")
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="civicpulse@localhost", description="From: of alert e-mail")
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA bundle the SMTP server's certificate is checked against "
        "(default: the system's)",
    )
    delivery_attempts: int = Field(
        default=8, ge=1, description="tries per delivery before it goes to `deadletter`"
    )
    delivery_backoff: float = Field(
        default=1.0, gt=0, description="seconds of the first retry's back-off (doubles per try)"
    )
    delivery_backoff_max: float = Field(
        default=300.0, gt=0, description="longest back-off between two tries, seconds"
    )
    delivery_timeout: float = Field(
        default=10.0, gt=0, description="seconds one webhook call or SMTP session may take"
    )
    # Silent devices (analytics.silent_watch, docs/alerts.md "Silent devices")
    silent_after_minutes: float = Field(
        default=30.0,
        gt=0,
        description="a terminal or kiosk quiet this long when it usually presses is silent",
    )
    silent_weeks: int = Field(
        default=3, ge=1, le=8, description="previous weeks that say when a device usually presses"
    )
    silent_min_weeks: int = Field(
        default=2, ge=1, description="of those, weeks it must have pressed in the same span"
    )
    silent_check_seconds: float = Field(
        default=60.0, ge=0, description="how often the sink checks for silent devices; 0: never"
    )

    @property
    def bootstrap_servers(self) -> str:
        """Where clients connect: the configured cluster, else the local launcher's broker."""
        if self.kafka_bootstrap:
            return self.kafka_bootstrap
        ports = launcher_node_ports(self.kafka_port, self.kafka_controller_port, self.kafka_nodes)
        return ",".join(f"127.0.0.1:{port}" for port, _ in ports)

    @property
    def clickhouse_url(self) -> str:
        return self.clickhouse_dsn or f"chdb:///{self.data_dir.resolve() / 'chdb'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
