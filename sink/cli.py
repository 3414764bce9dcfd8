"""Placeholder, replaced by the sink work."""
import typer
db_app = typer.Typer()
