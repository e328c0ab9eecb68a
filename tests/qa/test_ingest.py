"""Ingestion into real Chroma (embedded and server) with the real embedding model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from qa.config import Settings
from qa.service import Assistant
from tests.conftest import SAMPLE


def make_assistant(settings: Settings, embeddings) -> Assistant:  # type: ignore[no-untyped-def]
    return Assistant(settings, embeddings=embeddings)


def small_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "alpha.txt": "date 2021-01-05 The alpha reactor opened in Lyon. It runs on thorium.",
        "beta.md": "# Beta notes\n\nThe beta bridge spans the Danube. It opened in 1999.",
        "gamma.txt": "Gamma rays were observed by the Zephyr telescope. The signal lasted seconds.",
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_sample_ingests_with_date_and_exact_offsets(settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    service = make_assistant(settings, embeddings)
    report = service.ingest([SAMPLE])
    assert [r.status for r in report.results] == ["added"]
    (doc,) = service.documents()
    assert doc["date"] == "2022-03-07"
    source_text = SAMPLE.read_bytes().decode("utf-8")
    chunks = service.store().chunks_of(doc["doc_id"])
    assert len(chunks) == doc["n_chunks"] > 1
    for chunk in chunks:
        assert source_text[chunk.meta["start"] : chunk.meta["end"]] == chunk.text
        assert "date 2022-03-07" not in chunk.text
        assert chunk.meta["date_ord"] == 20220307


def test_search_ranks_the_swift_chunk_first(settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    service = make_assistant(settings, embeddings)
    service.ingest([SAMPLE])
    hits = service.search("concessions the US offered", k=3)
    assert "SWIFT system" in hits[0].chunk.text
    assert hits[0].dense_rank is not None and hits[0].lexical_rank is not None


def test_reingest_embeds_nothing_and_edit_replaces_exactly_its_chunks(
    settings: Settings,
    embeddings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    folder = small_corpus(tmp_path / "docs")
    service = make_assistant(settings, embeddings)
    first = service.ingest([folder])
    assert first.count("added") == 3
    store = service.store()
    before = {
        d["doc_id"]: [c.id for c in store.chunks_of(d["doc_id"])] for d in service.documents()
    }

    embedded = embeddings.texts_embedded
    again = service.ingest([folder])
    assert again.count("unchanged") == 3
    assert embeddings.texts_embedded == embedded, "unchanged documents must not be embedded"

    (folder / "gamma.txt").write_text("Gamma rays were seen by the Quokka array.", encoding="utf-8")
    edited = service.ingest([folder])
    assert sorted(r.status for r in edited.results) == ["unchanged", "unchanged", "updated"]
    after = {d["doc_id"]: [c.id for c in store.chunks_of(d["doc_id"])] for d in service.documents()}
    gamma = next(r.doc_ids[0] for r in edited.results if r.status == "updated")
    assert {k: v for k, v in after.items() if k != gamma} == {
        k: v for k, v in before.items() if k != gamma
    }
    assert not set(after[gamma]) & set(before[gamma])
    assert [c.text for c in store.chunks_of(gamma)] == ["Gamma rays were seen by the Quokka array."]
    index = store.lexical_index()
    assert index.search("Quokka", 5) and not index.search("Zephyr", 5)


def test_docs_remove_clears_chroma_and_lexical_index(
    settings: Settings, embeddings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    service = make_assistant(settings, embeddings)
    service.ingest([small_corpus(tmp_path / "docs")])
    store = service.store()
    assert store.lexical_index().search("thorium", 5)
    alpha = next(d["doc_id"] for d in service.documents() if d["title"] == "Alpha")
    assert service.remove(alpha)
    assert store.chunks_of(alpha) == []
    assert alpha not in store.documents()
    assert store.lexical_index().search("thorium", 5) == []
    assert all(h.chunk.doc_id != alpha for h in service.search("alpha reactor thorium"))
    assert not service.remove(alpha)


def test_bad_files_are_reported_and_the_rest_ingested(
    settings: Settings, embeddings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "page.html").write_text(
        "<html><body><script>document.write('evil')</script><p>Harbor cranes unload ships.</p>"
        "</body></html>"
    )
    shutil.copy(SAMPLE, folder / "good.txt")
    service = make_assistant(settings, embeddings)
    report = service.ingest([folder])
    by_name = {Path(r.path).name: r for r in report.results}
    assert by_name["good.txt"].status == "added" and by_name["page.html"].status == "added"
    assert "corrupt PDF" in str(by_name["corrupt.pdf"].reason)
    assert "binary" in str(by_name["binary.txt"].reason)
    assert "empty" in str(by_name["empty.txt"].reason)
    assert report.partial
    html_id = by_name["page.html"].doc_ids[0]
    texts = [c.text for c in service.store().chunks_of(html_id)]
    assert texts == ["Harbor cranes unload ships."]
    assert len(service.documents()) == 2


def test_filters_by_date_and_document_push_down(
    settings: Settings, embeddings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from qa.types import Filters

    service = make_assistant(settings, embeddings)
    service.ingest([SAMPLE, small_corpus(tmp_path / "docs")])
    sample_id = next(d["doc_id"] for d in service.documents() if d["date"] == "2022-03-07")
    assert service.searcher().where(Filters(date_from="2022-01-01")) == {
        "date_ord": {"$gte": 20220101}
    }
    recent = service.search("sanctions oil reactor", k=10, filters=Filters(date_from="2022-01-01"))
    assert recent and {h.chunk.doc_id for h in recent} == {sample_id}
    old = service.search("sanctions oil reactor", k=10, filters=Filters(date_to="2021-12-31"))
    assert old and all(h.chunk.metadata["date"] == "2021-01-05" for h in old)
    only = service.search("bridge", k=10, filters=Filters(doc_ids=[sample_id]))
    assert {h.chunk.doc_id for h in only} == {sample_id}
    by_source = service.search("bridge", k=10, filters=Filters(source="beta.md"))
    assert by_source and all(h.chunk.metadata["source"].endswith("beta.md") for h in by_source)
    assert service.search("bridge", filters=Filters(source="no-such-file")) == []


def test_retriever_is_a_langchain_runnable(settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    from langchain_core.retrievers import BaseRetriever

    service = make_assistant(settings, embeddings)
    service.ingest([SAMPLE])
    retriever = service.retriever(k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("Who led the US delegation?")
    assert len(docs) == 2 and "Juan Gonzalez" in docs[0].page_content
    assert docs[0].metadata["date"] == "2022-03-07" and docs[0].metadata["score"] > 0
    assert json.loads(json.dumps(docs[0].metadata["sentences"]))


def test_filtered_dense_search_matches_chromas_own_filter(
    settings: Settings, embeddings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The dense search checks date and document filters against the registry on an
    unfiltered query (Chroma's filter scans metadata); it must find what Chroma's finds."""
    from vectorstore.lexical import LexicalFilter

    folder = tmp_path / "dated"
    folder.mkdir()
    for n in range(12):
        day = f"2021-{n + 1:02d}-10"
        (folder / f"port-{n}.txt").write_text(
            f"date {day}\nPort {n} loaded {n + 3} grain ships bound for the river delta.",
            encoding="utf-8",
        )
    (folder / "undated.txt").write_text("Grain ships wait at the undated port.", encoding="utf-8")
    service = make_assistant(settings, embeddings)
    service.ingest([folder])
    store = service.store()
    some = tuple(sorted(d["doc_id"] for d in service.documents())[:3])
    filters = [
        LexicalFilter(date_from=20210301),  # most documents
        LexicalFilter(date_from=20210601, date_to=20210630),  # one
        LexicalFilter(date_to=20210201),  # two dated and the undated one (date_ord 0)
        LexicalFilter(doc_ids=some),
        LexicalFilter(date_from=20210101, doc_ids=some),
    ]
    vector = embeddings.embed_query("grain ships")
    for keep in filters:
        where = keep.chroma_where()
        assert where is not None
        for k in (1, 3, 20):
            fast = store.dense("grain ships", k, keep)
            exact = store._dense_filtered(vector, k, where, store.documents())
            assert [c.id for c in fast] == [cid for cid, _ in exact], keep
            assert [round(c.score, 5) for c in fast] == [round(s, 5) for _, s in exact]
            assert all(c.text for c in fast)
    assert LexicalFilter(date_from=2, doc_ids=("a",)).admits({"date_ord": 3, "doc_id": "a"})
    assert not LexicalFilter(date_from=2).admits({"doc_id": "a"})  # no date: not in a window
    assert not LexicalFilter(doc_ids=("a",)).admits({"date_ord": 3, "doc_id": "b"})
