"""Sentence and clause vectors stored at ingest; damaged documents found by ``check`` and healed by
re-ingest; leases keep repair away from a live writer's chunks."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.ingest import clause_texts, sentence_texts
from qa.schema import to_chunk
from qa.service import Assistant
from tests.conftest import SAMPLE
from tests.qa.test_ingest import small_corpus
from vectorstore.registry import LEASE_PREFIX


def test_every_chunk_carries_its_sentence_vectors(settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    service = Assistant(settings, embeddings=embeddings)
    embedded = embeddings.texts_embedded
    service.ingest([SAMPLE])
    (doc,) = service.documents()
    chunks = service.store().chunks_of(doc["doc_id"])
    sentences = [s for c in chunks for s in sentence_texts(to_chunk(c))]
    clauses = [c for s in sentences for _, c in clause_texts([s])]
    # One encode for chunks, sentences and clauses; a text shared by two chunks once.
    assert clauses, "the lede and most news sentences are long"
    assert embeddings.texts_embedded - embedded == len(chunks) + len(set(sentences + clauses))
    for stored in chunks:
        chunk = to_chunk(stored)
        vectors = stored.sentence_vectors()
        assert vectors is not None and vectors.shape == (len(chunk.sentences), 384)
        expected = np.array(embeddings.embed_documents(sentence_texts(chunk)))
        cosine = (vectors * expected).sum(axis=1) / np.linalg.norm(vectors, axis=1)
        assert cosine.min() > 0.999
        assert "sentence_vectors" not in chunk.metadata
        owned = clause_texts(sentence_texts(chunk))
        stored_clauses = stored.clause_vectors()
        if not owned:
            assert stored_clauses is None
            continue
        assert stored_clauses is not None
        owners, clause_vectors = stored_clauses
        assert owners == [i for i, _ in owned] and clause_vectors.shape == (len(owned), 384)
        expected = np.array(embeddings.embed_documents([c for _, c in owned]))
        assert ((clause_vectors * expected).sum(axis=1) > 0.99).all()
        assert "clause_vectors" not in chunk.metadata and "clause_of" not in chunk.metadata
    assert service.store().lexical_index().search("Promsvyazbank", 1)


def test_damaged_document_is_found_and_healed_by_reingest(
    settings: Settings, embeddings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    service = Assistant(settings, embeddings=embeddings)
    service.ingest([SAMPLE, small_corpus(tmp_path / "docs")])
    store = service.store()
    assert store.check() == []
    # Damaged the old way: the registry record stays, the chunks are gone.
    sample = next(d["doc_id"] for d in service.documents() if d["date"] == "2022-03-07")
    n_chunks = len(store.chunks_of(sample))
    store.chunks.delete(ids=[c.id for c in store.chunks_of(sample)][1:])
    (problem,) = store.check()
    assert (problem.doc_id, problem.expected, problem.present) == (sample, n_chunks, 1)
    report = service.ingest([SAMPLE])
    (result,) = report.results
    assert result.status == "updated" and "healed" in str(result.reason)
    assert store.check() == []
    assert len(store.chunks_of(sample)) == n_chunks
    hits = store.lexical_index().search("Promsvyazbank sanctions", 3)
    assert hits and all(store.get([cid]) for cid, _ in hits)


def test_repair_spares_a_live_lease_and_clears_an_expired_one(
    settings: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    service = Assistant(settings, embeddings=embeddings)
    store = service.store()
    registry = store.registry

    def half_written(doc_id: str, expires: float) -> None:
        """A writer that wrote a chunk under its lease, then stopped before its commit."""
        store.chunks.upsert(
            ids=[f"{doc_id}:x:0"],
            embeddings=[[0.1] * 384],
            documents=["half written"],
            metadatas=[{"doc_id": doc_id, "doc_hash": "h1", "position": 0}],
        )
        registry._upsert(
            [f"{LEASE_PREFIX}{doc_id}:other"],
            [{"kind": "lease", "doc_id": doc_id, "doc_hash": "h1", "owner": "other",
              "expires": expires}],
        )  # fmt: skip

    half_written("live", time.time() + 300)
    half_written("dead", time.time() - 1)
    assert store.repair() == 1
    assert store.get(["live:x:0"]) and not store.get(["dead:x:0"])
    assert [m["doc_id"] for m in registry.lease_records()] == ["live"]


def test_docs_check_finds_a_document_without_chunks_and_reingest_heals_it(
    tmp_path: Path,
) -> None:
    from tests.qa.test_cli import citeqa

    data = tmp_path / "data"
    assert citeqa(data, "ingest", str(SAMPLE)).returncode == 0
    settings = Settings(data_dir=data)
    store = Assistant(settings).store()
    (doc_id,) = store.documents()
    store.chunks.delete(where={"doc_id": doc_id})  # registry record, no chunks
    del store
    check = citeqa(data, "docs", "check")
    assert check.returncode == 1 and f"{doc_id}: 0 of " in check.stderr
    again = citeqa(data, "ingest", str(SAMPLE))
    assert "added 0, updated 1, unchanged 0, failed 0" in again.stdout, again.stderr
    assert "healed" in again.stderr
    check = citeqa(data, "docs", "check")
    assert check.returncode == 0 and "0 damaged documents" in check.stdout
    hits = citeqa(data, "search", "Promsvyazbank", "--k", "1", "--json")
    assert "Promsvyazbank" in hits.stdout
