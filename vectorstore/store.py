"""Chunks in Chroma, committed per document, with the BM25 index kept in step.

Two collections per name: ``<name>`` holds the chunks (text, embedding, metadata) and
``<name>-registry`` holds one record per committed document plus a generation marker.
A document counts as stored only once its registry record names the content hash its
chunks carry, and that record is written after the chunks. A crash between the two leaves
chunks nobody sees (retrieval skips them) and the next write removes them (``repair``).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from vectorstore.lexical import BM25Index

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

# chromadb's own annotations want numpy arrays and literal-keyed filters; its collections
# are handled as Any here rather than with a cast at every call.
Collection = Any

GENERATION_ID = "__generation__"
PAGE = 1000
# Chroma rejects larger single writes; stay well below its max batch size.
WRITE_BATCH = 2000


@dataclass
class DocumentWrite:
    """One document's new version: registry metadata and its chunks."""

    doc_id: str
    doc_hash: str
    meta: dict[str, Any]
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: list[list[float]] = field(default_factory=list)


@dataclass
class StoredChunk:
    """A chunk as read back from Chroma, with the score that found it."""

    id: str
    text: str
    meta: dict[str, Any]
    score: float = 0.0


def clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata holds only non-null scalars."""
    return {k: v for k, v in meta.items() if v is not None and not isinstance(v, (list, dict))}


class ChunkStore:
    """Reads and writes one collection of chunks; the only code that talks to Chroma."""

    def __init__(
        self,
        client: ClientAPI,
        name: str,
        embeddings: Embeddings,
        index_dir: Path | None = None,
        index_key: str = "",
    ) -> None:
        if len(name) < 3:
            raise ValueError(f"collection names need 3 or more characters: {name!r}")
        self.name = name
        self.embeddings = embeddings
        self.client = client
        self.chunks: Collection = client.get_or_create_collection(
            name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self.registry: Collection = client.get_or_create_collection(
            f"{name}-registry", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        key = hashlib.sha1(f"{index_key}|{name}".encode()).hexdigest()[:10]
        self.index_path = index_dir / f"bm25-{name}-{key}.json" if index_dir else None
        self._bm25: BM25Index | None = None
        self._docs: tuple[str, dict[str, dict[str, Any]]] | None = None
        self._lock = threading.RLock()

    # --- generation: changes whenever the committed content changes -------------------

    def generation(self) -> str:
        got = self.registry.get(ids=[GENERATION_ID], include=["metadatas"])
        metas = got.get("metadatas") or []
        return str(metas[0].get("gen", "")) if metas and metas[0] else ""

    def _bump(self) -> None:
        self.registry.upsert(
            ids=[GENERATION_ID],
            embeddings=[[1.0]],
            metadatas=[{"gen": uuid.uuid4().hex, "at": time.time()}],
            documents=[""],
        )

    # --- documents --------------------------------------------------------------------

    def documents(self) -> dict[str, dict[str, Any]]:
        """Committed documents by id (cached per generation)."""
        gen = self.generation()
        with self._lock:
            if self._docs is not None and self._docs[0] == gen:
                return self._docs[1]
            docs: dict[str, dict[str, Any]] = {}
            for ids, metas, _ in self._pages(self.registry, ["metadatas"]):
                for doc_id, meta in zip(ids, metas, strict=True):
                    if doc_id != GENERATION_ID and meta:
                        docs[doc_id] = dict(meta)
            self._docs = (gen, docs)
            return docs

    def document(self, doc_id: str) -> dict[str, Any] | None:
        got = self.registry.get(ids=[doc_id], include=["metadatas"])
        metas = got.get("metadatas") or []
        return dict(metas[0]) if metas and metas[0] else None

    def write(self, docs: Sequence[DocumentWrite]) -> None:
        """Embed and store new document versions; each becomes visible whole or not at all.

        Order matters for crash safety: new chunks, then the registry (the commit), then the
        old version's chunks are removed.
        """
        if not docs:
            return
        # Only documents that had a version have old chunks to remove (crash leftovers of
        # new ones are removed by ``repair`` before an ingest).
        replacing = [d for d in docs if d.doc_id in self.documents()]
        pending = [d for d in docs if not d.vectors]
        texts = [t for d in pending for t in d.texts]
        vectors = self.embeddings.embed_documents(texts) if texts else []
        pos = 0
        for d in pending:
            d.vectors = vectors[pos : pos + len(d.texts)]
            pos += len(d.texts)
        ids = [i for d in docs for i in d.ids]
        rows = list(
            zip(
                ids,
                [v for d in docs for v in d.vectors],
                [t for d in docs for t in d.texts],
                [clean_meta(m) for d in docs for m in d.metas],
                strict=True,
            )
        )
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            self.chunks.upsert(
                ids=[r[0] for r in batch],
                embeddings=[r[1] for r in batch],
                documents=[r[2] for r in batch],
                metadatas=[r[3] for r in batch],
            )
        self.registry.upsert(
            ids=[d.doc_id for d in docs],
            embeddings=[[1.0] for _ in docs],
            documents=[str(d.meta.get("title", "")) for d in docs],
            metadatas=[clean_meta({**d.meta, "doc_hash": d.doc_hash}) for d in docs],
        )
        for d in replacing:
            self.chunks.delete(
                where={"$and": [{"doc_id": d.doc_id}, {"doc_hash": {"$ne": d.doc_hash}}]}
            )
        self._bump()

    def remove(self, doc_id: str) -> bool:
        """Remove a document: uncommit it first, then delete its chunks."""
        if self.document(doc_id) is None:
            return False
        self.registry.delete(ids=[doc_id])
        self.chunks.delete(where={"doc_id": doc_id})
        self._bump()
        return True

    def repair(self) -> int:
        """Delete chunks no committed document owns (left by a crash mid-write)."""
        committed = {k: v.get("doc_hash") for k, v in self.documents().items()}
        stale = []
        for ids, metas, _ in self._pages(self.chunks, ["metadatas"]):
            for chunk_id, meta in zip(ids, metas, strict=True):
                meta = meta or {}
                if committed.get(str(meta.get("doc_id"))) != meta.get("doc_hash"):
                    stale.append(chunk_id)
        for start in range(0, len(stale), WRITE_BATCH):
            self.chunks.delete(ids=stale[start : start + WRITE_BATCH])
        if stale:
            self._bump()
        return len(stale)

    # --- reading ----------------------------------------------------------------------

    def count(self) -> int:
        return int(self.chunks.count())

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        got = self.chunks.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
        out = [
            StoredChunk(i, t or "", dict(m or {}))
            for i, t, m in zip(
                got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
            )
        ]
        return sorted(out, key=lambda c: int(c.meta.get("position", 0)))

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            i: StoredChunk(i, t or "", dict(m or {}))
            for i, t, m in zip(
                got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
            )
        }
        return [by_id[i] for i in ids if i in by_id]

    def dense(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[StoredChunk]:
        """Nearest chunks by cosine similarity (score = 1 - cosine distance)."""
        if self.count() == 0:
            return []
        vector = self.embeddings.embed_query(query)
        committed = {k_: v.get("doc_hash") for k_, v in self.documents().items()}
        got = self.chunks.query(
            query_embeddings=[vector],
            n_results=k * 2,
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        out = []
        for i, t, m, dist in zip(
            got["ids"][0],
            (got["documents"] or [[]])[0],
            (got["metadatas"] or [[]])[0],
            (got["distances"] or [[]])[0],
            strict=True,
        ):
            meta = dict(m or {})
            if committed.get(str(meta.get("doc_id"))) == meta.get("doc_hash"):
                out.append(StoredChunk(i, t or "", meta, 1.0 - float(dist)))
        return out[:k]

    def lexical_index(self) -> BM25Index:
        """The BM25 index for the current generation: in memory, on disk, or rebuilt."""
        gen = self.generation()
        with self._lock:
            if self._bm25 is not None and self._bm25.generation == gen:
                return self._bm25
            loaded = BM25Index.load(self.index_path) if self.index_path else None
            if loaded is not None and loaded.generation == gen:
                self._bm25 = loaded
                return loaded
            committed = {k: v.get("doc_hash") for k, v in self.documents().items()}
            rows = []
            for ids, metas, texts in self._pages(self.chunks, ["metadatas", "documents"]):
                for chunk_id, meta, text in zip(ids, metas, texts, strict=True):
                    meta = dict(meta or {})
                    if committed.get(str(meta.get("doc_id"))) == meta.get("doc_hash"):
                        rows.append((chunk_id, text or "", meta))
            index = BM25Index.build(rows, gen)
            if self.index_path:
                index.save(self.index_path)
            self._bm25 = index
            return index

    def _pages(
        self, collection: Collection, include: list[str]
    ) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
        offset = 0
        while True:
            got = collection.get(include=include, limit=PAGE, offset=offset)
            ids = list(got["ids"])
            if not ids:
                return
            metas = list(got.get("metadatas") or [None] * len(ids))
            texts = list(got.get("documents") or [None] * len(ids))
            yield ids, metas, texts
            if len(ids) < PAGE:
                return
            offset += PAGE
