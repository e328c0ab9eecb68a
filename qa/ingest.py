"""Ingest files into the store: load, chunk, skip what is unchanged, write whole documents."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qa.chunking import chunk_document
from qa.documents import DocumentError, discover, load_path
from qa.schema import to_write
from qa.types import IngestReport, IngestResult
from vectorstore.store import ChunkStore, DocumentWrite

ProgressFn = Callable[[IngestResult, int, int], None]
# Chunks buffered before an embedding + write round; large enough to batch well.
FLUSH_CHUNKS = 256


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
