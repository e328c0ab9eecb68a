"""Hybrid retrieval: dense (Chroma) and BM25 rankings fused by reciprocal rank fusion."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict

from qa.date_window import OPEN_START
from qa.lexicon import with_plain_names
from qa.schema import UNDATED, date_ord, to_chunk
from qa.timeframe import TimeScope
from qa.types import Filters, SearchHit
from vectorstore.lexical import LexicalFilter
from vectorstore.store import ChunkStore

NO_END = 99_999_999  # the largest date_ord


def matches_nothing(keep: LexicalFilter) -> bool:
    """Whether a filter excludes every document: an empty date range or no documents."""
    empty_range = (
        keep.date_from is not None and keep.date_to is not None and (keep.date_from > keep.date_to)
    )
    return empty_range or keep.doc_ids == ()


class HybridSearcher:
    """Searches one ``ChunkStore``; filters are pushed down to Chroma and to the BM25 index."""

    def __init__(
        self, store: ChunkStore, candidates: int = 30, rrf_k: int = 10, lexical_weight: float = 0.5
    ) -> None:
        self.store = store
        self.candidates = candidates
        self.rrf_k = rrf_k
        # On natural-language questions (ClapNQ) dense ranks better than BM25 alone; BM25 at
        # half weight still rescues rare names and numbers (measured: docs/evaluation.md).
        self.lexical_weight = lexical_weight

    def _doc_ids(self, filters: Filters) -> list[str] | None:
        """The document restriction, or None for no restriction ([] matches nothing)."""
        ids = set(filters.doc_ids) if filters.doc_ids else None
        if filters.source:
            needle = filters.source.lower()
            by_source = {
                doc_id
                for doc_id, meta in self.store.documents().items()
                if needle in str(meta.get("source", "")).lower()
            }
            ids = by_source if ids is None else ids & by_source
        return None if ids is None else sorted(ids)

    def bounds(self, filters: Filters | None, scope: TimeScope | None) -> tuple[int, int] | None:
        """The inclusive ``date_ord`` range the filters and the time scope allow, or None.
        An explicit window (filters or the question's time words) starts at 1, so undated
        documents fall out of it; the as-of bound alone starts at 0 and keeps them."""
        low, high, explicit = 0, NO_END, False
        if filters is not None and filters.date_from:
            low, explicit = max(low, date_ord(filters.date_from)), True
        if filters is not None and filters.date_to:
            high, explicit = min(high, date_ord(filters.date_to)), True
        if scope is not None and scope.window is not None:
            if scope.window.start != OPEN_START:
                low = max(low, date_ord(scope.window.start.isoformat()))
            high, explicit = min(high, date_ord(scope.window.end.isoformat())), True
        if scope is not None and scope.until is not None:
            high = min(high, date_ord(scope.until.isoformat()))
        if explicit:
            low = max(low, UNDATED + 1)
        if (low, high) == (0, NO_END):
            return None
        return low, high

    def where(
        self, filters: Filters | None, scope: TimeScope | None = None
    ) -> dict[str, Any] | bool | None:
        """The restriction as a Chroma ``where`` clause; False when it can match nothing."""
        keep = self.lexical_filter(filters, scope)
        if keep is None:
            return None
        return False if matches_nothing(keep) else keep.chroma_where()

    def lexical_filter(
        self, filters: Filters | None, scope: TimeScope | None = None
    ) -> LexicalFilter | None:
        """The same restriction as a filter both searches apply: the lexical index inside
        tantivy, the dense search against the registry (or Chroma's ``where``)."""
        bounds = self.bounds(filters, scope)
        doc_ids = self._doc_ids(filters) if filters is not None else None
        if bounds is None and doc_ids is None:
            return None
        low, high = bounds if bounds else (0, NO_END)
        return LexicalFilter(
            date_from=low if low > 0 else None,
            date_to=high if high < NO_END else None,
            doc_ids=tuple(doc_ids) if doc_ids is not None else None,
        )

    def recency(
        self, fused: dict[str, float], scope: TimeScope, docs: dict[str, dict[str, Any]]
    ) -> None:
        """Fold the recency prior into fused scores: newer documents rank higher, by a decay
        over their age at the as-of date; undated documents are not penalised."""
        for cid in fused:
            meta = docs.get(cid.rsplit(":", 2)[0]) or {}
            fused[cid] *= scope.prior(meta.get("date"))

    def search(
        self,
        query: str,
        k: int = 6,
        filters: Filters | None = None,
        scope: TimeScope | None = None,
    ) -> list[SearchHit]:
        keep = self.lexical_filter(filters, scope)
        if (keep is not None and matches_nothing(keep)) or not query.strip():
            return []
        state = self.store.state()
        docs = state[1]
        dense = self.store.nearest(query, self.candidates, keep, docs)
        lexical = self.store.lexical_index(state).search(
            with_plain_names(query), self.candidates, keep
        )
        fused: dict[str, float] = {}
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense, start=1)}
        dense_score = dict(dense)
        lexical_rank = {cid: r for r, (cid, _) in enumerate(lexical, start=1)}
        for ranks, weight in ((dense_rank, 1.0), (lexical_rank, self.lexical_weight)):
            for cid, rank in ranks.items():
                fused[cid] = fused.get(cid, 0.0) + weight / (self.rrf_k + rank)
        if scope is not None and scope.recency_as_of is not None:
            self.recency(fused, scope, docs)
        top = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        stored = {c.id: c for c in self.store.get(top)}
        return [
            SearchHit(
                chunk=to_chunk(stored[cid]),
                score=fused[cid],
                dense_rank=dense_rank.get(cid),
                lexical_rank=lexical_rank.get(cid),
                dense_score=dense_score.get(cid),
                sentence_vectors=stored[cid].sentence_vectors(),
                clause_vectors=stored[cid].clause_vectors(),
            )
            for cid in top
            if cid in stored
        ]


class HybridRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever, usable in any LangChain pipeline; passes
    LangChain's standard retriever tests. ``invoke(query, k=n)`` overrides ``k`` per call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    k: int = 6
    filters: Filters | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[LCDocument]:
        hits = self.searcher.search(query, self.k if k is None else k, self.filters)
        return [self.document(hit) for hit in hits]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[LCDocument]:
        # LangChain's default drops the call's keywords (k); the search itself is blocking.
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), k=k
        )

    @staticmethod
    def document(hit: SearchHit) -> LCDocument:
        """A hit as a LangChain document: the chunk text, its metadata and how it ranked."""
        return LCDocument(
            page_content=hit.chunk.text,
            id=hit.chunk.id,
            metadata={
                **hit.chunk.metadata,
                "chunk_id": hit.chunk.id,
                "start": hit.chunk.start,
                "end": hit.chunk.end,
                "sentences": hit.chunk.sentences,
                "score": hit.score,
                "dense_rank": hit.dense_rank,
                "lexical_rank": hit.lexical_rank,
                "dense_score": hit.dense_score,
            },
        )
