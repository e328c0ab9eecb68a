"""The lexical index follows Chroma: across restarts and across processes sharing a server,
document by document, never by a rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import Settings
from qa.service import Assistant
from tests.conftest import SAMPLE
from tests.qa.test_ingest import small_corpus
from vectorstore.lexical import LexicalIndex


def applied_docs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every document id the lexical index (re)indexes from now on."""
    seen: list[str] = []
    real = LexicalIndex._write

    def spy(self: LexicalIndex, changes):  # type: ignore[no-untyped-def]
        seen.extend(c.doc_id for c in changes)
        return real(self, changes)

    monkeypatch.setattr(LexicalIndex, "_write", spy)
    return seen


def test_index_persists_and_is_reused_after_restart(
    embedded_settings: Settings, embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    first = Assistant(embedded_settings, embeddings=embeddings)
    first.ingest([SAMPLE])
    built = first.store().lexical_index().search("Promsvyazbank", 3)
    assert built and first.store().index_path is not None
    del first
    applied = applied_docs(monkeypatch)
    restarted = Assistant(embedded_settings, embeddings=embeddings)
    assert restarted.store().lexical_index().search("Promsvyazbank", 3) == built
    assert applied == [], "a restart must not re-index anything"


def test_two_processes_on_one_server_see_each_others_writes(
    chroma_server: str, embeddings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    def settings(name: str) -> Settings:
        return Settings(data_dir=tmp_path / name, chroma_url=chroma_server, collection="shared-lex")

    writer = Assistant(settings("writer"), embeddings=embeddings)
    reader = Assistant(settings("reader"), embeddings=embeddings)
    assert reader.store().lexical_index().search("Promsvyazbank", 3) == []
    writer.ingest([SAMPLE, small_corpus(tmp_path / "docs")])
    assert reader.store().lexical_index().search("Promsvyazbank", 3)
    assert reader.store().lexical_index().search("thorium", 3)
    applied = applied_docs(monkeypatch)
    sample = next(d["doc_id"] for d in writer.documents() if d["date"] == "2022-03-07")
    writer.remove(sample)
    assert reader.store().lexical_index().search("Promsvyazbank", 3) == []
    assert reader.store().lexical_index().search("thorium", 3), "other documents stay"
    # The reader applied exactly the removal (the writer applied its own too): no rebuild.
    assert applied == [sample, sample]
    assert len(reader.store().lexical_index()) == len(writer.store().lexical_index())


def test_a_lost_index_folder_is_rebuilt_from_chroma(
    embedded_settings: Settings, embeddings
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    first = Assistant(embedded_settings, embeddings=embeddings)
    first.ingest([SAMPLE])
    expected = first.store().lexical_index().search("Venezuela oil", 5)
    path = first.store().index_path
    del first
    assert path is not None
    shutil.rmtree(path)
    again = Assistant(embedded_settings, embeddings=embeddings)
    assert again.store().lexical_index().search("Venezuela oil", 5) == expected
