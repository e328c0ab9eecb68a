"""A BM25 index over chunk texts. It is derived from Chroma and never the source of truth."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from vectorstore.tokens import terms


class BM25Index:
    """Okapi BM25 over (chunk id, text, metadata) triples, kept in memory.

    ``generation`` records which state of the Chroma collection the index was built from,
    so a reader can tell whether it is stale.
    """

    def __init__(self, generation: str = "", k1: float = 1.2, b: float = 0.75) -> None:
        self.generation = generation
        self.k1 = k1
        self.b = b
        self.ids: list[str] = []
        self.metas: list[dict[str, Any]] = []
        self.lengths: list[int] = []
        self.postings: dict[str, list[tuple[int, int]]] = {}

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, dict[str, Any]]], generation: str) -> BM25Index:
        index = cls(generation)
        for chunk_id, text, meta in rows:
            slot = len(index.ids)
            index.ids.append(chunk_id)
            index.metas.append(meta)
            counts = Counter(terms(text))
            index.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                index.postings.setdefault(term, []).append((slot, tf))
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        n = len(self.ids)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(
        self,
        query: str,
        k: int,
        accept: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """Best ``k`` chunk ids for ``query``, optionally only those whose metadata passes."""
        if not self.ids:
            return []
        avg = sum(self.lengths) / len(self.lengths) or 1.0
        scores: dict[int, float] = {}
        for term in set(terms(query)):
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            for slot, tf in postings:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[slot] / avg)
                scores[slot] = scores.get(slot, 0.0) + idf * tf * (self.k1 + 1) / norm
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self.ids[item[0]]))
        out = []
        for slot, score in ranked:
            if accept is None or accept(self.metas[slot]):
                out.append((self.ids[slot], score))
                if len(out) == k:
                    break
        return out

    def save(self, path: Path) -> None:
        """Write atomically: a reader never sees half an index."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "generation": self.generation,
            "ids": self.ids,
            "metas": self.metas,
            "lengths": self.lengths,
            "postings": self.postings,
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> BM25Index | None:
        """The saved index, or None when missing or unreadable (it is then rebuilt)."""
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            index = cls(payload["generation"])
            index.ids = payload["ids"]
            index.metas = payload["metas"]
            index.lengths = payload["lengths"]
            index.postings = {t: [(s, f) for s, f in p] for t, p in payload["postings"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return index
