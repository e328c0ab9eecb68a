"""The registry mirror: caught up from the change log, started from the local snapshot,
and a commit that lands late (out of timestamp order) is still found by the sweep."""

from __future__ import annotations

import time

import pytest

import vectorstore.registry as registry_module
from qa.config import Settings
from qa.service import Assistant
from tests.conftest import SAMPLE
from tests.qa.test_ingest import small_corpus
from vectorstore.registry import Registry


def full_reads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The ``where`` of every registry read from now on (None = the whole registry)."""
    wheres: list[object] = []
    real = Registry._records

    def spy(self: Registry, where):  # type: ignore[no-untyped-def]
        wheres.append(where)
        return real(self, where)

    monkeypatch.setattr(Registry, "_records", spy)
    return wheres


def test_a_restart_starts_from_the_snapshot_not_the_whole_registry(
    embedded_settings: Settings, embeddings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    first = Assistant(embedded_settings, embeddings=embeddings)
    first.ingest([SAMPLE, small_corpus(tmp_path / "docs")])
    expected = first.store().documents()
    del first
    wheres = full_reads(monkeypatch)
    again = Assistant(embedded_settings, embeddings=embeddings)
    assert again.store().documents() == expected
    assert wheres and None not in wheres
    # It reads back seconds, not the sweep's minutes: after a bulk ingest those are tens
    # of thousands of records, seconds before the first question.
    newest = max(float(d["changed_at"]) for d in expected.values())
    looked_back = [newest - w["changed_at"]["$gte"] for w in wheres]  # type: ignore[index]
    assert max(looked_back) < registry_module.RECENT_S + 1 < registry_module.MARGIN_S


def test_a_commit_that_landed_late_while_down_is_found_by_the_sweep_after_a_restart(
    embedded_settings: Settings, embeddings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    first = Assistant(embedded_settings, embeddings=embeddings)
    first.ingest([small_corpus(tmp_path / "docs")])
    assert len(first.store().documents()) == 3
    # While nobody runs, a writer whose clock is a minute behind commits.
    first.store().registry._upsert(
        ["late"],
        [{"kind": "doc", "doc_id": "late", "doc_hash": "h", "changed_at": time.time() - 60}],
    )
    first.store().registry.bump()
    del first
    again = Assistant(embedded_settings, embeddings=embeddings)
    assert "late" not in again.store().documents(), "the start reads back seconds only"
    monkeypatch.setattr(registry_module, "SWEEP_S", 0.0)
    assert "late" in again.store().documents(), "the sweep finds it"


def test_a_late_commit_is_found_by_the_sweep(
    settings: Settings, embeddings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    service = Assistant(settings, embeddings=embeddings)
    service.ingest([small_corpus(tmp_path / "docs")])
    store = service.store()
    assert len(store.documents()) == 3
    # Another writer took its timestamp a minute ago and commits only now.
    store.registry._upsert(
        ["late"],
        [{"kind": "doc", "doc_id": "late", "doc_hash": "h", "changed_at": time.time() - 60}],
    )
    store.registry.bump()
    assert "late" not in store.documents(), "the quick catch-up looks back seconds only"
    monkeypatch.setattr(registry_module, "SWEEP_S", 0.0)
    assert "late" in store.documents()
