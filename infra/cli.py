"""Placeholder, replaced by the infra work."""
import typer
kafka_app = typer.Typer()
topics_app = typer.Typer()
