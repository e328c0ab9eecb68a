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


READER = """
import sys, time
from pathlib import Path
from qa.config import Settings
from qa.service import Assistant
from vectorstore.lexical import LexicalIndex

applied = []
real = LexicalIndex._write
LexicalIndex._write = lambda self, changes: (applied.extend(c.doc_id for c in changes),
                                             real(self, changes))[1]
settings = Settings(data_dir=Path(sys.argv[1]), chroma_url=sys.argv[2], collection="proc-lex")
store = Assistant(settings).store()
print("before", len(store.lexical_index().search("Promsvyazbank", 3)), flush=True)
applied.clear()
while not Path(sys.argv[3]).exists():
    time.sleep(0.05)
print("after", len(store.lexical_index().search("Promsvyazbank", 3)),
      len(store.lexical_index().search("thorium", 3)), ",".join(applied), flush=True)
"""


def test_a_removal_reaches_another_process_without_a_rebuild(
    chroma_server: str, embeddings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    settings = Settings(data_dir=tmp_path / "w", chroma_url=chroma_server, collection="proc-lex")
    writer = Assistant(settings, embeddings=embeddings)
    writer.ingest([SAMPLE, small_corpus(tmp_path / "docs")])
    go = tmp_path / "go"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(tmp_path / "r"), chroma_server, str(go)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert reader.stdout is not None
    assert reader.stdout.readline().split() == ["before", "1"]
    sample = next(d["doc_id"] for d in writer.documents() if d["date"] == "2022-03-07")
    writer.remove(sample)
    go.touch()
    out, _ = reader.communicate(timeout=120)
    # The other process dropped exactly that document; the rest stayed searchable.
    assert out.split() == ["after", "0", "1", sample]
