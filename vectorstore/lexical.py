"""The BM25 index over chunk texts, in tantivy. Derived from Chroma, never the source of truth.

Why tantivy and not SQLite FTS5: FTS5 scores every row that matches any query term, so a
question with one common word costs time in proportion to the collection (p95 30 ms at 100k
chunks, 1.6 s at 500k: docs/scale.md); tantivy's block-max WAND skips postings that cannot
reach the top k (p95 7 ms at 500k, the per-question generation check included).

State beside the tantivy folder, in SQLite (``state.sqlite``): which version of each document
is indexed. Every change happens inside one SQLite write transaction, which is also the lock
between processes sharing the folder: delete the document's rows, add its new rows, commit
tantivy (atomic: readers see the old or the new document, never half), then record the new
version. A crash between the two commits leaves the version unrecorded, so the change is
simply applied again; tantivy's commit is idempotent for a whole document.
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from vectorstore.tokens import terms

# Bump when the schema or the tokenizer changes: a new folder is then built from Chroma.
SCHEMA_VERSION = 2
WRITER_HEAP = 64_000_000
LOCK_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class LexicalFilter:
    """What a search may return, applied inside the engine: an inclusive ``date_ord``
    window (YYYYMMDD ints), a set of document ids, a collection key."""

    date_from: int | None = None
    date_to: int | None = None
    doc_ids: tuple[str, ...] | None = None
    collection: str | None = None

    def admits(self, record: Mapping[str, Any]) -> bool:
        """Whether a document's registry record (its ``date_ord``, ``doc_id``) passes; the
        collection, which a record does not carry, is not checked."""
        day = record.get("date_ord")
        if self.date_from is not None and (day is None or int(day) < self.date_from):
            return False
        if self.date_to is not None and (day is None or int(day) > self.date_to):
            return False
        return self.doc_ids is None or record.get("doc_id") in self.doc_ids

    def chroma_where(self) -> dict[str, Any] | None:
        """The same restriction as a Chroma ``where`` on chunk metadata."""
        clauses: list[dict[str, Any]] = []
        if self.date_from is not None:
            clauses.append({"date_ord": {"$gte": self.date_from}})
        if self.date_to is not None:
            clauses.append({"date_ord": {"$lte": self.date_to}})
        if self.doc_ids is not None:
            clauses.append({"doc_id": {"$in": list(self.doc_ids)}})
        if self.collection is not None:
            clauses.append({"collection": self.collection})
        if len(clauses) > 1:
            return {"$and": clauses}
        return clauses[0] if clauses else None


@dataclass(frozen=True)
class IndexRow:
    """One chunk as the index holds it: only the text and the fields it filters on."""

    chunk_id: str
    doc_id: str
    text: str
    date_ord: int | None = None
    collection: str | None = None


@dataclass(frozen=True)
class DocVersion:
    """A document's new state: its rows, or None when it was removed. ``version`` tells
    two commits of the same content apart (a healed document is re-indexed)."""

    doc_id: str
    version: str | None
    rows: Sequence[IndexRow] = ()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # Pre-stemmed terms joined by spaces; term frequencies but no positions (BM25 only).
    builder.add_text_field("terms", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("doc_id", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("collection", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("date_ord", indexed=True, fast=True)
    return builder.build()


class LexicalIndex:
    """BM25 search (k1 1.2, b 0.75, Lucene idf) with filters, kept per document."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.schema = _schema()
        self._lock = threading.RLock()
        self._idf: dict[str, float] = {}
        self._seen_version = -1
        if folder is None:
            self.index = tantivy.Index(self.schema)
            self.db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            self.index, self.db = self._open(folder / f"v{SCHEMA_VERSION}")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS indexed (doc_id TEXT PRIMARY KEY, version TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        self.index.config_reader(reload_policy="manual")
        self.refresh()

    def _open(self, path: Path) -> tuple[tantivy.Index, sqlite3.Connection]:
        """Open the folder; a damaged one is derived data: it is wiped and rebuilt."""
        for attempt in range(2):
            try:
                (path / "tantivy").mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    path / "state.sqlite",
                    timeout=LOCK_TIMEOUT_S,
                    check_same_thread=False,
                    isolation_level=None,
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return tantivy.Index(self.schema, path=str(path / "tantivy")), db
            except (ValueError, sqlite3.DatabaseError, OSError):
                if attempt:
                    raise
                shutil.rmtree(path, ignore_errors=True)
        raise AssertionError("unreachable")

    # --- state -------------------------------------------------------------------------

    def versions(self, doc_ids: Sequence[str] | None = None) -> dict[str, str]:
        """The indexed version of these documents (of every document when None)."""
        with self._lock:
            if doc_ids is None:
                return dict(self.db.execute("SELECT doc_id, version FROM indexed").fetchall())
            return dict(
                self.db.execute(
                    "SELECT doc_id, version FROM indexed WHERE doc_id IN "
                    "(SELECT value FROM json_each(?))",
                    (_json_list(doc_ids),),
                ).fetchall()
            )

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return str(row[0]) if row else None

    def refresh(self) -> None:
        """See what other processes committed since the last look (cheap when nothing did)."""
        with self._lock:
            version = int(self.meta("version") or 0)
            if version != self._seen_version:
                self.index.reload()
                self.searcher = self.index.searcher()
                self._idf = {}
                self._seen_version = version

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The write lock across threads and processes sharing the folder."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def apply(self, changes: Sequence[DocVersion]) -> int:
        """Bring the given documents to their new versions in one atomic step; returns how
        many changed."""
        with self.transaction() as db:
            current = {
                doc_id: version
                for doc_id, version in db.execute(
                    "SELECT doc_id, version FROM indexed WHERE doc_id IN "
                    "(SELECT value FROM json_each(?))",
                    (_json_list([c.doc_id for c in changes]),),
                )
            }
            todo = [c for c in changes if current.get(c.doc_id) != c.version]
            if todo:
                self._write(todo)
                for change in todo:
                    if change.version is None:
                        db.execute("DELETE FROM indexed WHERE doc_id = ?", (change.doc_id,))
                    else:
                        db.execute(
                            "INSERT OR REPLACE INTO indexed VALUES (?, ?)",
                            (change.doc_id, change.version),
                        )
                version = int(self.meta("version") or 0) + 1
                db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(version),))
        self.refresh()
        return len(todo)

    def _write(self, changes: Sequence[DocVersion]) -> None:
        writer = self._writer()
        try:
            for change in changes:
                writer.delete_documents_by_term("doc_id", change.doc_id)
                for row in change.rows if change.version is not None else ():
                    fields: dict[str, object] = {
                        "terms": " ".join(terms(row.text)),
                        "chunk_id": row.chunk_id,
                        "doc_id": row.doc_id,
                    }
                    if row.date_ord is not None:
                        fields["date_ord"] = int(row.date_ord)
                    if row.collection:
                        fields["collection"] = row.collection
                    writer.add_document(tantivy.Document(**fields))
            writer.commit()
            # Merges triggered by this commit finish here, so no thread outlives the lock.
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise

    def _writer(self) -> tantivy.IndexWriter:
        # Every writer holds the SQLite lock first, so a busy tantivy lock only means a
        # process that died a moment ago has not released it yet.
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                return self.index.writer(heap_size=WRITER_HEAP, num_threads=1)
            except ValueError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # --- reading -----------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.searcher.num_docs)

    def idf(self, term: str) -> float:
        """Lucene's BM25 idf of a stemmed term over the indexed chunks (cached)."""
        with self._lock:
            cached = self._idf.get(term)
            if cached is None:
                n = self.searcher.num_docs
                df = self.searcher.doc_freq("terms", term) if term and " " not in term else 0
                cached = self._idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
            return cached

    def search(
        self, query: str, k: int, where: LexicalFilter | None = None
    ) -> list[tuple[str, float]]:
        """Best ``k`` chunk ids for ``query`` with their BM25 scores, best first."""
        words = sorted({t for t in terms(query) if " " not in t})
        if not words or k <= 0:
            return []
        text = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "terms", w))
                for w in words
            ]
        )
        clauses = [(tantivy.Occur.Must, text)] + [
            (tantivy.Occur.Must, tantivy.Query.const_score_query(q, 0.0))
            for q in self._filters(where)
        ]
        with self._lock:
            searcher = self.searcher
        hits = searcher.search(tantivy.Query.boolean_query(clauses), k, count=False).hits
        out = [(str(searcher.doc(address)["chunk_id"][0]), float(score)) for score, address in hits]
        return sorted(out, key=lambda hit: (-hit[1], hit[0]))

    def _filters(self, where: LexicalFilter | None) -> list[tantivy.Query]:
        if where is None:
            return []
        out = []
        if where.date_from is not None or where.date_to is not None:
            out.append(
                tantivy.Query.range_query(
                    self.schema,
                    "date_ord",
                    tantivy.FieldType.Integer,
                    where.date_from if where.date_from is not None else 0,
                    where.date_to if where.date_to is not None else 99_999_999,
                )
            )
        if where.doc_ids is not None:
            out.append(tantivy.Query.term_set_query(self.schema, "doc_id", list(where.doc_ids)))
        if where.collection is not None:
            out.append(tantivy.Query.term_query(self.schema, "collection", where.collection))
        return out


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values))
