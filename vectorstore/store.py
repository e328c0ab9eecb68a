"""Chunks in Chroma, committed per document, with the lexical index kept in step.

Two collections per name: ``<name>`` holds the chunks (text, embedding, metadata) and
``<name>-registry`` holds one record per document plus leases and a generation marker
(vectorstore/registry.py). A document counts as stored only once its registry record names
the content hash its chunks carry, and that record is written after the chunks. A writer
holds a lease on each document it writes or removes, so two processes never interleave on
one document. A crash mid-write leaves chunks nobody sees (retrieval skips them) and a lease
that runs out; ``repair`` then deletes exactly those chunks, and nothing of a live writer.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from vectorstore.codec import encode_vectors
from vectorstore.follow import LexicalFollower
from vectorstore.lexical import LexicalFilter, LexicalIndex
from vectorstore.records import DocProblem, DocumentWrite, StoredChunk, clean_meta
from vectorstore.registry import PAGE, Registry
from vectorstore.snapshot import RegistrySnapshot

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

# chromadb's own annotations want numpy arrays and literal-keyed filters; its collections
# are handled as Any here rather than with a cast at every call.
Collection = Any

# Chroma rejects larger single writes; stay well below its max batch size.
WRITE_BATCH = 2000
MODEL_KEY = "embedding_model"


class EmbeddingMismatch(RuntimeError):
    """A collection opened with another embedding model than the one that built it."""


# A filtered search reads this many nearest ids unfiltered (Chroma searches its HNSW index
# 100 deep anyway, so up to 100 cost what fewer do) and keeps those the filter admits; at
# least half of the ``k`` asked for must pass, else Chroma filters.
_FILTERED_FETCH = 100


def _committed(
    ids: Sequence[str],
    distances: Sequence[float],
    committed: dict[str, dict[str, Any]],
    keep: LexicalFilter | None,
    k: int,
) -> list[tuple[str, float]]:
    """The first ``k`` of these nearest chunks (best first) that belong to a committed
    version and pass ``keep``, with their cosine similarities. A chunk id names its
    document and version (``doc_id:hash-prefix:n``), so no metadata is read."""
    picked: list[tuple[str, float]] = []
    for cid, dist in zip(ids, distances, strict=True):
        doc_id, prefix, _ = [*cid.rsplit(":", 2), "", ""][:3]
        meta = committed.get(doc_id)
        if meta is None or not str(meta.get("doc_hash", "")).startswith(prefix):
            continue  # an old or uncommitted version
        if keep is not None and not keep.admits(meta):
            continue
        picked.append((cid, 1.0 - float(dist)))
        if len(picked) == k:
            break
    return picked


def model_id(embeddings: Embeddings) -> str:
    return str(getattr(embeddings, "model_id", type(embeddings).__name__))


class ChunkStore:
    """Reads and writes one collection of chunks; the only code that talks to Chroma."""

    def __init__(
        self,
        client: ClientAPI,
        name: str,
        embeddings: Embeddings,
        index_dir: Path | None = None,
        index_key: str = "",
        lease_s: float = 300.0,
    ) -> None:
        if len(name) < 3:
            raise ValueError(f"collection names need 3 or more characters: {name!r}")
        self.name = name
        self.embeddings = embeddings
        self.chunks: Collection = client.get_or_create_collection(
            name,
            metadata={"hnsw:space": "cosine", MODEL_KEY: model_id(embeddings)},
            embedding_function=None,
        )
        self._check_model()
        key = hashlib.sha1(f"{index_key}|{name}".encode()).hexdigest()[:10]
        self.index_path = index_dir / f"lexical-{name}-{key}" if index_dir else None
        self.registry = Registry(
            client.get_or_create_collection(
                f"{name}-registry", metadata={"hnsw:space": "cosine"}, embedding_function=None
            ),
            lease_s=lease_s,
            snapshot=RegistrySnapshot(self.index_path / "registry.sqlite")
            if self.index_path
            else None,
        )
        self.lexical = LexicalFollower(self.chunks, self.index_path)

    def _check_model(self) -> None:
        built = (self.chunks.metadata or {}).get(MODEL_KEY)
        mine = model_id(self.embeddings)
        if built is not None and built != mine:
            raise EmbeddingMismatch(
                f"collection {self.name!r} was built with the embedding model {built!r}, "
                f"but this process embeds with {mine!r}: its vectors would not compare. "
                "Use the same model, or ingest into another collection."
            )

    # --- documents --------------------------------------------------------------------

    def documents(self) -> dict[str, dict[str, Any]]:
        """Committed documents by id (caught up from the registry's change log)."""
        return self.registry.documents()[1]

    def state(self) -> tuple[str, dict[str, dict[str, Any]]]:
        """(generation, committed documents): one read of Chroma that a search's dense and
        lexical sides then share."""
        return self.registry.documents()

    def document(self, doc_id: str) -> dict[str, Any] | None:
        return self.registry.document(doc_id)

    def write(self, docs: Sequence[DocumentWrite]) -> None:
        """Embed and store new document versions; each becomes visible whole or not at all.

        Order matters for crash safety: new chunks, then the registry (the commit), then the
        old version's chunks are removed. Embedding happens before the leases are taken.
        """
        if not docs:
            return
        self._embed(docs)
        with self.registry.leases({d.doc_id: d.doc_hash for d in docs}):
            before = self.registry.records([d.doc_id for d in docs])
            rows = [
                (i, v, t, clean_meta(m))
                for d in docs
                for i, v, t, m in zip(d.ids, d.vectors, d.texts, d.metas, strict=True)
            ]
            for start in range(0, len(rows), WRITE_BATCH):
                batch = rows[start : start + WRITE_BATCH]
                self.chunks.upsert(
                    ids=[r[0] for r in batch],
                    embeddings=[r[1] for r in batch],
                    documents=[r[2] for r in batch],
                    metadatas=[r[3] for r in batch],
                )
            changed_at = self.registry.commit(
                [
                    (d.doc_id, str(d.meta.get("title", "")), {**clean_meta(d.meta),
                     "doc_hash": d.doc_hash})
                    for d in docs
                ]
            )  # fmt: skip
            for d in docs:
                if d.doc_id in before:
                    self.chunks.delete(
                        where={"$and": [{"doc_id": d.doc_id}, {"doc_hash": {"$ne": d.doc_hash}}]}
                    )
            self.registry.bump()
            # Inside the leases: a later writer of the same document indexes after us.
            self.lexical.written(
                [(d.doc_id, d.doc_hash, list(zip(d.ids, d.texts, d.metas, strict=True)))
                 for d in docs],
                changed_at,
            )  # fmt: skip

    def _embed(self, docs: Sequence[DocumentWrite]) -> None:
        """Chunk, sentence and clause texts in one batch (repeated texts once)."""
        pending = [d for d in docs if not d.vectors]
        sentences = list(
            dict.fromkeys(
                [s for d in docs for per_chunk in d.sentence_texts for s in per_chunk]
                + [c for d in docs for per_chunk in d.clause_texts for _, c in per_chunk]
            )
        )
        texts = [t for d in pending for t in d.texts] + sentences
        vectors = self.embeddings.embed_documents(texts) if texts else []
        pos = 0
        for d in pending:
            d.vectors = vectors[pos : pos + len(d.texts)]
            pos += len(d.texts)
        by_text = dict(zip(sentences, vectors[pos:], strict=True))
        for d in docs:
            if not d.sentence_texts:
                continue
            for meta, per_chunk in zip(d.metas, d.sentence_texts, strict=True):
                if per_chunk:
                    meta["sentence_vectors"] = encode_vectors(
                        np.array([by_text[s] for s in per_chunk], dtype=np.float32)
                    )
            for meta, owned in zip(d.metas, d.clause_texts, strict=False):
                if owned:
                    meta["clause_of"] = json.dumps([i for i, _ in owned])
                    meta["clause_vectors"] = encode_vectors(
                        np.array([by_text[c] for _, c in owned], dtype=np.float32)
                    )

    def remove(self, doc_id: str) -> bool:
        """Remove a document: uncommit it first, then delete its chunks."""
        with self.registry.leases({doc_id: ""}):
            if self.registry.document(doc_id) is None:
                return False
            self.registry.tombstone(doc_id)
            self.chunks.delete(where={"doc_id": doc_id})
            self.registry.bump()
            self.lexical.removed(doc_id)
        return True

    def repair(self) -> int:
        """Delete the chunks of writers that died mid-write (their lease ran out); returns
        how many. A live writer's chunks are never touched."""
        removed = 0
        now = time.time()
        for lease in self.registry.lease_records():
            if float(lease.get("expires", 0)) > now:
                continue
            doc_id, doc_hash = str(lease["doc_id"]), str(lease.get("doc_hash", ""))
            with self.registry.leases({doc_id: ""}):
                committed = self.registry.document(doc_id)
                if doc_hash and (committed or {}).get("doc_hash") != doc_hash:
                    where = {"$and": [{"doc_id": doc_id}, {"doc_hash": doc_hash}]}
                    removed += len(self.chunks.get(where=where, include=[])["ids"])
                    self.chunks.delete(where=where)
                self.registry.drop_lease(lease)
        return removed

    def missing(self, ids: Sequence[str]) -> list[str]:
        """Which of these chunk ids Chroma does not hold."""
        held: set[str] = set()
        for start in range(0, len(ids), WRITE_BATCH):
            held.update(
                self.chunks.get(ids=list(ids[start : start + WRITE_BATCH]), include=[])["ids"]
            )
        return [i for i in ids if i not in held]

    def check(self) -> list[DocProblem]:
        """Committed documents whose chunks are missing or short (reads every chunk's
        metadata once: an administrator's check, not a per-request one)."""
        docs = self.documents()
        present: Counter[tuple[str, str]] = Counter()
        for _, metas, _ in self._pages(self.chunks, ["metadatas"]):
            for meta in metas:
                meta = meta or {}
                present[(str(meta.get("doc_id")), str(meta.get("doc_hash")))] += 1
        problems = []
        for doc_id, meta in sorted(docs.items()):
            expected = int(meta.get("n_chunks", 0) or 0)
            got = present[(doc_id, str(meta.get("doc_hash")))]
            if got < expected:
                problems.append(DocProblem(doc_id, expected, got))
        return problems

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

    def dense(self, query: str, k: int, keep: LexicalFilter | None = None) -> list[StoredChunk]:
        """Nearest chunks by cosine similarity (score = 1 - cosine distance)."""
        scores = dict(self.nearest(query, k, keep))
        return [StoredChunk(c.id, c.text, c.meta, scores[c.id]) for c in self.get(list(scores))]

    def nearest(
        self,
        query: str,
        k: int,
        keep: LexicalFilter | None = None,
        committed: dict[str, dict[str, Any]] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` nearest committed chunks' ids and cosine similarities, best first.

        Only ids and distances are read (what costs in a query is reading the metadata
        back). A filter is checked against the registry records of the nearest
        ``_FILTERED_FETCH`` ids of an unfiltered query: Chroma's own filter scans the
        metadata and costs more than the search. Those admitted are the nearest that match,
        best first, though maybe fewer than ``k``; when fewer than half of ``k`` are, Chroma
        filters. ``committed``: ``documents()`` when the caller has just read it."""
        committed = self.documents() if committed is None else committed
        if not committed:  # (a chunk count costs a scan in Chroma: 80 ms at 500k chunks)
            return []
        vector = self.embeddings.embed_query(query)
        where = keep.chroma_where() if keep is not None else None
        if where is not None and keep is not None and keep.collection is not None:
            # (a collection key is not in registry records: Chroma filters)
            return self._dense_filtered(vector, k, where, committed)
        n = max(k * 2, _FILTERED_FETCH) if where else k * 2
        got = self.chunks.query(query_embeddings=[vector], n_results=n, include=["distances"])
        ids, distances = got["ids"][0], (got["distances"] or [[]])[0]
        picked = _committed(ids, distances, committed, keep, k)
        if where is not None and 2 * len(picked) < k and len(ids) == n:
            return self._dense_filtered(vector, k, where, committed)
        return picked

    def _dense_filtered(
        self, vector: list[float], k: int, where: dict[str, Any], committed: dict[str, Any]
    ) -> list[tuple[str, float]]:
        """Chroma's own filtered search (its ``where`` scans the chunks' metadata); ids
        and distances only, like the unfiltered one."""
        got = self.chunks.query(
            query_embeddings=[vector], n_results=k * 2, where=where, include=["distances"]
        )
        return _committed(got["ids"][0], (got["distances"] or [[]])[0], committed, None, k)

    # --- the lexical index ------------------------------------------------------------

    def lexical_index(
        self, state: tuple[str, dict[str, dict[str, Any]]] | None = None
    ) -> LexicalIndex:
        """The lexical index, caught up with every commit and removal in Chroma (as of
        ``state``, when the caller has just read it)."""
        return self.lexical.caught_up(self.registry, state)

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
