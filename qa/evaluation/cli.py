"""``citeqa eval``: prepare datasets, run evaluations, compare runs.

Heavy modules (torch, chromadb, matplotlib) are imported inside the commands, so
``citeqa --help`` and the other commands do not pay for them.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

eval_app = typer.Typer(help="Evaluate citeqa on a question set.", no_args_is_help=True)
console = Console()
# Redirected to a log, the metric table keeps one line per metric rather than wrapping at 80.
if not console.is_terminal:
    console = Console(width=200)


class Source(StrEnum):
    """The shared data sets a dataset can be prepared from."""

    clapnq = "clapnq"
    sample = "sample"


class Baseline(StrEnum):
    """Systems that can run beside citeqa."""

    langchain = "langchain"


class SplitName(StrEnum):
    """The halves of a dataset, fixed by a hash of the question id."""

    tune = "tune"
    test = "test"


class SamplePart(StrEnum):
    """The sample's question files."""

    questions = "questions"
    paraphrase = "paraphrase"
    followups = "followups"


@eval_app.command()
def prepare(
    kind: Annotated[Source, typer.Argument(help="which shared data set SRC holds")],
    src: Annotated[Path, typer.Argument(help="its folder, e.g. ../shared/data/clapnq")],
    out: Annotated[Path, typer.Argument(help="dataset folder to write")],
    only: Annotated[
        list[SamplePart] | None,
        typer.Option(help="sample only: these question files (repeatable; default all)"),
    ] = None,
) -> None:
    """Convert shared data into a dataset (questions.jsonl and a corpus)."""
    from qa.evaluation.datasets import prepare_clapnq, prepare_sample

    if kind is Source.clapnq:
        if only:
            typer.echo("--only applies to the sample only", err=True)
            raise typer.Exit(2)
        dataset = prepare_clapnq(src, out)
    else:
        dataset = prepare_sample(src, out, [p.value for p in only] if only else None)
    answerable = sum(item.answerable for item in dataset.items)
    typer.echo(
        f"{out}: {len(dataset.items)} questions ({answerable} answerable), "
        f"corpus {dataset.corpus_path.name}"
    )


@eval_app.command()
def run(
    dataset: Annotated[Path, typer.Argument(help="dataset folder (see 'citeqa eval prepare')")],
    mode: Annotated[
        str | None, typer.Option(help="answer mode, a name in qa.llm.registry (default: settings)")
    ] = None,
    split: Annotated[
        SplitName | None,
        typer.Option(help="only this half of the questions (fixed by a hash of the id)"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="first N questions, half answerable")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="run folder (default: runs/<dataset>-<mode>)")
    ] = None,
    baseline: Annotated[
        Baseline | None, typer.Option(help="also run this baseline through the same harness")
    ] = None,
    k: Annotated[
        int, typer.Option(min=1, help="chunks every system ranks for the retrieval metrics")
    ] = 10,
    progress_every: Annotated[
        int, typer.Option(min=1, help="questions per progress line when stderr is no terminal")
    ] = 20,
) -> None:
    """Ask every question, score it, and write results.jsonl, summary.json and reports.

    Rerunning into the same folder resumes: questions already answered are not asked again.
    """
    from rich.table import Table

    from qa.config import get_settings
    from qa.evaluation.runner import run as run_eval
    from qa.evaluation.tables import column_names, merged_cells
    from qa.llm.registry import names

    settings = get_settings()
    if mode is not None and mode not in names():
        raise typer.BadParameter(f"unknown mode {mode!r}; known: {', '.join(names())}")
    chosen = mode or settings.mode
    suffix = f"-{split.value}" if split else ""
    folder = out or Path("runs") / f"{dataset.resolve().name}-{chosen}{suffix}"
    command = " ".join(["citeqa", *sys.argv[1:]])
    try:
        result = run_eval(
            dataset,
            chosen,
            folder,
            limit,
            baseline is not None,
            settings,
            command=command,
            split=split.value if split else None,
            depth=k,
            progress_every=progress_every,
        )
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    table = Table("metric", *column_names(result.summaries, result.pairs))
    for _, name, cells in merged_cells(result.summaries, result.pairs):
        table.add_row(name, *cells)
    console.print(table)
    typer.echo(f"asked {result.asked}, resumed {result.resumed}; report: {folder / 'report.html'}")


@eval_app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="run folder (the 'before')")],
    run_b: Annotated[Path, typer.Argument(help="run folder (the 'after')")],
    out: Annotated[
        Path | None, typer.Option(help="where compare.md/.png go (default: RUN_B)")
    ] = None,
) -> None:
    """Print the metric differences of two runs (b - a); write compare.md and compare.png."""
    from qa.evaluation.compare import compare as compare_runs

    target = out or run_b
    typer.echo(compare_runs(run_a, run_b, target))
    typer.echo(f"written: {target / 'compare.md'}, {target / 'compare.png'}")
