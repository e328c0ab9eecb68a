"""Retrieval metrics at the document level: which ranked documents are gold, and where.

Ranked chunks are mapped to documents; several chunks of one document count once, at the
rank of the best.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from pathlib import PurePath


def doc_matches(doc_id: str, source: str, gold: str) -> bool:
    """Whether a document is the gold one: by doc_id, or by file name (not stem: ``a.txt``
    and ``a.md`` are two documents) for file corpora."""
    return gold == doc_id or (bool(source) and gold == PurePath(source).name)


def unmatched_gold(gold: Iterable[str], documents: Collection[tuple[str, str]]) -> list[str]:
    """The gold entries that match none of the (doc_id, source) documents, in first-seen order."""
    return [g for g in dedupe(gold) if not any(doc_matches(d, s, g) for d, s in documents)]


def ranked_doc_keys(retrieved: Iterable[tuple[str, str]], gold: Collection[str]) -> list[str]:
    """Map ranked (doc_id, source) pairs to doc keys (the gold entry they match, else doc_id)."""
    keys = (next((g for g in gold if doc_matches(d, s, g)), d) for d, s in retrieved)
    return dedupe(keys)


def dedupe(keys: Iterable[str]) -> list[str]:
    """Drop repeated keys, keeping each one's first (best) rank."""
    return list(dict.fromkeys(keys))


def hit_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float | None:
    """1.0 when a gold document is among the first k distinct documents, else 0.0."""
    if not gold:
        return None
    return float(any(key in gold for key in _top(ranked, k)))


def mrr_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float | None:
    """Reciprocal rank of the first gold document within the first k, else 0.0."""
    if not gold:
        return None
    return next((1 / rank for rank, key in enumerate(_top(ranked, k), 1) if key in gold), 0.0)


def ndcg_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float | None:
    """Binary-relevance nDCG@k; the ideal ranks min(len(gold), k) gold documents first."""
    if not gold:
        return None
    dcg = sum(1 / math.log2(i + 2) for i, key in enumerate(_top(ranked, k)) if key in gold)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(set(gold)), k)))
    return dcg / ideal


def _top(ranked: Sequence[str], k: int) -> list[str]:
    """The first k distinct keys."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return dedupe(ranked)[:k]
