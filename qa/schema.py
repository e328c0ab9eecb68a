"""The metadata schema of documents and chunks in Chroma: written and read here only.

Chroma metadata holds scalars, so lists (sentence spans) are JSON strings and dates are also
stored as ``date_ord`` (YYYYMMDD as an int), the form Chroma's range filters can compare.
"""

from __future__ import annotations

import json
import time
from typing import Any

from qa.types import Chunk, Document
from vectorstore.records import DocumentWrite, StoredChunk

UNDATED = 0
# Stored for evidence scoring, not for clients: kept off the chunk.
INTERNAL = frozenset({"sentences", "sentence_vectors", "clause_vectors", "clause_of"})


def date_ord(date: str | None) -> int:
    """YYYYMMDD as an int: Chroma range filters work on numbers, not strings. An undated
    document is ``UNDATED`` (0): an as-of bound ("nothing after X") keeps it, an explicit
    window (from 1 upwards) leaves it out."""
    return int(date.replace("-", "")) if date else UNDATED


def doc_meta(doc: Document, n_chunks: int) -> dict[str, Any]:
    """The registry record of a document."""
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "date": doc.date,
        "date_ord": date_ord(doc.date),
        "source": doc.source,
        "url": doc.url,
        "n_chunks": n_chunks,
        "chars": len(doc.text) - doc.body_start,
        "ingested_at": time.time(),
    }


def chunk_meta(doc: Document, chunk: Chunk) -> dict[str, Any]:
    """Chroma metadata of a chunk. Kept out of the embedded text on purpose."""
    return {
        "doc_id": doc.doc_id,
        "doc_hash": doc.content_hash,
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "sentences": json.dumps(chunk.sentences),
        "title": doc.title,
        "date": doc.date,
        "date_ord": date_ord(doc.date),
        "source": doc.source,
        "url": doc.url,
        "page": chunk.metadata.get("page"),
    }


def to_write(doc: Document, chunks: list[Chunk]) -> DocumentWrite:
    """One document version as the store writes it."""
    return DocumentWrite(
        doc_id=doc.doc_id,
        doc_hash=doc.content_hash,
        meta=doc_meta(doc, len(chunks)),
        ids=[c.id for c in chunks],
        texts=[c.text for c in chunks],
        metas=[chunk_meta(doc, c) for c in chunks],
    )


def to_chunk(stored: StoredChunk) -> Chunk:
    """A chunk as read back from Chroma."""
    meta = stored.meta
    return Chunk(
        id=stored.id,
        doc_id=str(meta.get("doc_id", "")),
        text=stored.text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        position=int(meta.get("position", 0)),
        sentences=[tuple(s) for s in json.loads(str(meta.get("sentences") or "[]"))],
        metadata={k: v for k, v in meta.items() if k not in INTERNAL},
    )
