"""Run an evaluation: ask a dataset's questions, log one result row each, write the reports.

The corpus is ingested into a store of the run's own (``<out>/store``, embedded Chroma), so
an evaluation never touches a user's data; ingestion is incremental, so a rerun costs
nothing. Before any question is asked, every ``gold_doc`` must match an ingested document:
a gold entry that matches nothing would silently score as a miss. Rows are appended durably
as they are produced and a rerun skips the (question, system) pairs already logged, so a
killed run resumes where it stopped. Questions are asked in file order with a
temperature-0 model, so the same settings give the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.evaluation.datasets import EvalItem, Split, load_dataset, split_of
from qa.evaluation.metrics import paired, summarize_systems
from qa.evaluation.progress import EVERY, progress
from qa.evaluation.ranking import unmatched_gold
from qa.evaluation.report import append_row, read_rows, write_report
from qa.evaluation.support import analyze
from qa.evaluation.systems import BASELINE, CITEQA, BaselineSystem, CiteqaSystem, System
from vectorstore.embeddings import CachedEmbeddings

#: Chunks both systems rank for the retrieval metrics, unless ``--k`` says otherwise.
DEPTH = 10
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
        "metrics_key",
        "session_secret",
        "access",
        "database_url",
        "modes",
        "workers",
        "max_question_chars",
        "max_history_turns",
        "max_history_chars",
        "max_request_kb",
        "sources_in_content",
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
    pairs: dict[str, dict[str, Any]] | None = None


def in_split(items: Sequence[EvalItem], split: Split | None) -> list[EvalItem]:
    """The items of one half (``tune`` or ``test``, by :func:`split_of`), or all of them."""
    return [item for item in items if split is None or split_of(item.id) == split]


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


def run(
    dataset_dir: Path | str,
    mode: str,
    out_dir: Path | str,
    limit: int | None = None,
    baseline: bool = False,
    settings: Settings | None = None,
    embeddings: CachedEmbeddings | None = None,
    command: str = "",
    split: Split | None = None,
    depth: int = DEPTH,
    progress_every: int = EVERY,
) -> RunResult:
    """Evaluate citeqa (and the baseline) on a dataset; resumes a run left in ``out_dir``.

    ``split`` keeps one half of the questions; ``limit`` then takes a balanced prefix of it;
    ``depth`` is the number of chunks both systems rank for the retrieval metrics.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    dataset_path, out = Path(dataset_dir), Path(out_dir)
    dataset = load_dataset(dataset_path)
    config = eval_settings(settings or Settings(), out, mode)
    fixed = run_config(dataset_path, mode, config) | {"depth": depth}
    claim_folder(out, fixed)
    items = select(in_split(dataset.items, split), limit)
    names = [CITEQA, BASELINE] if baseline else [CITEQA]
    done = {(str(r["id"]), str(r["system"])) for r in read_rows(out / RESULTS)}
    todo = [(item, [n for n in names if (item.id, n) not in done]) for item in items]
    todo = [(item, pending) for item, pending in todo if pending]
    if todo:
        systems = _prepare(items, names, dataset.corpus_path, config, embeddings, depth)
        with progress(len(todo), progress_every) as advance:
            for item, pending in todo:
                for name in pending:
                    append_row(out / RESULTS, systems[name].row(item))
                advance(item.id)

    by_key = {(str(r["id"]), str(r["system"])): r for r in read_rows(out / RESULTS)}
    plan = [(item.id, name) for item in items for name in names]
    rows = [by_key[key] for key in plan if key in by_key]
    summaries = summarize_systems(rows)
    meta = {
        "dataset": dataset.name,
        "mode": mode,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "questions": len(items),
        "split": split or "all",
        "limit": limit,
        "systems": ", ".join(names),
        "depth": depth_note(summaries, depth),
        "dataset_path": shown_path(dataset_path),
        "settings": fixed["settings"],
    }
    pairs = paired(rows, CITEQA, BASELINE) if baseline else None
    write_report(out, rows, summaries, meta, analyze(rows, config.min_support), pairs)
    asked = sum(len(pending) for _, pending in todo)
    return RunResult(out, rows, summaries, asked, len(plan) - asked, pairs)


def depth_note(summaries: Mapping[str, Mapping[str, Any]], depth: int) -> str:
    """What the report says about depth: equal for retrieval, each system's own for answers."""
    answers = ", ".join(f"{name} {s.get('answer_depth')}" for name, s in summaries.items())
    return f"retrieval metrics: {depth} chunks ranked by every system; answers from: {answers}"


def _prepare(
    items: Sequence[EvalItem],
    names: Sequence[str],
    corpus: Path,
    settings: Settings,
    embeddings: CachedEmbeddings | None,
    depth: int,
) -> dict[str, System]:
    """Ingest the corpus for each system, refuse gold entries that match no document, and
    return the systems ready to answer."""
    from qa.evaluation.baseline import LangChainBaseline
    from qa.service import Assistant

    assistant = Assistant(settings, embeddings=embeddings)
    report = assistant.ingest([corpus], collection=COLLECTION)
    if report.partial:
        failed = [f"{r.path}: {r.reason}" for r in report.results if r.status == "failed"]
        raise RuntimeError("the corpus did not ingest cleanly:\n" + "\n".join(failed))
    ingested = {d for r in report.results for d in r.doc_ids}
    documents = [
        (str(d["doc_id"]), str(d.get("source") or ""))
        for d in assistant.documents(COLLECTION)
        if d["doc_id"] in ingested
    ]
    check_gold(items, documents)
    systems: dict[str, System] = {CITEQA: CiteqaSystem(assistant, settings.mode, COLLECTION, depth)}
    if BASELINE in names:
        llm = assistant.chain(settings.mode, COLLECTION).llm
        recipe = LangChainBaseline(assistant.client, assistant.embeddings, llm)
        recipe.ingest(corpus, int(settings.max_file_mb * 1_000_000))
        systems[BASELINE] = BaselineSystem(recipe, depth)
    return systems


def check_gold(items: Sequence[EvalItem], documents: Sequence[tuple[str, str]]) -> None:
    """Raise, naming them, when gold entries match none of the ingested (doc_id, source)
    documents: ids pass through ``qa.documents.slug`` and files are named by file name."""
    missing = unmatched_gold((g for item in items for g in item.gold_doc), documents)
    if missing:
        users = {g: [i.id for i in items if g in i.gold_doc] for g in missing}
        listed = "; ".join(
            f"{g!r} (questions {', '.join(q[:3])}{' ...' if len(q) > 3 else ''})"
            for g, q in users.items()
        )
        raise ValueError(
            f"{len(missing)} gold_doc entr{'y' if len(missing) == 1 else 'ies'} match no "
            f"ingested document: {listed}. For docs.jsonl use the record id as ingested "
            "(qa.documents.slug); for corpus/ folders use the file name with its extension."
        )


def shown_path(path: Path) -> str:
    """A path as shown in reports: relative to the working directory when inside it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)
