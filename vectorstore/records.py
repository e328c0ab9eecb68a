"""What the chunk store writes and reads: a document's new version, a chunk as read back
(with the sentence and clause vectors stored in its metadata), a damaged document."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vectorstore.codec import decode_rows


@dataclass
class DocumentWrite:
    """One document's new version: registry metadata, its chunks, and per chunk the exact
    texts of its sentences (embedded beside the chunks, stored as ``sentence_vectors``) and
    the clauses of its long sentences with their sentence's index (``clause_vectors``,
    ``clause_of``)."""

    doc_id: str
    doc_hash: str
    meta: dict[str, Any]
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: list[list[float]] = field(default_factory=list)
    sentence_texts: list[list[str]] = field(default_factory=list)
    clause_texts: list[list[tuple[int, str]]] = field(default_factory=list)


@dataclass
class StoredChunk:
    """A chunk as read back from Chroma, with the score that found it."""

    id: str
    text: str
    meta: dict[str, Any]
    score: float = 0.0

    def sentence_vectors(self) -> np.ndarray | None:
        """One float32 row per sentence span, in span order; None for chunks stored
        before sentence vectors existed."""
        data = self.meta.get("sentence_vectors")
        spans = json.loads(str(self.meta.get("sentences") or "[]"))
        if not isinstance(data, str) or not spans:
            return None
        return decode_rows(data, len(spans))

    def clause_vectors(self) -> tuple[list[int], np.ndarray] | None:
        """The clauses' sentence indices and vectors (one row each); None when the chunk
        has no long sentence, or was stored before clause vectors existed."""
        data = self.meta.get("clause_vectors")
        owners = json.loads(str(self.meta.get("clause_of") or "[]"))
        if not isinstance(data, str) or not owners:
            return None
        return [int(i) for i in owners], decode_rows(data, len(owners))


@dataclass
class DocProblem:
    """A committed document whose chunks are not all in Chroma."""

    doc_id: str
    expected: int
    present: int


def clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata holds only non-null scalars."""
    return {k: v for k, v in meta.items() if v is not None and not isinstance(v, (list, dict))}
