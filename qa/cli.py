"""The ``citeqa`` command line: ingest, search, docs, ask, chat, serve, eval."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from qa.cli_common import CollectionOpt, assistant, console, err
from qa.cli_docs import docs_app
from qa.config import get_settings
from qa.people.identity import LOCAL_USER
from qa.service import Assistant
from qa.types import Answer, AsOf, Filters, IngestResult, Turn

EXIT_PARTIAL = 3
T = TypeVar("T")

app = typer.Typer(
    help="citeqa: answers from your documents, citing the sentences they rest on.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(docs_app, name="docs")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders (folders recurse)")],
    collection: CollectionOpt = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="batches embedded and written at once")
    ] = 1,
) -> None:
    """Add or update documents; unchanged ones cost nothing. Exit 3 when some failed."""
    service = assistant(collection)
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=None, rate="")
        started = time.monotonic()

        def advance(result: IngestResult, done: int, total: int) -> None:
            per_s = done / max(time.monotonic() - started, 1e-6)
            progress.update(
                task,
                completed=done,
                total=total,
                description=Path(result.path).name,
                rate=f"{per_s:.1f} files/s",
            )

        report = service.ingest(paths, progress=advance, workers=workers)
    for result in report.results:
        if result.status == "failed":
            # soft_wrap: a long path stays on one line, whole, for the reader and for grep.
            err.print(
                f"[red]failed[/red]  {escape(result.path)}: {escape(str(result.reason))}",
                soft_wrap=True,
            )
        elif result.reason:
            err.print(
                f"{result.status}  {result.path}: {result.reason}", markup=False, soft_wrap=True
            )
    console.print(
        f"added {report.count('added')}, updated {report.count('updated')}, "
        f"unchanged {report.count('unchanged')}, failed {report.count('failed')}"
    )
    if not report.results:
        err.print("nothing to ingest: no supported files under the given paths")
        raise typer.Exit(1)
    if report.partial:
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="what to look for")],
    k: Annotated[int, typer.Option("--k", help="how many chunks")] = 5,
    date_from: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD, YYYY-MM or YYYY, inclusive")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD, YYYY-MM or YYYY, inclusive")
    ] = None,
    source: Annotated[str | None, typer.Option(help="document id or part of its source")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    collection: CollectionOpt = None,
) -> None:
    """Hybrid (dense + BM25) search; prints the best chunks with their scores."""
    service = assistant(collection)
    filters = valid(lambda: Filters(date_from=date_from, date_to=date_to))
    if source:
        known = service.store().documents()
        filters = filters.model_copy(
            update={"doc_ids": [source]} if source in known else {"source": source}
        )
    hits = service.search(query, k, filters)
    if as_json:
        console.print_json(json.dumps([h.model_dump() for h in hits]))
        return
    if not hits:
        console.print("no results")
        return
    for rank, hit in enumerate(hits, start=1):
        meta = hit.chunk.metadata
        console.print(
            f"[bold]{rank}.[/bold] {meta.get('title')} ({meta.get('date') or 'no date'})  "
            f"[dim]{hit.chunk.id}  rrf={hit.score:.4f} dense#{hit.dense_rank} "
            f"bm25#{hit.lexical_rank}[/dim]"
        )
        console.print(f"   {hit.chunk.text[:400]}", markup=False, highlight=False)


ModeOpt = Annotated[
    str | None,
    typer.Option("--mode", "-m", help="a mode in qa.llm.registry (default: settings)"),
]


def print_answer(answer: Answer) -> None:
    """The answer, then its numbered sources with the quoted sentences."""
    style = "yellow" if answer.abstained else "bold"
    console.print(answer.text, style=style, markup=False, highlight=False)
    if answer.citations:
        console.print()
        for c in answer.citations:
            label = f"[{c.marker}] {c.title}" + (f", {c.date}" if c.date else "")
            console.print(label, style="cyan", markup=False, highlight=False)
            console.print(f'    "{c.quote}"', markup=False, highlight=False)
            console.print(f"    {c.source}:{c.start}-{c.end}", style="dim", markup=False)
    elif answer.abstained and answer.sources:
        console.print("\nClosest sources:", style="dim")
        for src in answer.sources[:3]:
            console.print(f"  - {src.title} ({src.date or 'no date'})", style="dim", markup=False)


def answering(collection: str | None, mode: str | None) -> Assistant:
    service = assistant(collection, mode)
    if not collection:
        service.ensure_examples()
    return service


AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="answer as of this date (YYYY-MM-DD, YYYY-MM or YYYY; default today): nothing "
        "published later is evidence, and 'last week' counts back from it",
    ),
]


def valid(build: Callable[[], T]) -> T:
    """A value built from options; a malformed one (a date) is exit 2 naming the field."""
    try:
        return build()
    except ValueError as exc:
        errors: list[dict[str, Any]] = getattr(exc, "errors", lambda: [])()
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in errors
        )
        err.print(f"[red]{message or exc}[/red]")
        raise typer.Exit(2) from None


def as_of_date(value: str | None) -> date | None:
    return valid(lambda: AsOfDate(as_of=value).as_of)


class AsOfDate(BaseModel):
    as_of: AsOf = None


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="a question about your documents")],
    mode: ModeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the Answer as JSON")] = False,
    collection: CollectionOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Answer one question, citing the sentences the answer rests on."""
    day = as_of_date(as_of)
    answer = answering(collection, mode).ask(question, as_of=day)
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    print_answer(answer)


@app.command()
def chat(
    mode: ModeOpt = None,
    collection: CollectionOpt = None,
    as_of: AsOfOpt = None,
    resume: Annotated[
        str | None,
        typer.Option(help="continue this saved conversation (its id, as the page and API show)"),
    ] = None,
    user: Annotated[str, typer.Option(help="whose conversation --resume continues")] = LOCAL_USER,
) -> None:
    """An interactive conversation; follow-up questions use what was said before. With
    --resume, a saved conversation is shown, continued, and every new turn saved to it."""
    from qa.chain_io import AnswerEvent, TokenEvent
    from qa.http.turns import bounded

    day = as_of_date(as_of)
    service = answering(collection, mode)
    saved = Resumed(service, resume, user) if resume else None
    history = saved.history() if saved else []
    console.print("Ask about your documents. An empty line or Ctrl-D ends the chat.", style="dim")
    while True:
        try:
            question = console.input("[bold green]you>[/bold green] ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question:
            break
        streamed = ""
        limits = service.settings.max_history_turns, service.settings.max_history_chars
        recent = bounded(history, *limits)
        for event in service.stream(question, recent, None, None, collection,
                                    user if saved else None, as_of=day):  # fmt: skip
            if isinstance(event, TokenEvent):
                streamed += event.text
                console.print(event.text, end="", style="dim", markup=False, highlight=False)
            elif isinstance(event, AnswerEvent):
                if streamed:
                    console.print()
                if streamed.strip() != event.answer.text.strip():
                    console.print("verified:", style="dim")
                print_answer(event.answer)
                history += [
                    Turn(role="user", content=question),
                    Turn.reply(event.answer),
                ]
                if saved:
                    saved.append(event.answer, collection or service.settings.collection)
    if saved:
        saved.close()


class Resumed:
    """A saved conversation continued from the command line, as ``user``."""

    def __init__(self, service: Assistant, conversation: str, user: str) -> None:
        from qa.people.identity import User
        from qa.people.records import NotFound
        from qa.people.service import People

        self.people = People(service.settings)
        self.conversation, self.user = conversation, User(name=user)
        try:
            self.view = self.people.conversations.get(self.user, conversation)
        except NotFound:
            self.people.close()
            err.print(f"no conversation {conversation!r} of {user!r} (see GET /v1/conversations)")
            raise typer.Exit(1) from None
        if self.view.read_only:
            self.people.close()
            err.print("that conversation was shared with you: it is read-only")
            raise typer.Exit(1)

    def history(self) -> list[Turn]:
        """The saved turns, shown as they were answered; the chat goes on from them."""
        console.print(f"{self.view.title or 'Untitled conversation'}", style="bold")
        from qa.http.turns import messages_of

        for turn in self.view.turns:
            console.print(f"you> {turn.question}", style="green", markup=False, highlight=False)
            print_answer(turn.answer)
        return messages_of(self.view.turns)

    def append(self, answer: Answer, collection: str) -> None:
        from qa.http.public import public_answer

        saved = public_answer(answer)  # as the page and the API save answers
        self.people.conversations.append_turn(self.user, self.conversation, saved, collection)

    def close(self) -> None:
        self.people.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: settings)")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="worker processes (default: settings; >1 needs a Chroma server)"),
    ] = None,
) -> None:
    """Serve the chat page, the REST API and the OpenAI-compatible endpoint on one port."""
    from qa.http.app import serve as run_server

    settings = get_settings()
    run_server(settings, host or settings.host, port or settings.port,
               workers or settings.workers)  # fmt: skip


def main() -> None:
    from qa.evaluation.cli import eval_app

    app.add_typer(eval_app, name="eval")
    app()
