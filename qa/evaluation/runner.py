"""Run an evaluation: ask a dataset's questions, log one result row each, write the reports.

The corpus is ingested into a store of the run's own (``<out>/store``, embedded Chroma), so
an evaluation never touches a user's data; ingestion is incremental, so a rerun costs
nothing. Rows are appended durably as they are produced and a rerun skips the (question,
system) pairs already logged, so a killed run resumes where it stopped. Questions are asked
in file order with a temperature-0 model, so the same settings give the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.evaluation.datasets import EvalItem, load_dataset
from qa.evaluation.metrics import summarize_systems
from qa.evaluation.report import append_row, read_rows, write_report
from qa.evaluation.support import analyze
from qa.types import Answer
from vectorstore.embeddings import LocalEmbeddings

CITEQA = "citeqa"
BASELINE = "baseline"
RESULTS = "results.jsonl"
RUN_CONFIG = "run.json"
STORE = "store"
COLLECTION = "eval-citeqa"
# Settings that cannot change an answer: storage and serving (the run has its own store),
# credentials, timeouts and threads. Every other setting is recorded and fixed per run folder,
# so a setting added later is guarded by default.
NEUTRAL_SETTINGS = frozenset(
    {
        "data_dir",
        "chroma_url",
        "collection",
        "examples_dir",
        "max_file_mb",
        "embed_batch_size",
        "mode",
        "n_threads",
        "openai_api_key",
        "openai_timeout",
        "host",
        "port",
        "api_keys",
        "ui_users",
    }
)
# Model settings matter only in their own mode.
MODEL_SETTINGS = {"local": ("gguf_path", "n_ctx"), "openai": ("openai_base_url", "openai_model")}


@dataclass
class RunResult:
    """What a run produced: every row of the selected questions, and the per-system summaries."""

    out_dir: Path
    rows: list[dict[str, Any]]
    summaries: dict[str, dict[str, Any]]
    asked: int
    resumed: int


def select(items: Sequence[EvalItem], limit: int | None) -> list[EvalItem]:
    """The first ``limit`` questions, balanced: answerable and unanswerable ones alternately
    in file order (the other kind fills in when one runs out), kept in file order.

    Balancing keeps a small ClapNQ subset measuring abstention; taking the first of each kind
    makes a smaller limit a prefix of a larger one, so a run can be extended in place.
    """
    if limit is None or limit >= len(items):
        return list(items)
    queues = [[i for i, x in enumerate(items) if x.answerable == kind] for kind in (True, False)]
    chosen: list[int] = []
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return [items[i] for i in sorted(chosen)]


def eval_settings(settings: Settings, out_dir: Path, mode: str) -> Settings:
    """The user's settings pointed at the run's private embedded store."""
    return settings.model_copy(
        update={
            "data_dir": out_dir / STORE,
            "chroma_url": None,
            "collection": COLLECTION,
            "mode": mode,
        }
    )


def run_config(dataset_dir: Path, mode: str, settings: Settings) -> dict[str, Any]:
    """What must not change between the sessions of one run folder."""
    other_modes = {n for m, names in MODEL_SETTINGS.items() if m != mode for n in names}
    names = [n for n in Settings.model_fields if n not in NEUTRAL_SETTINGS | other_modes]
    values = {name: getattr(settings, name) for name in names}
    return {
        "dataset": str(dataset_dir.resolve()),
        "mode": mode,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in values.items()},
    }


def claim_folder(out_dir: Path, config: Mapping[str, Any]) -> None:
    """Record the run's config, or refuse a folder that holds a run with another one."""
    path = out_dir / RUN_CONFIG
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old != config:
            raise ValueError(
                f"{out_dir} holds a run with other settings ({path}); choose another --out"
            )
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def citeqa_row(item: EvalItem, answer: Answer) -> dict[str, Any]:
    """A result row from a citeqa Answer; ``support`` is the score it abstains on."""
    evidence = answer.trace.get("evidence") or []
    return item.model_dump() | {
        "system": CITEQA,
        "answer": answer.text,
        "abstained": answer.abstained,
        "citations": [
            c.model_dump(include={"marker", "doc_id", "source", "quote", "verified", "support"})
            for c in answer.citations
        ],
        "retrieved": [{"doc_id": s.doc_id, "source": s.source} for s in answer.sources],
        "timings": answer.timings,
        "llm_calls": answer.llm_calls,
        "tokens": answer.tokens,
        "support": evidence[0]["score"] if evidence else None,
    }


def run(
    dataset_dir: Path | str,
    mode: str,
    out_dir: Path | str,
    limit: int | None = None,
    baseline: bool = False,
    settings: Settings | None = None,
    embeddings: LocalEmbeddings | None = None,
    command: str = "",
) -> RunResult:
    """Evaluate citeqa (and the baseline) on a dataset; resumes a run left in ``out_dir``."""
    dataset_path, out = Path(dataset_dir), Path(out_dir)
    dataset = load_dataset(dataset_path)
    config = eval_settings(settings or Settings(), out, mode)
    fixed = run_config(dataset_path, mode, config)
    claim_folder(out, fixed)
    items = select(dataset.items, limit)
    systems = [CITEQA, BASELINE] if baseline else [CITEQA]
    plan = [(item, system) for item in items for system in systems]
    done = {(str(r["id"]), str(r["system"])) for r in read_rows(out / RESULTS)}
    todo = [(item, system) for item, system in plan if (item.id, system) not in done]
    if todo:
        for row in _answer(todo, dataset.corpus_path, config, embeddings):
            append_row(out / RESULTS, row)

    by_key = {(str(r["id"]), str(r["system"])): r for r in read_rows(out / RESULTS)}
    rows = [by_key[(item.id, system)] for item, system in plan if (item.id, system) in by_key]
    summaries = summarize_systems(rows)
    meta = {
        "dataset": dataset.name,
        "mode": mode,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "questions": len(items),
        "limit": limit,
        "systems": ", ".join(systems),
        "dataset_path": shown_path(dataset_path),
        "settings": fixed["settings"],
    }
    write_report(out, rows, summaries, meta, analyze(rows, config.min_support))
    return RunResult(out, rows, summaries, asked=len(todo), resumed=len(plan) - len(todo))


def shown_path(path: Path) -> str:
    """A path as shown in reports: relative to the working directory when inside it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)


def _answer(
    todo: Sequence[tuple[EvalItem, str]],
    corpus: Path,
    settings: Settings,
    embeddings: LocalEmbeddings | None,
) -> Iterator[dict[str, Any]]:
    """Ingest the corpus for both systems, then yield one row per (question, system) pair."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from qa.evaluation.baseline import LangChainBaseline
    from qa.service import Assistant

    assistant = Assistant(settings, embeddings=embeddings)
    report = assistant.ingest([corpus], collection=COLLECTION)
    if report.partial:
        failed = [f"{r.path}: {r.reason}" for r in report.results if r.status == "failed"]
        raise RuntimeError("the corpus did not ingest cleanly:\n" + "\n".join(failed))
    recipe = None
    if any(system == BASELINE for _, system in todo):
        llm = assistant.chain(settings.mode, COLLECTION).llm
        recipe = LangChainBaseline(assistant.client, assistant.embeddings, llm)
        recipe.ingest(corpus, int(settings.max_file_mb * 1_000_000))

    with Progress(
        TextColumn("[bold]eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task("", total=len(todo))
        for item, system in todo:
            progress.update(task, description=f"{system} {item.id}")
            if system == CITEQA:
                answer = assistant.ask(item.question, mode=settings.mode, collection=COLLECTION)
                yield citeqa_row(item, answer)
            else:
                assert recipe is not None
                found = recipe.ask(item.question)
                yield item.model_dump() | {
                    "system": BASELINE,
                    "answer": found.text,
                    "abstained": found.abstained,
                    "citations": [],
                    "retrieved": found.retrieved,
                    "timings": found.timings,
                    "llm_calls": found.llm_calls,
                    "tokens": found.tokens,
                }
            progress.advance(task)
