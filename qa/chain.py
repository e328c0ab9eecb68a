"""The answer chain: condense -> retrieve -> select evidence -> generate -> verify.

The chain, not the model, makes answers trustworthy: the model only sees numbered evidence
sentences; whatever it writes is checked sentence by sentence against that evidence; and
when the evidence does not support an answer the model is not called at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, Field

from qa.citations import Claim, build_citations, completeness, key_terms, verify
from qa.config import Settings
from qa.evidence import Evidence, render, select_evidence, sources_of
from qa.llm.base import LLMBackend
from qa.prompts import load_prompt
from qa.retrieval import HybridSearcher
from qa.types import Answer, Filters, Source, Turn
from vectorstore.embeddings import LocalEmbeddings
from vectorstore.tokens import terms

NOT_FOUND = "I could not find this in the documents."
_REFERRING = re.compile(
    r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those)\b", re.I
)
# Evidence this strong is answered from even if the model declines.
STRONG_SUPPORT = 0.6
# A generated answer must carry this share of the top evidence's key terms, else the
# extractive answer is given: a small model's grounded but partial answer misleads.
MIN_COMPLETENESS = 0.4
# Evidence much weaker than the best only distracts a small model.
PROMPT_RELATIVE_SCORE = 0.5


class ChainInput(BaseModel):
    question: str
    history: list[Turn] = Field(default_factory=list)
    filters: Filters | None = None


class SourcesEvent(BaseModel):
    type: Literal["sources"] = "sources"
    sources: list[Source]
    standalone_question: str | None = None


class TokenEvent(BaseModel):
    type: Literal["token"] = "token"
    text: str


class AnswerEvent(BaseModel):
    type: Literal["answer"] = "answer"
    answer: Answer


StreamEvent = SourcesEvent | TokenEvent | AnswerEvent


def is_follow_up(question: str) -> bool:
    """A question that leans on the conversation: a pronoun, or almost no content words."""
    return bool(_REFERRING.search(question)) or len(terms(question)) <= 1


def previous_question(history: list[Turn]) -> str:
    return next((t.content for t in reversed(history) if t.role == "user"), "")


class AnswerChain(Runnable[ChainInput | dict[str, Any] | str, Answer]):
    """A LangChain ``Runnable``: ``invoke``/``batch`` return ``Answer``s; ``stream`` yields
    the sources, then tokens, then the verified ``Answer``."""

    def __init__(
        self,
        searcher: HybridSearcher,
        backend: LLMBackend,
        settings: Settings,
        llm: BaseChatModel | None = None,
    ) -> None:
        """``llm`` overrides the backend's own model (tests pass a fake or a shared one)."""
        self.searcher = searcher
        self.backend = backend
        self.llm = llm if llm is not None else backend.chat_model(settings)
        self.gate = backend.gate(settings)
        self.settings = settings
        self.mode = backend.name
        self.llm_calls = 0  # every call to the model, for tests and metrics

    # --- Runnable ---------------------------------------------------------------------

    @staticmethod
    def _coerce(value: ChainInput | dict[str, Any] | str) -> ChainInput:
        if isinstance(value, ChainInput):
            return value
        if isinstance(value, str):
            return ChainInput(question=value)
        return ChainInput.model_validate(value)

    def invoke(
        self,
        input: ChainInput | dict[str, Any] | str,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Answer:
        request = self._coerce(input)
        return self.answer(request.question, request.history, request.filters)

    def stream(  # type: ignore[override]
        self,
        input: ChainInput | dict[str, Any] | str,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[StreamEvent]:
        request = self._coerce(input)
        yield from self.run_events(request.question, request.history, request.filters)

    # --- steps ------------------------------------------------------------------------

    def answer(
        self, question: str, history: list[Turn] | None = None, filters: Filters | None = None
    ) -> Answer:
        final = None
        for event in self.run_events(question, history or [], filters, stream_tokens=False):
            if isinstance(event, AnswerEvent):
                final = event.answer
        assert final is not None
        return final

    def condense(self, question: str, history: list[Turn]) -> tuple[str, str, int]:
        """(standalone question, conversational context, LLM calls made) for a question that
        may lean on the conversation."""
        previous = previous_question(history)
        if not previous or not is_follow_up(question):
            return question, "", 0
        if self.backend.rewrites_questions and self.llm is not None:
            # A capable model rewrites the question; tiny local models cannot be trusted to.
            lines = "\n".join(f"{t.role}: {t.content}" for t in history[-6:])
            messages = load_prompt("condense").invoke({"history": lines, "question": question})
            self.llm_calls += 1
            rewritten = str(self.llm.invoke(messages).content).strip()
            if rewritten:
                return rewritten, previous, 1
            return f"{question} {previous}", previous, 1
        return f"{question} {previous}", previous, 0

    def run_events(
        self,
        question: str,
        history: list[Turn],
        filters: Filters | None,
        stream_tokens: bool = True,
    ) -> Iterator[StreamEvent]:
        """Sources, tokens, then the verified answer. With ``stream_tokens`` False the model
        is called without streaming (one request, one token event)."""
        started = time.perf_counter()
        timings: dict[str, float] = {}

        def lap(stage: str, since: float) -> float:
            now = time.perf_counter()
            timings[stage] = round(now - since, 4)
            return now

        mark = started
        # Counted per request: ``self.llm_calls`` is shared by concurrent requests.
        standalone, context, calls = self.condense(question, history)
        mark = lap("condense", mark)
        hits = self.searcher.search(standalone, self.settings.top_k, filters)
        mark = lap("retrieve", mark)
        embeddings = self.searcher.store.embeddings
        embed = (
            embeddings.embed_cached
            if isinstance(embeddings, LocalEmbeddings)
            else embeddings.embed_documents
        )
        evidence = select_evidence(
            question,
            hits,
            self.settings.evidence_sentences,
            self.searcher.store.lexical_index().idf,
            embed,
            context,
        )
        mark = lap("evidence", mark)
        sources = sources_of(hits)
        yield SourcesEvent(
            sources=sources, standalone_question=standalone if standalone != question else None
        )

        answer = Answer(
            question=question,
            standalone_question=standalone if standalone != question else None,
            text=NOT_FOUND,
            sources=sources,
            abstained=True,
            mode=self.mode,
            trace={
                "hits": [
                    {
                        "chunk_id": h.chunk.id,
                        "doc_id": h.chunk.doc_id,
                        "rrf": round(h.score, 5),
                        "dense_rank": h.dense_rank,
                        "lexical_rank": h.lexical_rank,
                        "dense_score": h.dense_score,
                    }
                    for h in hits
                ],
                "evidence": [
                    {
                        "n": e.n,
                        "text": e.text,
                        "score": round(e.score, 3),
                        "lexical": round(e.lexical, 3),
                        "dense": round(e.dense, 3),
                    }
                    for e in evidence
                ],
            },
        )
        decision = self.gate.decide(question, evidence)
        answer.trace["gate"] = {"answer": decision.answer, "reason": decision.reason,
                                **decision.signals}  # fmt: skip
        if decision.answer:
            claims: list[Claim] = []
            if self.llm is not None:
                calls += 1
                generated, tokens = "", 0
                for token, count in self._generate(question, evidence, stream_tokens):
                    if not generated:
                        timings["first_token"] = round(time.perf_counter() - started, 4)
                    generated += token
                    tokens = count
                    yield TokenEvent(text=token)
                mark = lap("generate", mark)
                answer.tokens = tokens
                answer.trace["generated"] = generated
                claims = self._check(question, generated, evidence, answer.trace)
                mark = lap("verify", mark)
                if answer.trace.get("fallback") == "declined":
                    evidence = []
            if evidence and not claims:
                claims = self.extractive(evidence)
            if claims:
                answer.text, answer.citations = build_citations(claims)
                answer.abstained = False
                if self.llm is None:  # nothing was generated: the answer is the stream
                    yield TokenEvent(text=answer.text)
        answer.llm_calls = calls
        timings["total"] = round(time.perf_counter() - started, 4)
        answer.timings = timings
        yield AnswerEvent(answer=answer)

    def _check(
        self, question: str, generated: str, evidence: list[Evidence], trace: dict[str, Any]
    ) -> list[Claim]:
        """The verified claims of a generated answer, or [] with the reason in the trace."""
        if NOT_FOUND.lower().rstrip(".") in generated.lower():
            trace["fallback"] = "declined" if evidence[0].score < STRONG_SUPPORT else "overruled"
            return []
        claims = verify(generated, evidence, self.settings.verify_threshold, question)
        if not claims:
            trace["fallback"] = "unsupported"
            return []
        idf = self.searcher.store.lexical_index().idf
        keys = key_terms(evidence[0].text, question, idf)
        trace["completeness"] = round(completeness(claims, keys), 3)
        if trace["completeness"] < MIN_COMPLETENESS:
            trace["fallback"] = "incomplete"
            return []
        return claims

    def extractive(self, evidence: list[Evidence]) -> list[Claim]:
        """The best evidence sentence, plus a second one nearly as good."""
        best = evidence[0]
        chosen = [best] + [
            ev
            for ev in evidence[1:2]
            if ev.score >= max(self.settings.min_support, 0.85 * best.score)
        ]
        return [Claim(ev.text, [ev], ev.score, []) for ev in chosen]

    def _generate(
        self, question: str, evidence: list[Evidence], stream_tokens: bool
    ) -> Iterator[tuple[str, int]]:
        """(token text, completion tokens so far) from the model, streamed or in one piece."""
        assert self.llm is not None
        floor = PROMPT_RELATIVE_SCORE * evidence[0].score
        shown = [ev for ev in evidence if ev.score >= floor]
        messages = load_prompt("answer").invoke({"evidence": render(shown), "question": question})
        self.llm_calls += 1
        count = 0
        chunks = self.llm.stream(messages) if stream_tokens else iter([self.llm.invoke(messages)])
        for chunk in chunks:
            usage = getattr(chunk, "usage_metadata", None)
            count = (
                int(usage["output_tokens"]) if usage and usage.get("output_tokens") else count + 1
            )
            text = str(chunk.content)
            if text:
                yield text, count
