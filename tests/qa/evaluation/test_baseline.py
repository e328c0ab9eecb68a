"""The LangChain baseline: its corpus, its own collection, its prompt and its abstention rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from pydantic import Field

from qa.evaluation.baseline import (
    COLLECTION,
    TOP_K,
    LangChainBaseline,
    corpus_documents,
    says_unknown,
    split,
)
from tests.conftest import SHARED
from vectorstore.client import make_client
from vectorstore.embeddings import LocalEmbeddings

ARTICLE = next((SHARED / "sample").glob("*.txt"))
MAX_BYTES = 25_000_000


class RecordingChat(FakeListChatModel):
    """A fake chat model that keeps the messages it was sent."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _call(self, messages: list[BaseMessage], *args: object, **kwargs: object) -> str:
        self.seen.append(messages)
        return super()._call(messages, *args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "I don't know.",
        "I don’t know the answer.",
        "I do not know who won.",
        "I cannot answer that from the context.",
        "I could not find this in the documents.",
        "There is no information about the World Cup.",
    ],
)
def test_says_unknown(answer: str) -> None:
    assert says_unknown(answer)


@pytest.mark.parametrize(
    "answer", ["Juan Gonzalez led the delegation.", "They know the answer: SWIFT access."]
)
def test_an_answer_is_not_unknown(answer: str) -> None:
    assert not says_unknown(answer)


def test_corpus_is_loaded_like_citeqa_and_split_like_the_tutorial(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    (docs,) = corpus_documents(corpus, MAX_BYTES)
    assert docs.metadata["doc_id"].startswith(ARTICLE.stem)
    assert not docs.page_content.startswith("date "), "the date header is metadata"
    chunks = split([docs])
    assert len(chunks) > 1 and all(len(c.page_content) <= 1000 for c in chunks)
    assert all(c.metadata["doc_id"] == docs.metadata["doc_id"] for c in chunks)


def test_ingest_is_incremental_and_answers_with_the_prompt(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    client = make_client(tmp_path / "chroma")
    chat = RecordingChat(responses=["Juan Gonzalez.", "I don't know."])
    recipe = LangChainBaseline(client, embeddings, chat)
    added = recipe.ingest(corpus, MAX_BYTES)
    assert added > 1
    assert recipe.ingest(corpus, MAX_BYTES) == 0, "a rerun embeds nothing"
    assert client.get_collection(COLLECTION).metadata["hnsw:space"] == "cosine"

    answer = recipe.ask("Who led the US delegation to Caracas?")
    assert answer.text == "Juan Gonzalez." and not answer.abstained
    assert answer.llm_calls == 1 and len(answer.retrieved) == min(TOP_K, added)
    assert {"retrieve", "generate", "total"} <= answer.timings.keys()
    (prompt,) = chat.seen[0]
    text = str(prompt.content)
    assert text.startswith("Use the following pieces of retrieved context to answer")
    assert "Question: Who led the US delegation to Caracas?\nContext: " in text
    assert text.endswith("\nAnswer:") and "Juan Gonzalez" in text

    assert recipe.ask("Who won the 2022 FIFA World Cup?").abstained


def test_extractive_baseline_returns_the_best_chunk(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    recipe = LangChainBaseline(make_client(tmp_path / "chroma"), embeddings, None)
    recipe.ingest(corpus, MAX_BYTES)
    answer = recipe.ask("Which Russian bank holds PDVSA accounts?")
    assert "Promsvyazbank" in answer.text and answer.text in ARTICLE.read_text()
    assert answer.llm_calls == 0 and not answer.abstained
