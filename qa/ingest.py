"""Ingest files into the store: load, chunk, skip what is unchanged, write whole documents."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qa.chunking import chunk_document
from qa.documents import DocumentError, discover, load_path
from qa.types import Chunk, Document, IngestReport, IngestResult
from vectorstore.store import ChunkStore, DocumentWrite

ProgressFn = Callable[[IngestResult, int, int], None]
# Chunks buffered before an embedding + write round; large enough to batch well.
FLUSH_CHUNKS = 256


def date_ord(date: str | None) -> int | None:
    """YYYYMMDD as an int: Chroma range filters work on numbers, not strings."""
    return int(date.replace("-", "")) if date else None


def doc_meta(doc: Document, n_chunks: int) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "date": doc.date,
        "date_ord": date_ord(doc.date),
        "source": doc.source,
        "url": doc.url,
        "n_chunks": n_chunks,
        "chars": len(doc.text) - doc.body_start,
        "ingested_at": time.time(),
    }


def chunk_meta(doc: Document, chunk: Chunk) -> dict[str, Any]:
    """Chroma metadata of a chunk. Kept out of the embedded text on purpose."""
    return {
        "doc_id": doc.doc_id,
        "doc_hash": doc.content_hash,
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "sentences": json.dumps(chunk.sentences),
        "title": doc.title,
        "date": doc.date,
        "date_ord": date_ord(doc.date),
        "source": doc.source,
        "url": doc.url,
        "page": chunk.metadata.get("page"),
    }


def to_write(doc: Document, chunks: list[Chunk]) -> DocumentWrite:
    return DocumentWrite(
        doc_id=doc.doc_id,
        doc_hash=doc.content_hash,
        meta=doc_meta(doc, len(chunks)),
        ids=[c.id for c in chunks],
        texts=[c.text for c in chunks],
        metas=[chunk_meta(doc, c) for c in chunks],
    )


class Ingestor:
    """Turns paths into committed documents; unchanged documents cost no embedding."""

    def __init__(
        self, store: ChunkStore, chunk_size: int, chunk_overlap: int, max_bytes: int
    ) -> None:
        self.store = store
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.max_bytes = max_bytes

    def ingest(self, paths: Iterable[Path], progress: ProgressFn | None = None) -> IngestReport:
        files = list(discover([Path(p) for p in paths]))
        report = IngestReport()
        # Finish what a killed run left: chunks without a committed document go first.
        self.store.repair()
        committed = {k: v.get("doc_hash") for k, v in self.store.documents().items()}
        pending: list[tuple[IngestResult, DocumentWrite]] = []

        def flush() -> None:
            writes = [w for _, w in pending]
            try:
                self.store.write(writes)
            except Exception as exc:  # the store's error is the user's reason; keep going
                for result, _ in pending:
                    result.status, result.reason = "failed", f"store error: {exc}"
            pending.clear()

        for n, path in enumerate(files, start=1):
            result = self._ingest_file(path, committed, pending, report)
            if sum(len(w.ids) for _, w in pending) >= FLUSH_CHUNKS:
                flush()
            if progress:
                progress(result, n, len(files))
        if pending:
            flush()
        return report

    def _ingest_file(
        self,
        path: Path,
        committed: dict[str, Any],
        pending: list[tuple[IngestResult, DocumentWrite]],
        report: IngestReport,
    ) -> IngestResult:
        result = IngestResult(path=str(path), status="unchanged")
        report.results.append(result)
        try:
            loaded = load_path(path, self.max_bytes)
        except DocumentError as exc:
            result.status, result.reason = "failed", str(exc)
            return result
        for label, reason in loaded.failures:
            report.results.append(IngestResult(path=label, status="failed", reason=reason))
        statuses = set()
        for doc in loaded.documents:
            result.doc_ids.append(doc.doc_id)
            old = committed.get(doc.doc_id)
            if old == doc.content_hash:
                statuses.add("unchanged")
                continue
            chunks = chunk_document(doc, self.chunk_size, self.chunk_overlap)
            result.chunks += len(chunks)
            statuses.add("updated" if old else "added")
            committed[doc.doc_id] = doc.content_hash
            pending.append((result, to_write(doc, chunks)))
        result.status = next(
            (s for s in ("added", "updated", "unchanged") if s in statuses), "failed"
        )
        if result.status == "failed":
            result.reason = "no document in the file could be read"
        return result
