"""The plain LangChain RAG recipe, run through the same harness as citeqa for comparison.

It follows the LangChain RAG tutorial: ``RecursiveCharacterTextSplitter(1000, 200)`` over the
same documents citeqa ingests, a ``langchain_chroma.Chroma`` collection of its own (cosine
space, the same embedding model), dense top 4, the tutorial prompt, and the same chat model.
It writes no citations. It counts as abstaining when its answer says it does not know
(:func:`says_unknown`). Extractive mode has no model, so there the answer is the text of the
best retrieved chunk and the baseline never abstains (unless nothing was retrieved). For the
retrieval metrics it ranks as many chunks as citeqa (:meth:`LangChainBaseline.search`).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate

from qa.documents import DocumentError, discover, load_path

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from langchain_chroma import Chroma

COLLECTION = "baseline-langchain"
CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4
# Chroma rejects very large single writes; the recipe's add_documents is called per batch.
ADD_BATCH = 256
PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "human",
            "Use the following pieces of retrieved context to answer the question. "
            "If you don't know the answer, just say that you don't know. "
            "Use three sentences maximum and keep the answer concise.\n"
            "Question: {question}\nContext: {context}\nAnswer:",
        )
    ]
)
# The prompt asks the model to "say that you don't know"; these are the ways it does.
_UNKNOWN = re.compile(
    r"\b(?:do not|don[’']?t|does not|doesn[’']?t) know\b"
    r"|\b(?:cannot|can[’']?t|unable to) (?:answer|tell|determine|find)\b"
    r"|\bcould not find\b"
    r"|\bno (?:information|mention)\b",
    re.IGNORECASE,
)


def says_unknown(answer: str) -> bool:
    """Whether a baseline answer declines: it is empty, or says it does not know / cannot
    answer / could not find it / has no information."""
    return not answer.strip() or bool(_UNKNOWN.search(answer))


@dataclass
class BaselineAnswer:
    """One baseline answer with what the harness records about it."""

    text: str
    abstained: bool
    retrieved: list[dict[str, str]]
    timings: dict[str, float] = field(default_factory=dict)
    llm_calls: int = 0
    tokens: int = 0


def corpus_documents(corpus: Path, max_bytes: int) -> list[LCDocument]:
    """The corpus as LangChain documents, loaded exactly as citeqa's ingester loads it."""
    docs = []
    for path in discover([corpus]):
        try:
            loaded = load_path(path, max_bytes)
        except DocumentError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        for doc in loaded.documents:
            meta = {"doc_id": doc.doc_id, "source": doc.source, "title": doc.title}
            docs.append(LCDocument(page_content=doc.text[doc.body_start :], metadata=meta))
    return docs


def split(docs: Sequence[LCDocument]) -> list[LCDocument]:
    """The tutorial's splitter: 1000-character chunks overlapping by 200."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
    )
    return splitter.split_documents(list(docs))


def chunk_id(chunk: LCDocument) -> str:
    """Content-derived id, so a rerun finds the chunks already stored and embeds nothing."""
    key = f"{chunk.metadata['doc_id']}\n{chunk.metadata['start_index']}\n{chunk.page_content}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class LangChainBaseline:
    """The tutorial recipe over one corpus, in its own collection of the given Chroma client."""

    def __init__(
        self,
        client: ClientAPI,
        embeddings: Embeddings,
        llm: BaseChatModel | None,
        collection: str = COLLECTION,
    ) -> None:
        from langchain_chroma import Chroma

        self.llm = llm
        self.store: Chroma = Chroma(
            collection_name=collection,
            embedding_function=embeddings,
            client=client,
            collection_metadata={"hnsw:space": "cosine"},
        )

    def ingest(self, corpus: Path, max_bytes: int) -> int:
        """Make the collection hold exactly the corpus's chunks; returns how many were added."""
        chunks = split(corpus_documents(corpus, max_bytes))
        wanted = {chunk_id(c): c for c in chunks}
        stored = set(self.store.get(include=[])["ids"])
        stale = sorted(stored - wanted.keys())
        if stale:
            self.store.delete(ids=stale)
        missing = [i for i in wanted if i not in stored]
        for at in range(0, len(missing), ADD_BATCH):
            ids = missing[at : at + ADD_BATCH]
            self.store.add_documents([wanted[i] for i in ids], ids=ids)
        return len(missing)

    def search(self, question: str, k: int) -> list[dict[str, str]]:
        """(doc_id, source) of the top ``k`` chunks by dense similarity, best first."""
        return [_doc(d) for d in self.store.similarity_search(question, k=k)]

    def ask(self, question: str, history: Sequence[str] = ()) -> BaselineAnswer:
        """Retrieve the top 4 chunks and answer from them (or return the best one verbatim).

        The tutorial recipe has no memory: in a conversation it is given the earlier user
        questions before the last one, as one query, so it sees what citeqa sees.
        """
        query = " ".join([*history, question])
        started = time.perf_counter()
        docs = self.store.similarity_search(query, k=TOP_K)
        retrieved = [_doc(d) for d in docs]
        timings = {"retrieve": round(time.perf_counter() - started, 4)}
        if self.llm is None:
            text = docs[0].page_content if docs else ""
            answer = BaselineAnswer(text, not docs, retrieved, timings)
        else:
            mark = time.perf_counter()
            context = "\n\n".join(d.page_content for d in docs)
            message = self.llm.invoke(PROMPT.invoke({"question": query, "context": context}))
            timings["generate"] = round(time.perf_counter() - mark, 4)
            text = str(message.content).strip()
            answer = BaselineAnswer(
                text, says_unknown(text), retrieved, timings, 1, _output_tokens(message)
            )
        timings["total"] = round(time.perf_counter() - started, 4)
        return answer


def _doc(chunk: LCDocument) -> dict[str, str]:
    """The document a retrieved chunk belongs to, as result rows record it."""
    return {
        "doc_id": str(chunk.metadata.get("doc_id", "")),
        "source": str(chunk.metadata["source"]),
    }


def _output_tokens(message: Any) -> int:
    """Completion tokens from a chat model's usage metadata (0 when it reports none)."""
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("output_tokens", 0))
