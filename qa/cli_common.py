"""What the ``citeqa`` commands share: their consoles, the collection option, and the
assistant built from settings with a command's overrides."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from qa.config import Settings, get_settings
from qa.service import Assistant

console = Console()
err = Console(stderr=True)

CollectionOpt = Annotated[
    str | None, typer.Option("--collection", "-c", help="collection (default: settings)")
]


def settings_for(collection: str | None = None, mode: str | None = None) -> Settings:
    """Settings from the environment with the command's overrides, validated again (a mode
    the command names must be able to work)."""
    overrides = {k: v for k, v in (("collection", collection), ("mode", mode)) if v}
    if not overrides:
        return get_settings()
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def assistant(collection: str | None = None, mode: str | None = None) -> Assistant:
    return Assistant(settings_for(collection, mode))
