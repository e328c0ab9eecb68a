"""The systems under evaluation, each turning one dataset item into one result row.

Both rank the same number of chunks (``depth``) for the retrieval metrics, with a search
apart from answering, and answer from their own configured depth (``answer_depth``), so
retrieval is compared at equal depth and answers as each system really gives them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from qa.evaluation.datasets import EvalItem
from qa.types import Answer, Turn

if TYPE_CHECKING:
    from qa.evaluation.baseline import LangChainBaseline
    from qa.service import Assistant

CITEQA = "citeqa"
BASELINE = "baseline"


class System(Protocol):
    """Something the runner can ask."""

    name: str
    answer_depth: int

    def row(self, item: EvalItem) -> dict[str, Any]:
        """Answer the item (its history first) and return its result row."""
        ...


class CiteqaSystem:
    """citeqa through its service object, in one mode and one collection."""

    name = CITEQA

    def __init__(self, assistant: Assistant, mode: str, collection: str, depth: int) -> None:
        self.assistant, self.mode, self.collection, self.depth = assistant, mode, collection, depth
        self.answer_depth = assistant.settings.top_k

    def row(self, item: EvalItem) -> dict[str, Any]:
        """Ask the earlier turns in order, each with citeqa's own earlier answers as the
        assistant turns, then the scored question; rank ``depth`` chunks for its query."""
        history: list[Turn] = []
        earlier: list[Answer] = []
        for question in item.history:
            previous = self._ask(question, history, item.date)
            earlier.append(previous)
            history += [
                Turn(role="user", content=question),
                Turn.reply(previous),
            ]
        answer = self._ask(item.question, history, item.date)
        query = answer.standalone_question or item.question
        hits = self.assistant.search(query, self.depth, collection=self.collection)
        gate = answer.trace.get("gate") or {}
        return item.model_dump(mode="json") | {
            "system": CITEQA,
            "history_answers": [a.text for a in earlier],
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": [
                c.model_dump(include={"marker", "doc_id", "source", "quote", "support", "date"})
                for c in answer.citations
            ],
            "retrieved": [
                {"doc_id": h.chunk.doc_id, "source": str(h.chunk.metadata.get("source", ""))}
                for h in hits
            ],
            "depth": self.depth,
            "answer_depth": self.answer_depth,
            "timings": answer.timings,
            "llm_calls": sum(a.llm_calls for a in [*earlier, answer]),
            "tokens": sum(a.tokens for a in [*earlier, answer]),
            "support": gate.get("p"),
            "gate": gate.get("reason"),
        }

    def _ask(self, question: str, history: list[Turn], as_of: date | None = None) -> Answer:
        return self.assistant.ask(
            question, history, mode=self.mode, collection=self.collection, as_of=as_of
        )


class BaselineSystem:
    """The plain LangChain recipe (:mod:`qa.evaluation.baseline`)."""

    name = BASELINE

    def __init__(self, recipe: LangChainBaseline, depth: int) -> None:
        from qa.evaluation.baseline import TOP_K

        self.recipe, self.depth, self.answer_depth = recipe, depth, TOP_K

    def row(self, item: EvalItem) -> dict[str, Any]:
        """Answer with the earlier user questions as its only memory; rank ``depth`` chunks
        for the same query."""
        found = self.recipe.ask(item.question, item.history)
        query = " ".join([*item.history, item.question])
        return item.model_dump(mode="json") | {
            "system": BASELINE,
            "answer": found.text,
            "abstained": found.abstained,
            "citations": [],
            "retrieved": self.recipe.search(query, self.depth),
            "depth": self.depth,
            "answer_depth": self.answer_depth,
            "timings": found.timings,
            "llm_calls": found.llm_calls,
            "tokens": found.tokens,
        }
