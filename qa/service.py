"""The one service object the CLI, the HTTP API and the chat page all call."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from qa.config import Settings, offline_env
from qa.ingest import Ingestor, ProgressFn
from qa.people.access import Policy
from qa.people.records import Forbidden
from qa.retrieval import HybridRetriever, HybridSearcher
from qa.types import Answer, Filters, IngestReport, IngestResult, SearchHit, Turn, UploadResult
from qa.uploads import owned_upload, stage
from vectorstore.client import make_client
from vectorstore.embeddings import CachedEmbeddings
from vectorstore.remote import make_embeddings
from vectorstore.store import ChunkStore

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from qa.chain import AnswerChain
    from qa.chain_io import StreamEvent


class ModeNotEnabled(ValueError):
    """A mode the operator did not enable; requests choose only among enabled modes."""

    def __init__(self, mode: str, enabled: list[str]) -> None:
        self.mode, self.enabled = mode, enabled
        super().__init__(
            f"mode {mode!r} is not enabled on this server; enabled: {', '.join(enabled)}"
        )


class InvalidRequest(ValueError):
    """A request the service refuses before doing any work; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


class UnknownCollection(LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no collection {name!r}; GET /v1/collections lists them")


# Chroma's own rule for collection names; it also keeps names usable as folder names.
_COLLECTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


class Assistant:
    """Ingests, searches and answers over the collections of one Chroma store.

    Methods that take ``user`` enforce the access policy (``CITEQA_ACCESS``) for that user:
    a collection they may not read looks unknown (``UnknownCollection``, so its existence is
    not revealed) and a write they may not make is ``Forbidden``. ``user=None`` is the
    operator's own access (the CLI, evaluation, warm-up), which the policy does not limit.
    """

    def __init__(
        self,
        settings: Settings,
        embeddings: CachedEmbeddings | None = None,
        policy: Policy | None = None,
    ) -> None:
        offline_env()
        self.settings = settings
        self.policy = policy or Policy.parse(settings.access)
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
        # One ingest at a time in this process (the store orders writers across processes).
        self.ingest_lock = threading.Lock()

    # --- checks every interface applies -------------------------------------------------

    def check_question(self, question: str, history: list[Turn] | None = None) -> str:
        """The question, stripped; the history bounded, since its last user turn joins the
        search query and every turn reaches the model."""
        limit = self.settings.max_question_chars
        text = question.strip()
        if not text:
            raise InvalidRequest("question", "the question is empty")
        if len(text) > limit:
            raise InvalidRequest(
                "question", f"the question is {len(text)} characters long; the limit is {limit}"
            )
        turns = history or []
        if len(turns) > self.settings.max_history_turns:
            raise InvalidRequest(
                "history",
                f"{len(turns)} turns; the limit is {self.settings.max_history_turns}",
            )
        for n, turn in enumerate(turns):
            if turn.role == "user" and len(turn.content) > limit:
                raise InvalidRequest(f"history.{n}.content", f"longer than {limit} characters")
        total = sum(len(t.content) for t in turns)
        if total > self.settings.max_history_chars:
            raise InvalidRequest(
                "history",
                f"{total} characters; the limit is {self.settings.max_history_chars}",
            )
        return text

    def resolve_collection(
        self,
        name: str | None,
        create: bool = False,
        user: str | None = None,
        write: bool = False,
    ) -> str:
        """The collection to use; an unknown one is an error unless it is to be created.

        With ``user``: reading a collection they may not read is ``UnknownCollection``;
        writing (``write``, or ``create``) one they may not write is ``Forbidden``, asked
        before existence so a refused write reveals nothing either.
        """
        name = name or self.settings.collection
        if not _COLLECTION.match(name) or name.endswith("-registry"):
            raise InvalidRequest(
                "collection",
                f"invalid name {name!r}: 3-63 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit",
            )
        if user is not None and (write or create) and not self.policy.can_write(user, name):
            raise Forbidden(f"{user} may not add or remove documents in {name!r}")
        self.check_read(name, user)
        if not create and name != self.settings.collection and name not in self.collections():
            raise UnknownCollection(name)
        return name

    def check_read(self, collection: str | None, user: str | None) -> None:
        """``UnknownCollection`` when ``user`` may not read ``collection`` (None: the default)."""
        name = collection or self.settings.collection
        if user is not None and not self.policy.can_read(user, name):
            raise UnknownCollection(name)

    def default_collection(self, user: str | None = None) -> str | None:
        """The collection a user starts in: the configured one if they may read it, else the
        first they may read; None when they may read none."""
        if user is None or self.policy.can_read(user, self.settings.collection):
            return self.settings.collection
        readable = self.collections(user)
        return readable[0] if readable else None

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

    def collections(self, user: str | None = None) -> list[str]:
        """The stored collections (those ``user`` may read, when given), sorted."""
        names = [c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()]
        found = sorted(n for n in names if not n.endswith("-registry"))
        return found if user is None else self.policy.readable(user, found)

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

    def documents(
        self, collection: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """The collection's documents with their metadata, newest first."""
        self.check_read(collection, user)
        docs = self.store(collection).documents()
        return sorted(
            ({"doc_id": k, **v} for k, v in docs.items()),
            key=lambda d: (str(d.get("date") or ""), str(d.get("title") or "")),
            reverse=True,
        )

    def add_files(
        self,
        files: Sequence[tuple[str, IO[bytes]]],
        collection: str | None = None,
        progress: ProgressFn | None = None,
    ) -> list[UploadResult]:
        """Save uploaded files under the uploads folder and ingest them as one batch.

        Every file is checked (type, size) before any is kept (``UploadError``); a file that
        fails to ingest is reported and not kept.
        """
        name = collection or self.settings.collection
        max_bytes = int(self.settings.max_file_mb * 1_000_000)
        saved = stage(files, self.settings.uploads_dir() / name, max_bytes)
        with self.ingest_lock:
            targets = list(dict.fromkeys(path for _, path in saved))  # a name sent twice: once
            report = self.ingest(targets, name, progress)
        by_path = {r.path: r for r in report.results}
        stored = {str(d.get("source")) for d in self.documents(name)}
        results = []
        for filename, target in saved:
            done = by_path.get(str(target)) or IngestResult(path=str(target), status="failed")
            if done.status == "failed" and str(target) not in stored:
                target.unlink(missing_ok=True)
            results.append(
                UploadResult(
                    filename=filename,
                    saved_as=target.name,
                    status=done.status,
                    doc_ids=done.doc_ids,
                    chunks=done.chunks,
                    reason=done.reason,
                )
            )
        return results

    def remove(self, doc_id: str, collection: str | None = None) -> bool:
        """Remove a document, and its uploaded file when no other document comes from it."""
        store = self.store(collection)
        meta = store.document(doc_id)
        if meta is None or not store.remove(doc_id):
            return False
        upload = owned_upload(str(meta.get("source") or ""), self.settings.uploads_dir())
        others = {str(d.get("source")) for d in self.documents(collection)}
        if upload is not None and str(upload) not in others:
            upload.unlink(missing_ok=True)
        return True

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
        user: str | None = None,
    ) -> list[SearchHit]:
        self.check_read(collection, user)
        return self.searcher(collection).search(query, k or self.settings.top_k, filters)

    def chain(self, mode: str | None = None, collection: str | None = None) -> AnswerChain:
        """The chain for ``mode``, which must be one the operator enabled (``CITEQA_MODES``)."""
        from qa.chain import AnswerChain
        from qa.llm import backend, enabled_modes

        key = (mode or self.settings.mode, collection or self.settings.collection)
        enabled = enabled_modes(self.settings)
        if key[0] not in enabled:
            raise ModeNotEnabled(key[0], enabled)
        with self._lock:
            if key not in self._chains:
                self._chains[key] = AnswerChain(
                    self.searcher(key[1]), backend(key[0]), self.settings
                )
            return self._chains[key]

    def ask(
        self,
        question: str,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        collection: str | None = None,
        user: str | None = None,
        as_of: date | None = None,
    ) -> Answer:
        self.check_read(collection, user)
        return self.chain(mode, collection).answer(question, history or [], filters, as_of)

    def stream(
        self,
        question: str,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
        collection: str | None = None,
        user: str | None = None,
        as_of: date | None = None,
    ) -> Iterator[StreamEvent]:
        self.check_read(collection, user)
        chain = self.chain(mode, collection)
        return chain.run_events(question, history or [], filters, as_of=as_of)
