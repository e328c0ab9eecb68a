"""``citeqa eval``: prepare datasets, run evaluations, compare runs.

Heavy modules (torch, chromadb, matplotlib) are imported inside the commands, so
``citeqa --help`` and the other commands do not pay for them.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from qa.evaluation.datasets import Dataset

eval_app = typer.Typer(help="Evaluate citeqa on a question set.", no_args_is_help=True)
console = Console()
# Redirected to a log, the metric table keeps one line per metric rather than wrapping at 80.
if not console.is_terminal:
    console = Console(width=200)


class Source(StrEnum):
    """What a dataset can be prepared from: a shared data set, or the staff's feedback."""

    clapnq = "clapnq"
    sample = "sample"
    feedback = "feedback"


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
    kind: Annotated[Source, typer.Argument(help="what to prepare the dataset from")],
    src: Annotated[
        Path,
        typer.Argument(
            help="clapnq/sample: the shared data folder, e.g. ../shared/data/clapnq; "
            "feedback: the dataset folder to write"
        ),
    ],
    out: Annotated[
        Path | None, typer.Argument(help="clapnq/sample: the dataset folder to write")
    ] = None,
    only: Annotated[
        list[SamplePart] | None,
        typer.Option(help="sample only: these question files (repeatable; default all)"),
    ] = None,
    collection: Annotated[
        list[str] | None,
        typer.Option(help="feedback only: from these collections (repeatable; default all)"),
    ] = None,
) -> None:
    """Convert shared data, or thumbs-down feedback, into a dataset (questions.jsonl and a
    corpus). ``citeqa eval prepare feedback OUT`` reads the people database and Chroma of
    the current settings (CITEQA_DATA_DIR, CITEQA_DATABASE_URL, CITEQA_CHROMA_URL)."""
    from qa.evaluation.datasets import prepare_clapnq, prepare_sample

    if only and kind is not Source.sample:
        typer.echo("--only applies to the sample only", err=True)
        raise typer.Exit(2)
    if collection and kind is not Source.feedback:
        typer.echo("--collection applies to feedback only", err=True)
        raise typer.Exit(2)
    if (kind is Source.feedback) != (out is None):
        usage = "feedback OUT" if kind is Source.feedback else f"{kind.value} SRC OUT"
        typer.echo(f"usage: citeqa eval prepare {usage}", err=True)
        raise typer.Exit(2)
    dataset: Dataset
    if kind is Source.feedback:
        dataset = _from_feedback(src, collection)
        out = src
    elif kind is Source.clapnq:
        assert out is not None
        dataset = prepare_clapnq(src, out)
    else:
        assert out is not None
        dataset = prepare_sample(src, out, [p.value for p in only] if only else None)
    answerable = sum(item.answerable for item in dataset.items)
    typer.echo(
        f"{out}: {len(dataset.items)} questions ({answerable} answerable), "
        f"corpus {dataset.corpus_path.name}"
    )


def _from_feedback(out: Path, collections: list[str] | None) -> Dataset:
    from qa.config import get_settings
    from qa.evaluation.feedback import prepare_feedback
    from qa.people.service import People
    from qa.service import Assistant

    settings = get_settings()
    people = People(settings)
    try:
        return prepare_feedback(people, Assistant(settings, policy=people.policy), out,
                                collections)  # fmt: skip
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        people.close()


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
