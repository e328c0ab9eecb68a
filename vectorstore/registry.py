"""The ``<name>-registry`` collection: committed documents, removals, write leases, and a
generation marker that changes with every commit.

It doubles as a change log. Every commit or removal record carries ``changed_at``; a
removal leaves a tombstone rather than deleting the record. A process that saw the
registry up to time T catches up by reading the records changed since T minus a margin
(writers on other hosts may have clocks a little apart), never the whole registry.

Leases order writers of the same document across processes (Chroma has no compare-and-set):
a writer adds its own lease record, then reads every lease on the document. If it sees
another live lease, it withdraws and retries later. Of two writers, at least one sees the
other (each writes before it reads), so two never both proceed. A lease whose time ran out
belongs to a writer that died: only then may its half-written chunks be deleted.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from vectorstore.snapshot import RegistrySnapshot

GENERATION_ID = "__generation__"
LEASE_PREFIX = "__lease__:"
PAGE = 1000
# How far back a catch-up reads before the newest change it saw. Every catch-up looks
# back RECENT_S (commits a moment apart may land out of order); at most every SWEEP_S
# (counted from the start too), one looks back MARGIN_S (clocks of writer hosts a little
# apart, a writer stalled between taking its timestamp and writing). Reading back far on
# every catch-up would reread a whole bulk ingest's records for each question asked
# during it.
RECENT_S = 5.0
SWEEP_S = 60.0
MARGIN_S = 600.0


class StoreBusy(RuntimeError):
    """Another writer held a document for longer than we were willing to wait."""


def _kind(meta: dict[str, Any]) -> str:
    # Records written before kinds existed are committed documents.
    return str(meta.get("kind", "doc"))


class Registry:
    """Reads and writes the registry collection; keeps a per-process mirror of it."""

    def __init__(
        self,
        collection: Any,
        lease_s: float = 300.0,
        wait_s: float = 120.0,
        snapshot: RegistrySnapshot | None = None,
    ) -> None:
        self.collection = collection
        self.lease_s = lease_s
        self.wait_s = wait_s
        self.snapshot = snapshot
        self._lock = threading.RLock()
        self._docs: dict[str, dict[str, Any]] | None = None
        self._gen: str | None = None
        self._watermark = 0.0
        self._swept = 0.0
        self._unswept = False
        # Ids of documents in the order their records reached the mirror, so a follower
        # (the lexical index) looks only at what changed since its last look.
        self._log: list[str] = []
        self._log_start = 0

    # --- generation --------------------------------------------------------------------

    def generation(self) -> str:
        got = self.collection.get(ids=[GENERATION_ID], include=["metadatas"])
        metas = got.get("metadatas") or []
        return str(metas[0].get("gen", "")) if metas and metas[0] else ""

    def bump(self) -> None:
        self._upsert([GENERATION_ID], [{"kind": "generation", "gen": uuid.uuid4().hex}])

    # --- committed documents ------------------------------------------------------------

    def documents(self) -> tuple[str, dict[str, dict[str, Any]]]:
        """(generation, committed documents by id), caught up from the change log."""
        gen = self.generation()
        with self._lock:
            now = time.monotonic()
            sweep = self._unswept and now - self._swept >= SWEEP_S
            if self._docs is not None and self._gen == gen and not sweep:
                return gen, self._docs
            docs = dict(self._docs or {})
            where: dict[str, Any] | None
            if self._docs is None:
                saved = self.snapshot.load() if self.snapshot else None
                if saved is not None:
                    self._apply(docs, saved[0])
                    self._watermark = saved[1]
                    # Started from the snapshot: the sweep comes within SWEEP_S, as for a
                    # running process (after a bulk ingest, the last MARGIN_S of records
                    # are tens of thousands: seconds to read before the first question).
                    self._swept = now
                where = None if saved is None else self._since(RECENT_S)
            else:
                where = self._since(MARGIN_S if sweep else RECENT_S)
            if sweep or where is None:
                self._swept, self._unswept = now, False
            else:
                self._unswept = True
            records = [r for r in self._records(where) if _kind(r[1]) in ("doc", "removed")]
            self._apply(docs, records)
            if self.snapshot is not None and records:
                self.snapshot.save(records, self._watermark)
            self._docs, self._gen = docs, gen
            if len(self._log) > 2 * len(docs) + 100_000:
                # Followers this far behind compare everything instead.
                self._log_start += len(self._log)
                self._log = []
            return gen, docs

    def changes(self, since: int) -> tuple[int, list[str] | None]:
        """(position now, ids of documents changed after position ``since``); None when
        the log no longer reaches back that far and everything must be compared."""
        with self._lock:
            end = self._log_start + len(self._log)
            if since < self._log_start:
                return end, None
            return end, self._log[since - self._log_start :]

    def _since(self, seconds: float) -> dict[str, Any]:
        return {"changed_at": {"$gte": self._watermark - seconds}}

    def _apply(
        self, docs: dict[str, dict[str, Any]], records: list[tuple[str, dict[str, Any]]]
    ) -> None:
        """Records onto the mirror: a commit sets a document, a tombstone removes it."""
        for doc_id, meta in records:
            kind = _kind(meta)
            if kind == "doc":
                docs[doc_id] = meta
            elif kind == "removed":
                docs.pop(doc_id, None)
            else:
                continue
            self._log.append(doc_id)
            self._watermark = max(self._watermark, float(meta.get("changed_at", 0.0)))

    def document(self, doc_id: str) -> dict[str, Any] | None:
        """The committed record, read fresh from Chroma."""
        return self.records([doc_id]).get(doc_id)

    def records(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Committed records of these documents, read fresh."""
        if not doc_ids:
            return {}
        got = self.collection.get(ids=list(doc_ids), include=["metadatas"])
        return {
            i: dict(m)
            for i, m in zip(got["ids"], got.get("metadatas") or [], strict=True)
            if m and _kind(m) == "doc"
        }

    def commit(self, records: Sequence[tuple[str, str, dict[str, Any]]]) -> float:
        """Make document versions visible: (doc_id, title, metadata) each; returns the
        ``changed_at`` they carry."""
        now = time.time()
        self._upsert(
            [r[0] for r in records],
            [{**r[2], "kind": "doc", "changed_at": now} for r in records],
            [r[1] for r in records],
        )
        return now

    def tombstone(self, doc_id: str) -> None:
        """Uncommit a document; the record stays so other processes learn of the removal."""
        self._upsert([doc_id], [{"kind": "removed", "doc_id": doc_id, "changed_at": time.time()}])

    # --- leases ------------------------------------------------------------------------

    @contextmanager
    def leases(self, versions: dict[str, str]) -> Iterator[None]:
        """Hold every document in ``versions`` (doc_id -> hash being written) exclusively."""
        owner = uuid.uuid4().hex
        pending = dict(versions)
        held: list[str] = []
        deadline = time.monotonic() + self.wait_s
        try:
            while pending:
                granted = self._try_lease(owner, pending)
                held += granted
                for doc_id in granted:
                    pending.pop(doc_id)
                if pending:
                    if time.monotonic() > deadline:
                        raise StoreBusy(f"documents held by another writer: {sorted(pending)}")
                    time.sleep(random.uniform(0.02, 0.25))
            yield
        finally:
            if held:
                self.collection.delete(ids=[f"{LEASE_PREFIX}{d}:{owner}" for d in held])

    def _try_lease(self, owner: str, versions: dict[str, str]) -> list[str]:
        expires = time.time() + self.lease_s
        ids = list(versions)
        self._upsert(
            [f"{LEASE_PREFIX}{d}:{owner}" for d in ids],
            [
                {"kind": "lease", "doc_id": d, "doc_hash": versions[d], "owner": owner,
                 "expires": expires}
                for d in ids
            ],
        )  # fmt: skip
        now = time.time()
        contended = {
            str(meta["doc_id"])
            for meta in self.lease_records(ids)
            if meta.get("owner") != owner and float(meta.get("expires", 0)) > now
        }
        if contended:
            self.collection.delete(ids=[f"{LEASE_PREFIX}{d}:{owner}" for d in contended])
        return [d for d in ids if d not in contended]

    def lease_records(self, doc_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Lease records, of these documents or of all."""
        where: dict[str, Any] = {"kind": "lease"}
        if doc_ids is not None:
            where = {"$and": [where, {"doc_id": {"$in": list(doc_ids)}}]}
        return [meta for _, meta in self._records(where)]

    def drop_lease(self, meta: dict[str, Any]) -> None:
        self.collection.delete(ids=[f"{LEASE_PREFIX}{meta['doc_id']}:{meta['owner']}"])

    # --- plumbing ----------------------------------------------------------------------

    def _upsert(
        self, ids: list[str], metas: list[dict[str, Any]], docs: list[str] | None = None
    ) -> None:
        self.collection.upsert(
            ids=ids,
            embeddings=[[1.0] for _ in ids],
            metadatas=[{k: v for k, v in m.items() if v is not None} for m in metas],
            documents=docs or ["" for _ in ids],
        )

    def _records(self, where: dict[str, Any] | None) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = 0
        while True:
            got = self.collection.get(where=where, include=["metadatas"], limit=PAGE, offset=offset)
            ids = list(got["ids"])
            for record_id, meta in zip(ids, got.get("metadatas") or [], strict=True):
                if meta and record_id != GENERATION_ID:
                    yield record_id, dict(meta)
            if len(ids) < PAGE:
                return
            offset += PAGE
