"""The one service object the CLI, the HTTP API and the chat page all call."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import Settings, offline_env
from qa.ingest import Ingestor, ProgressFn
from qa.retrieval import HybridRetriever, HybridSearcher
from qa.types import Answer, Filters, IngestReport, SearchHit, Turn
from vectorstore.client import make_client
from vectorstore.embeddings import CachedEmbeddings
from vectorstore.remote import make_embeddings
from vectorstore.store import ChunkStore

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from qa.chain import AnswerChain, StreamEvent


class Assistant:
    """Ingests, searches and answers over the collections of one Chroma store."""

    def __init__(self, settings: Settings, embeddings: CachedEmbeddings | None = None) -> None:
        offline_env()
        self.settings = settings
        self.embeddings = embeddings or make_embeddings(
            settings.embeddings_url,
            settings.embeddings_model,
            settings.embeddings_api_key,
            settings.embed_batch_size,
            settings.embeddings_concurrency,
        )
        self._client: ClientAPI | None = None
        self._stores: dict[str, ChunkStore] = {}
        self._chains: dict[tuple[str, str], AnswerChain] = {}
        self._lock = threading.RLock()

    # --- storage ----------------------------------------------------------------------

    @property
    def client(self) -> ClientAPI:
        with self._lock:
            if self._client is None:
                self._client = make_client(self.settings.chroma_path(), self.settings.chroma_url)
            return self._client

    def store(self, collection: str | None = None) -> ChunkStore:
        name = collection or self.settings.collection
        with self._lock:
            if name not in self._stores:
                self._stores[name] = ChunkStore(
                    self.client,
                    name,
                    self.embeddings,
                    self.settings.index_dir(),
                    index_key=self.settings.chroma_url or str(self.settings.chroma_path()),
                    lease_s=self.settings.write_lease_s,
                )
            return self._stores[name]

    def collections(self) -> list[str]:
        names = [c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()]
        return sorted(n for n in names if not n.endswith("-registry"))

    # --- documents --------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[Path],
        collection: str | None = None,
        progress: ProgressFn | None = None,
        workers: int = 1,
    ) -> IngestReport:
        ingestor = Ingestor(
            self.store(collection),
            self.settings.chunk_size,
            self.settings.chunk_overlap,
            int(self.settings.max_file_mb * 1_000_000),
            workers=workers,
        )
        return ingestor.ingest(paths, progress)

    def ensure_examples(self) -> IngestReport | None:
        """On first start, ingest the bundled examples so the first question works."""
        examples = self.settings.bundled_examples()
        store = self.store()
        if store.documents() or not examples.is_dir():
            return None
        return self.ingest([examples])

    def documents(self, collection: str | None = None) -> list[dict[str, Any]]:
        docs = self.store(collection).documents()
        return sorted(
            ({"doc_id": k, **v} for k, v in docs.items()),
            key=lambda d: (str(d.get("date") or ""), str(d.get("title") or "")),
            reverse=True,
        )

    def remove(self, doc_id: str, collection: str | None = None) -> bool:
        return self.store(collection).remove(doc_id)

    # --- retrieval and answers --------------------------------------------------------

    def searcher(self, collection: str | None = None) -> HybridSearcher:
        return HybridSearcher(
            self.store(collection),
            self.settings.candidates,
            self.settings.rrf_k,
            self.settings.lexical_weight,
        )

    def retriever(
        self, collection: str | None = None, k: int | None = None, filters: Filters | None = None
    ) -> HybridRetriever:
        return HybridRetriever(
            searcher=self.searcher(collection), k=k or self.settings.top_k, filters=filters
        )

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        collection: str | None = None,
    ) -> list[SearchHit]:
        return self.searcher(collection).search(query, k or self.settings.top_k, filters)

    def chain(self, mode: str | None = None, collection: str | None = None) -> AnswerChain:
        from qa.chain import AnswerChain
        from qa.llm import make_llm

        key = (mode or self.settings.mode, collection or self.settings.collection)
        with self._lock:
            if key not in self._chains:
                llm = make_llm(key[0], self.settings)
                self._chains[key] = AnswerChain(self.searcher(key[1]), llm, self.settings)
            return self._chains[key]

    def ask(
        self,
        question: str,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        collection: str | None = None,
    ) -> Answer:
        return self.chain(mode, collection).answer(question, history or [], filters)

    def stream(
        self,
        question: str,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        collection: str | None = None,
    ) -> Iterator[StreamEvent]:
        return self.chain(mode, collection).run_events(question, history or [], filters)
