"""``civicpulse kafka ...`` and ``civicpulse topics ...``: the local broker and the topics.

Confluent-kafka and the launcher are imported inside the commands so ``civicpulse --help`` stays
fast.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from civicpulse.schemas.exceptions import CivicpulseError
from civicpulse.schemas.settings import get_settings

__all__ = ["kafka_app", "topics_app"]

kafka_app = typer.Typer(
    help="Run a real Apache Kafka 4.1 broker on 127.0.0.1 (KRaft, one node or a local cluster "
    "of several with --nodes, needs Java 17+). "
    "The first start downloads the broker's jars with `mvn` into the user cache dir; later "
    "starts are offline. With KAFKA_BOOTSTRAP set, that cluster is used and nothing is started.",
    no_args_is_help=True,
)
topics_app = typer.Typer(
    help="Create and list the pipeline's topics (names from the topic catalogue, with the "
    "CIVICPULSE_TOPIC_PREFIX prefix) on the configured cluster.",
    no_args_is_help=True,
)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(exc: CivicpulseError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@kafka_app.command("start")
def start(
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the broker to answer before giving up.")
    ] = 120.0,
    nodes: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=9,
            help="Nodes of a local cluster (KRaft controller + broker each; default "
            "CIVICPULSE_KAFKA_NODES, 1). Other commands find every node with "
            "CIVICPULSE_KAFKA_NODES set to the same number.",
        ),
    ] = None,
) -> None:
    """Start the local broker or cluster (the nodes that do not run yet) and wait until each
    answers.

    Ports: CIVICPULSE_KAFKA_PORT (19092), CIVICPULSE_KAFKA_CONTROLLER_PORT (19093); node i of a
    cluster adds 2(i-1) to both.

    Data and logs: CIVICPULSE_DATA_DIR/kafka. Version: CIVICPULSE_KAFKA_VERSION (4.1.2).

    Jar cache: CIVICPULSE_CACHE_DIR/kafka (default: the user cache dir).
    """
    from civicpulse.infra.kafka import LauncherConfig, ensure_broker, start_broker

    settings = get_settings()
    began = time.monotonic()
    try:
        if settings.kafka_bootstrap:
            with err.status(f"checking the cluster at {settings.kafka_bootstrap}"):
                ensure_broker(settings, timeout=timeout)
            out.print(
                f"KAFKA_BOOTSTRAP is set: using the cluster at {settings.kafka_bootstrap}; "
                "nothing started."
            )
            return
        config = replace(
            LauncherConfig.from_settings(settings), nodes=nodes or settings.kafka_nodes
        )
        with err.status("starting Kafka") as spinner:
            status = start_broker(
                config, progress=lambda message: spinner.update(message), timeout=timeout
            )
    except CivicpulseError as exc:
        raise _fail(exc) from exc
    verb = "started" if status.started_now else "already running"
    pids = ", ".join(str(node.pid) for node in status.nodes)
    out.print(
        f"Kafka {status.version or settings.kafka_version} {verb} on {status.bootstrap} "
        f"(pid {pids}, data {status.data_dir}) in {time.monotonic() - began:.1f}s",
        highlight=False,
    )
    if config.nodes != settings.kafka_nodes:
        out.print(
            f"other commands: export CIVICPULSE_KAFKA_NODES={config.nodes} (they then connect to "
            f"{status.bootstrap}; `kafka stop` stops every node either way)",
            highlight=False,
        )


@kafka_app.command("fetch")
def fetch(
    tools: Annotated[
        bool,
        typer.Option(
            help="Also Kafka's command-line tools (org.apache.kafka:kafka-tools, e.g. "
            "TopicCommand): run one with `java -cp '<printed folder>/*' "
            "org.apache.kafka.tools.TopicCommand --bootstrap-server ... --describe`."
        ),
    ] = False,
) -> None:
    """Download the broker's jars into the cache now (no broker is started).

    Lets a setup script pay the one-time Maven download up front; `start` does it otherwise.
    """
    from civicpulse.infra.java import require_java
    from civicpulse.infra.kafka_jars import resolve_jars

    settings = get_settings()
    began = time.monotonic()
    try:
        require_java()
        with err.status("resolving jars") as spinner:
            libs = resolve_jars(
                settings.kafka_version,
                settings.cache_dir,
                progress=lambda message: spinner.update(message),
            )
        folders = [libs]
        if tools:
            with err.status("resolving the tools' jars") as spinner:
                folders.append(
                    resolve_jars(
                        settings.kafka_version,
                        settings.cache_dir,
                        progress=lambda message: spinner.update(message),
                        tools=True,
                    )
                )
    except CivicpulseError as exc:
        raise _fail(exc) from exc
    for folder in folders:
        count = len(list(folder.glob("*.jar")))
        out.print(f"Apache Kafka {settings.kafka_version}: {count} jars in {folder}")
    out.print(f"({time.monotonic() - began:.1f}s)")


@kafka_app.command("stop")
def stop(
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait after SIGTERM before sending SIGKILL.")
    ] = 30.0,
) -> None:
    """Stop the local broker, every node of a cluster: SIGTERM to exactly the pids they were
    started with."""
    from civicpulse.infra.kafka import LauncherConfig, stop_nodes

    settings = get_settings()
    if settings.kafka_bootstrap:
        out.print(
            f"KAFKA_BOOTSTRAP is set ({settings.kafka_bootstrap}): that cluster is not managed "
            "by civicpulse; nothing to stop."
        )
        return
    config = LauncherConfig.from_settings(settings)
    with err.status("stopping Kafka"):
        pids = stop_nodes(config, timeout=timeout)
    if not pids:
        out.print(f"no broker running for {config.root}")
    elif len(pids) == 1:
        out.print(f"stopped Kafka broker (pid {pids[0]})")
    else:
        out.print(f"stopped {len(pids)} Kafka nodes (pids {', '.join(map(str, pids))})")


@kafka_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show whether the broker runs (each node of a cluster), its pid, bootstrap servers,
    version and data dir.

    Exits 0 when the broker runs, every node of a cluster (or the KAFKA_BOOTSTRAP cluster
    answers), 1 otherwise.
    """
    from civicpulse.infra.kafka import kafka_status

    state = kafka_status(get_settings())
    if as_json:
        record = {k: _plain(v) for k, v in state.__dict__.items() if k != "nodes"}
        record.pop("started_now", None)
        record["nodes"] = [{k: _plain(v) for k, v in n.__dict__.items()} for n in state.nodes]
        out.print_json(json.dumps(record))
    elif len(state.nodes) > 1:
        for node in state.nodes:
            running = f"running  pid {node.pid}" if node.running else "DOWN"
            out.print(
                f"node {node.node_id}  {node.bootstrap}  {running}  data {node.data_dir}",
                highlight=False,
            )
        out.print(
            f"bootstrap {state.bootstrap}\nversion  Apache Kafka {state.version or 'unknown'}",
            highlight=False,
        )
    elif state.external:
        answer = "answers" if state.running else "does NOT answer"
        out.print(f"external cluster (KAFKA_BOOTSTRAP) at {state.bootstrap} {answer}")
    elif state.running:
        out.print(
            f"running  pid {state.pid}\nbootstrap {state.bootstrap}\n"
            f"version  Apache Kafka {state.version or 'unknown'}\ndata     {state.data_dir}\n"
            f"log      {state.log_file}",
            highlight=False,
        )
    else:
        out.print(f"not running (data dir {state.data_dir}); `civicpulse kafka start` starts it")
    if not state.running:
        raise typer.Exit(code=1)


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Path) else value


@kafka_app.command("logs")
def logs(
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many last lines to show.")] = 50,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines (Ctrl-C ends).")
    ] = False,
    console: Annotated[
        bool,
        typer.Option(help="Show the JVM's stdout/stderr (crashes before logging starts) instead."),
    ] = False,
    node: Annotated[
        int, typer.Option(min=1, help="Which node of a local cluster (CIVICPULSE_KAFKA_NODES).")
    ] = 1,
) -> None:
    """Print the end of the local broker's log (CIVICPULSE_DATA_DIR/kafka/logs/server.log; a
    cluster's node N: CIVICPULSE_DATA_DIR/kafka/node-N/logs/server.log)."""
    from civicpulse.infra.kafka import LauncherConfig
    from civicpulse.infra.kafka_process import tail

    layout = LauncherConfig.from_settings(get_settings()).node_layout(node)
    path = layout.console_log if console else layout.server_log
    if not path.exists():
        err.print(f"no log yet at {path}; has the broker been started here?")
        raise typer.Exit(code=1)
    typer.echo(tail(path, lines))
    if not follow:
        return
    with path.open("rb") as handle:
        handle.seek(0, 2)
        try:
            while True:
                chunk = handle.read()
                if chunk:
                    typer.echo(chunk.decode("utf-8", errors="replace"), nl=False)
                else:
                    time.sleep(0.5)
        except KeyboardInterrupt:
            return


@topics_app.command("create")
def create(
    prefix: Annotated[
        str | None, typer.Option(help="Topic name prefix (default: CIVICPULSE_TOPIC_PREFIX).")
    ] = None,
    department: Annotated[
        list[str] | None,
        typer.Option(
            "--department", "-d", help="Also create alerts.<department> (repeat for several)."
        ),
    ] = None,
    replication_factor: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Replicas per partition, each topic with min.insync.replicas to match (2 of 3); "
            "fails when the cluster has fewer brokers (default: "
            "CIVICPULSE_TOPIC_REPLICATION_FACTOR, else the cluster's defaults).",
        ),
    ] = None,
) -> None:
    """Create every topic of the catalogue and every topic a stream stage's processors declare
    (read or write); topics that already exist are left as they are."""
    from civicpulse.infra.topics import create_topics, ensure_alert_topics, merge_reports

    # The one command of infra that reads the stream: the stages' declarations say which topics
    # they use (stream.framework.registry), so a new processor's output needs no list here.
    from civicpulse.stream.app import stage_topics

    settings = get_settings()
    chosen = settings.topic_prefix if prefix is None else prefix
    bootstrap = settings.bootstrap_servers
    if replication_factor is None:
        replication_factor = settings.topic_replication_factor
    try:
        with err.status(f"creating topics on {bootstrap}"):
            report = create_topics(
                bootstrap, chosen, replication_factor=replication_factor, extra=stage_topics()
            )
            if department:
                alerts = ensure_alert_topics(
                    bootstrap, department, chosen, replication_factor=replication_factor
                )
                report = merge_reports(report, alerts)
    except CivicpulseError as exc:
        raise _fail(exc) from exc
    for name in report.created:
        out.print(f"created  {name}", highlight=False)
    for name in report.existing:
        out.print(f"exists   {name}", highlight=False)
    for name in report.fewer_partitions:
        err.print(f"[yellow]warning:[/] {name} has fewer partitions than the catalogue asks for")
    out.print(f"{len(report.created)} created, {len(report.existing)} already existed")


@topics_app.command("list")
def list_(
    prefix: Annotated[
        str | None, typer.Option(help="Only topics starting with this (default: the prefix).")
    ] = None,
) -> None:
    """List the cluster's topics (internal ones excluded) with their partition counts."""
    from civicpulse.infra.topics import list_topics

    settings = get_settings()
    chosen = settings.topic_prefix if prefix is None else prefix
    try:
        topics = list_topics(settings.bootstrap_servers, chosen)
    except CivicpulseError as exc:
        raise _fail(exc) from exc
    for name, partitions in topics.items():
        out.print(f"{name}  ({partitions} partitions)", highlight=False)
    if not topics:
        out.print(f"no topics starting with {chosen!r} on {settings.bootstrap_servers}")
