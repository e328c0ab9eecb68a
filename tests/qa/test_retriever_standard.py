"""LangChain's own standard suite for retrievers, run against ``HybridRetriever`` over the
sample article (real Chroma, the real embedding model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from qa.config import Settings
from qa.retrieval import HybridRetriever, HybridSearcher
from qa.service import Assistant
from tests.conftest import SAMPLE

QUESTION = "What concessions did the US offer?"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embeddings: Any) -> HybridSearcher:
    """The sample article in small chunks, so a search has more than three to return."""
    data = tmp_path_factory.mktemp("standard") / "data"
    settings = Settings(data_dir=data, mode="extractive", chunk_size=400, chunk_overlap=0)
    assistant = Assistant(settings, embeddings)
    assistant.ingest([SAMPLE])
    assert len(assistant.store().documents()) == 1
    return assistant.searcher()


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    _searcher: HybridSearcher

    @pytest.fixture(autouse=True)
    def _corpus(self, searcher: HybridSearcher) -> None:
        # The suite builds retrievers from class properties, outside any fixture.
        type(self)._searcher = searcher

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"searcher": self._searcher}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def test_k_per_call_does_not_change_the_retriever(searcher: HybridSearcher) -> None:
    retriever = HybridRetriever(searcher=searcher, k=4)
    one = retriever.invoke(QUESTION, k=1)
    assert len(one) == 1 and len(retriever.invoke(QUESTION)) == 4
    assert (
        isinstance(one[0], Document) and "SWIFT" in retriever.invoke("SWIFT", k=1)[0].page_content
    )


async def test_ainvoke_honours_k(searcher: HybridSearcher) -> None:
    retriever = HybridRetriever(searcher=searcher)
    assert len(await retriever.ainvoke(QUESTION, k=2)) == 2
    assert (
        Path(str((await retriever.ainvoke(QUESTION, k=1))[0].metadata["source"])).name
        == SAMPLE.name
    )
