"""Write leases: one writer per document across processes; removal waits for a writer."""

from __future__ import annotations

import threading
import time

import pytest

from qa.config import Settings
from qa.service import Assistant
from vectorstore.registry import Registry, StoreBusy


def registry(settings: Settings, embeddings, wait_s: float = 5.0) -> Registry:  # type: ignore[no-untyped-def]
    store = Assistant(settings, embeddings=embeddings).store()
    return Registry(store.registry.collection, lease_s=60.0, wait_s=wait_s)


def test_of_two_writers_only_one_holds_a_document(settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    reg = registry(settings, embeddings)
    # Both wrote their lease before either looked: both must back off, neither proceeds.
    for owner in ("a", "b"):
        reg._upsert(
            [f"__lease__:doc:{owner}"],
            [{"kind": "lease", "doc_id": "doc", "doc_hash": owner, "owner": owner,
              "expires": time.time() + 60}],
        )  # fmt: skip
    assert reg._try_lease("a", {"doc": "a", "free": "a"}) == ["free"]
    reg.collection.delete(ids=["__lease__:doc:a", "__lease__:doc:b", "__lease__:free:a"])
    # Alone, a writer gets it; a second one then does not, until the first lets go.
    assert reg._try_lease("a", {"doc": "a"}) == ["doc"]
    assert reg._try_lease("b", {"doc": "b"}) == []
    reg.collection.delete(ids=["__lease__:doc:a"])
    assert reg._try_lease("b", {"doc": "b"}) == ["doc"]


def test_a_held_document_makes_others_wait_then_fail(settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    reg = registry(settings, embeddings, wait_s=0.5)
    with (
        reg.leases({"doc": "h1"}),
        pytest.raises(StoreBusy, match="doc"),
        reg.leases({"doc": "h2"}),
    ):
        pass
    with reg.leases({"doc": "h3"}):
        assert [m["doc_hash"] for m in reg.lease_records(["doc"])] == ["h3"]
    assert reg.lease_records() == []


def test_removal_waits_for_the_writer_of_the_same_document(settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import SAMPLE

    service = Assistant(settings, embeddings=embeddings)
    service.ingest([SAMPLE])
    store = service.store()
    (doc_id,) = store.documents()
    events: list[str] = []

    def writer() -> None:
        with store.registry.leases({doc_id: "new"}):
            events.append("writer holds")
            time.sleep(1.0)
            events.append("writer done")

    thread = threading.Thread(target=writer)
    thread.start()
    while not events:
        time.sleep(0.01)
    assert store.remove(doc_id)
    events.append("removed")
    thread.join()
    assert events == ["writer holds", "writer done", "removed"]
    assert store.chunks_of(doc_id) == [] and store.documents() == {}
