"""Ingest files into the store: load, chunk, skip what is unchanged, write whole documents."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from qa.chunking import chunk_document, clauses
from qa.documents import DocumentError, discover, load_path
from qa.schema import to_write
from qa.types import Chunk, Document, IngestReport, IngestResult
from vectorstore.records import DocumentWrite
from vectorstore.store import ChunkStore

log = logging.getLogger(__name__)
ProgressFn = Callable[[IngestResult, int, int], None]
# Chunks buffered before an embedding + write round; large enough to batch well.
FLUSH_CHUNKS = 256


def sentence_texts(chunk: Chunk) -> list[str]:
    """The exact text of each sentence span of a chunk, in span order."""
    return [chunk.text[s - chunk.start : e - chunk.start] for s, e in chunk.sentences]


def clause_texts(sentences: list[str]) -> list[tuple[int, str]]:
    """The clauses of a chunk's long sentences, each with its sentence's index."""
    return [(i, clause) for i, text in enumerate(sentences) for clause in clauses(text)]


def document_write(doc: Document, chunks: list[Chunk]) -> DocumentWrite:
    """The store's write of one document version, sentence and clause texts included."""
    write = to_write(doc, chunks)
    write.sentence_texts = [sentence_texts(c) for c in chunks]
    write.clause_texts = [clause_texts(s) for s in write.sentence_texts]
    return write


class Ingestor:
    """Turns paths into committed documents; unchanged documents cost no embedding."""

    def __init__(
        self,
        store: ChunkStore,
        chunk_size: int,
        chunk_overlap: int,
        max_bytes: int,
        workers: int = 1,
    ) -> None:
        self.store = store
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.max_bytes = max_bytes
        self.workers = max(1, workers)

    def ingest(self, paths: Iterable[Path], progress: ProgressFn | None = None) -> IngestReport:
        files = list(discover([Path(p) for p in paths]))
        report = IngestReport()
        # Finish what a dead writer left: its lease ran out, its chunks go.
        self.store.repair()
        committed = {k: v.get("doc_hash") for k, v in self.store.documents().items()}
        pending: list[tuple[IngestResult, DocumentWrite]] = []
        # Batches are embedded and written by ``workers`` threads while this one reads and
        # chunks the next files; each document still commits whole (the store's leases
        # order writers of one document). At most two batches per worker wait in line.
        with ThreadPoolExecutor(self.workers, thread_name_prefix="citeqa-ingest") as pool:
            running: deque[Future[None]] = deque()

            def flush() -> None:
                while len(running) >= 2 * self.workers:
                    running.popleft().result()
                running.append(pool.submit(self.write, list(pending)))
                pending.clear()

            for n, path in enumerate(files, start=1):
                result = self._ingest_file(path, committed, pending, report)
                if sum(len(w.ids) for _, w in pending) >= FLUSH_CHUNKS:
                    flush()
                if progress:
                    progress(result, n, len(files))
            if pending:
                flush()
            for future in running:
                future.result()
        return report

    def write(self, pending: list[tuple[IngestResult, DocumentWrite]]) -> None:
        """Write a batch; a store error fails the batch's files with that reason."""
        try:
            self.store.write([w for _, w in pending])
        except Exception as exc:  # the store's error is the user's reason; keep going
            log.info("store write failed", exc_info=True)
            for result, _ in pending:
                result.status, result.reason = "failed", f"store error: {exc}"

    def _ingest_file(
        self,
        path: Path,
        committed: dict[str, Any],
        pending: list[tuple[IngestResult, DocumentWrite]],
        report: IngestReport,
    ) -> IngestResult:
        """Load and chunk one file; any error fails this file alone, and nothing of it
        is queued for writing."""
        result = IngestResult(path=str(path), status="unchanged")
        report.results.append(result)
        try:
            loaded = load_path(path, self.max_bytes)
            writes = [(doc, chunk_document(doc, self.chunk_size, self.chunk_overlap))
                      for doc in loaded.documents]  # fmt: skip
        except DocumentError as exc:
            result.status, result.reason = "failed", str(exc)
            return result
        except Exception as exc:  # a parser's own error: the file is bad, the batch goes on
            log.info("cannot read %s", path, exc_info=True)
            result.status, result.reason = "failed", f"unreadable: {type(exc).__name__}: {exc}"
            return result
        for label, reason in loaded.failures:
            report.results.append(IngestResult(path=label, status="failed", reason=reason))
        statuses = set()
        for doc, chunks in writes:
            result.doc_ids.append(doc.doc_id)
            old = committed.get(doc.doc_id)
            if old == doc.content_hash:
                missing = self.store.missing([c.id for c in chunks])
                if not missing:
                    statuses.add("unchanged")
                    continue
                # Committed but damaged (chunks lost): write it again, never "unchanged".
                result.reason = f"healed: {len(missing)} of {len(chunks)} chunks were missing"
            result.chunks += len(chunks)
            statuses.add("updated" if old else "added")
            committed[doc.doc_id] = doc.content_hash
            pending.append((result, document_write(doc, chunks)))
        result.status = next(
            (s for s in ("added", "updated", "unchanged") if s in statuses), "failed"
        )
        if result.status == "failed":
            result.reason = "no document in the file could be read"
        return result
