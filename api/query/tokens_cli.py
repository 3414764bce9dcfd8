"""``civicpulse tokens add|list|revoke``: bearer tokens of the query API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from civicpulse.api.query.tokens import ApiTokens

__all__ = ["tokens_app"]

console = Console(stderr=True)
tokens_app = typer.Typer(help="Bearer tokens for the query and export API.", no_args_is_help=True)


def _store() -> ApiTokens:
    from civicpulse.api.query.tokens import ApiTokens
    from civicpulse.schemas.settings import get_settings

    return ApiTokens.in_data_dir(get_settings().data_dir)


@tokens_app.command("add")
def add(name: Annotated[str, typer.Argument(help="who or what the token is for")]) -> None:
    """Issue a token NAME (replacing an earlier one of that name); printed once, stored hashed."""
    store = _store()
    token = store.add(name)
    console.print(f"token [bold]{name}[/] (shown once; send it as Authorization: Bearer ...):")
    typer.echo(token)


@tokens_app.command("list")
def list_tokens() -> None:
    """Names of the issued tokens and when they were issued (never the tokens)."""
    store = _store()
    for entry in store.entries():
        typer.echo(f"{entry.name}\t{entry.created_at}")


@tokens_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="the token's name")]) -> None:
    """Revoke the token NAME; a running API refuses it within seconds."""
    store = _store()
    if not store.revoke(name):
        raise typer.BadParameter(f"no token named {name!r}")
    console.print(f"revoked token {name}")
