"""``citeqa docs``: list, check and remove stored documents."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from qa.cli_common import CollectionOpt, assistant, console, err

docs_app = typer.Typer(help="List, check and remove stored documents.", no_args_is_help=True)


@docs_app.command("list")
def docs_list(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    collection: CollectionOpt = None,
) -> None:
    """Stored documents with their metadata."""
    docs = assistant(collection).documents()
    if as_json:
        console.print_json(json.dumps(docs))
        return
    table = Table("doc_id", "title", "date", "chunks", "source")
    for d in docs:
        table.add_row(
            d["doc_id"], str(d.get("title")), str(d.get("date") or ""),
            str(d.get("n_chunks")), str(d.get("source")),
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(docs)} documents")


@docs_app.command("check")
def docs_check(collection: CollectionOpt = None) -> None:
    """Find stored documents whose chunks are missing or short. Exit 1 when any is;
    ingesting such a document's file again heals it."""
    problems = assistant(collection).store(collection).check()
    for p in problems:
        err.print(
            f"damaged  {p.doc_id}: {p.present} of {p.expected} chunks present",
            markup=False,
            soft_wrap=True,
        )
    console.print(f"{len(problems)} damaged documents")
    if problems:
        raise typer.Exit(1)


@docs_app.command("remove")
def docs_remove(
    doc_id: Annotated[str, typer.Argument(help="as shown by 'citeqa docs list'")],
    collection: CollectionOpt = None,
) -> None:
    """Remove a document and its chunks (from Chroma and the lexical index)."""
    if not assistant(collection).remove(doc_id):
        err.print(f"no document {doc_id!r}")
        raise typer.Exit(1)
    console.print(f"removed {doc_id}")
