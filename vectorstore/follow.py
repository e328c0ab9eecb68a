"""Keeps a process's lexical index in step with Chroma, one document at a time.

A writer indexes its own documents from the rows in hand. Every other process notices a
new generation, compares the registry's committed versions with the index's, and indexes
only the documents that differ (their chunks read from Chroma) or drops those removed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vectorstore.lexical import DocVersion, IndexRow, LexicalIndex
from vectorstore.registry import Registry

# Documents whose chunks are read from Chroma per catch-up step (one index transaction).
SYNC_DOCS = 200
Written = tuple[str, str, list[tuple[str, str, dict[str, Any]]]]


def version(meta: dict[str, Any]) -> str:
    """A commit's identity: the content hash and when it was committed, so that a healed
    document (same content, written again) is indexed again."""
    return f"{meta.get('doc_hash')}@{meta.get('changed_at', 0)}"


def index_row(chunk_id: str, text: str, meta: dict[str, Any]) -> IndexRow:
    """Only what the index searches and filters on (never the sentence vectors)."""
    date_ord = meta.get("date_ord")
    collection = meta.get("collection")
    return IndexRow(
        chunk_id,
        str(meta.get("doc_id")),
        text,
        int(date_ord) if date_ord is not None else None,
        str(collection) if collection else None,
    )


class LexicalFollower:
    """Opens the index lazily (in memory when there is no folder) and keeps it current."""

    def __init__(self, chunks: Any, folder: Path | None) -> None:
        self.chunks = chunks
        self.folder = folder
        self._index: LexicalIndex | None = None
        self._gen: str | None = None
        self._seq = -1  # before any position: the first look compares everything
        self._lock = threading.RLock()

    def index(self) -> LexicalIndex:
        with self._lock:
            if self._index is None:
                self._index = LexicalIndex(self.folder)
            return self._index

    def caught_up(
        self, registry: Registry, state: tuple[str, dict[str, dict[str, Any]]] | None = None
    ) -> LexicalIndex:
        """The index, after applying whatever the registry changed since the last look
        (``state``: the registry's ``documents()`` when the caller has just read them)."""
        gen, docs = state if state is not None else registry.documents()
        with self._lock:
            index = self.index()
            index.refresh()
            if self._gen != gen:
                self._seq, changed = registry.changes(self._seq)
                self._catch_up(index, docs, changed)
                self._gen = gen
            return index

    def _catch_up(
        self, index: LexicalIndex, docs: dict[str, dict[str, Any]], changed: list[str] | None
    ) -> None:
        """Index the documents whose committed version differs from the index's; only the
        ``changed`` ones are compared when known, all of them otherwise (first look)."""
        ids = list(docs) if changed is None else list(dict.fromkeys(changed))
        indexed = index.versions(None if changed is None else ids)
        stale = [d for d in ids if d in docs and indexed.get(d) != version(docs[d])]
        gone = [d for d in (indexed if changed is None else ids) if d not in docs and d in indexed]
        if gone:
            index.apply([DocVersion(d, None) for d in gone])
        for start in range(0, len(stale), SYNC_DOCS):
            batch = stale[start : start + SYNC_DOCS]
            rows: dict[str, list[IndexRow]] = {d: [] for d in batch}
            got = self.chunks.get(
                where={"doc_id": {"$in": batch}}, include=["documents", "metadatas"]
            )
            for chunk_id, text, meta in zip(
                got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
            ):
                doc_id = str((meta or {}).get("doc_id"))
                if docs[doc_id].get("doc_hash") == meta.get("doc_hash"):
                    rows[doc_id].append(index_row(chunk_id, text or "", meta))
            index.apply([DocVersion(d, version(docs[d]), rows[d]) for d in batch])

    def written(self, docs: Sequence[Written], changed_at: float) -> None:
        """A writer's own commit: (doc_id, doc_hash, [(chunk_id, text, meta)]) per document."""
        if self._index is None and self.folder is None:
            return  # nothing opened and nothing on disk: the first search catches up
        stamp = {"changed_at": changed_at}
        self.index().apply(
            [
                DocVersion(doc_id, version({**stamp, "doc_hash": doc_hash}),
                           [index_row(*row) for row in rows])
                for doc_id, doc_hash, rows in docs
            ]
        )  # fmt: skip

    def removed(self, doc_id: str) -> None:
        if self._index is not None or self.folder is not None:
            self.index().apply([DocVersion(doc_id, None)])
