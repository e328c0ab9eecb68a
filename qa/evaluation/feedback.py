"""A dataset from staff feedback: reported failures become regression questions.

``questions.jsonl`` holds the thumbs-down answers that say what the right outcome was (see
:mod:`qa.people.feedback`); ``docs.jsonl`` the documents of the collections those answers
came from, so ``citeqa eval run`` asks the questions over the same documents. Chroma keeps
no whole documents, only chunks with their offsets, so each document's text is put back
together from its chunks (overlaps once; the whitespace between chunks as spaces).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from qa.evaluation.datasets import DOCS, QUESTIONS, Dataset, load_dataset, save_items
from qa.people.service import People
from qa.service import Assistant
from vectorstore.records import StoredChunk


def document_text(chunks: Iterable[StoredChunk]) -> str:
    """A document's text from its chunks, each at its character offset in the document."""
    placed = [(int(c.meta.get("start", 0)), c.text) for c in chunks]
    size = max((start + len(text) for start, text in placed), default=0)
    chars = [" "] * size
    for start, text in placed:
        chars[start : start + len(text)] = text
    return "".join(chars).strip()


def corpus_records(assistant: Assistant, collections: Sequence[str]) -> list[dict[str, Any]]:
    """Every document of ``collections`` as a ``docs.jsonl`` record (first one wins an id)."""
    records: dict[str, dict[str, Any]] = {}
    for collection in collections:
        store = assistant.store(collection)
        for doc in assistant.documents(collection):
            if doc["doc_id"] in records:
                continue
            text = document_text(store.chunks_of(doc["doc_id"]))
            record = {"id": doc["doc_id"], "text": text, "title": doc.get("title")}
            record |= {k: doc[k] for k in ("date", "url") if doc.get(k)}
            records[doc["doc_id"]] = record
    return list(records.values())


def prepare_feedback(
    people: People, assistant: Assistant, out: Path, collections: Sequence[str] | None = None
) -> Dataset:
    """Write the feedback dataset to ``out``; ``collections`` limits it (default: all).

    Raises ValueError when no feedback qualifies (an empty dataset would evaluate nothing).
    """
    names = list(collections) if collections else assistant.collections()
    involved = [c for c in names if people.feedback_items([c])]
    items = people.feedback_items(involved)
    if not items:
        raise ValueError(
            "no thumbs-down with a correction or 'not in the documents' yet"
            + (f" in {', '.join(names)}" if collections else "")
        )
    out.mkdir(parents=True, exist_ok=True)
    with (out / DOCS).open("w", encoding="utf-8") as handle:
        for record in corpus_records(assistant, involved):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    save_items(items, out / QUESTIONS)
    return load_dataset(out)
