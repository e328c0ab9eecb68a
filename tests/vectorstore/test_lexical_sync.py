"""The BM25 index follows Chroma: across restarts and across processes sharing a server."""

from __future__ import annotations

from pathlib import Path

from qa.config import Settings
from qa.service import Assistant
from tests.conftest import SAMPLE
from vectorstore.lexical import BM25Index


def test_index_persists_and_is_reused_after_restart(
    embedded_settings: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    first = Assistant(embedded_settings, embeddings=embeddings)
    first.ingest([SAMPLE])
    built = first.store().lexical_index()
    index_path = first.store().index_path
    assert index_path is not None and index_path.exists()
    restarted = Assistant(embedded_settings, embeddings=embeddings)
    loaded = BM25Index.load(index_path)
    assert loaded is not None and loaded.generation == restarted.store().generation()
    assert restarted.store().lexical_index().ids == built.ids


def test_two_processes_on_one_server_see_each_others_writes(
    chroma_server: str,
    embeddings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    def settings(name: str) -> Settings:
        return Settings(data_dir=tmp_path / name, chroma_url=chroma_server, collection="shared-lex")

    writer = Assistant(settings("writer"), embeddings=embeddings)
    reader = Assistant(settings("reader"), embeddings=embeddings)
    assert reader.store().lexical_index().search("Promsvyazbank", 3) == []
    writer.ingest([SAMPLE])
    assert reader.store().lexical_index().search("Promsvyazbank", 3)
    (doc,) = writer.documents()
    writer.remove(doc["doc_id"])
    assert reader.store().lexical_index().search("Promsvyazbank", 3) == []
