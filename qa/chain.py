"""The answer chain: condense -> retrieve -> select evidence -> gate -> generate -> verify.

The chain, not the model, makes answers trustworthy: the model only sees numbered evidence
sentences; whatever it writes is checked claim by claim against that evidence; and when the
backend's gate finds no answer in the evidence the model is not called at all. Which gate,
how much evidence, and whether the model's refusal is final belong to the backend's policy.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig

from qa.chain_io import (
    AnswerEvent,
    ChainInput,
    Clock,
    Found,
    SourcesEvent,
    StreamEvent,
    TokenEvent,
    trace_of,
)
from qa.citations import build_citations, completeness, key_terms
from qa.config import Settings
from qa.evidence import Evidence, render, select_evidence, sources_of
from qa.extractive import extractive_claims
from qa.followup import FollowUp, resolve
from qa.gate import answers_kind, answers_names
from qa.leads import lead_answer, lead_with_kind, reach, widen, with_actor
from qa.llm.base import LLMBackend
from qa.prompts import load_prompt
from qa.retrieval import HybridSearcher
from qa.timeframe import TimeIntent, TimeScope, understand
from qa.types import Answer, Filters, Turn
from qa.verify import Claim, Thresholds, Verifier
from vectorstore.embeddings import CachedEmbeddings

NOT_FOUND = "I could not find this in the documents."
# A small model that declines is overruled when the gate is this sure the evidence answers.
OVERRULE = 0.85
# A small model's answer must carry this share of the top evidence's key terms, else the
# extractive answer is given: a grounded but partial answer misleads.
MIN_COMPLETENESS = 0.4
# Evidence much weaker than the best only distracts a small model.
PROMPT_RELATIVE_SCORE = 0.5


@dataclass
class Outcome:
    """How a generated answer settled: its claims (possibly the extractive fallback),
    whether they are the model's own verified words, and why it fell back."""

    claims: list[Claim]
    verified: bool
    fallback: str | None = None


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
        self.policy = backend.policy(settings)
        self.settings = settings
        self.mode = backend.name
        self.verifier = Verifier(self._embed, Thresholds(lexical=settings.verify_threshold))
        self.llm_calls = 0  # every call to the model, for tests and metrics

    def _embed(self, texts: list[str]) -> list[list[float]]:
        embeddings = self.searcher.store.embeddings
        if isinstance(embeddings, CachedEmbeddings):
            return embeddings.embed_cached(texts)
        return embeddings.embed_documents(texts)

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
        return self.answer(request.question, request.history, request.filters, request.as_of)

    def stream(  # type: ignore[override]
        self,
        input: ChainInput | dict[str, Any] | str,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[StreamEvent]:
        request = self._coerce(input)
        yield from self.run_events(
            request.question, request.history, request.filters, as_of=request.as_of
        )

    def answer(
        self,
        question: str,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
        as_of: date | None = None,
    ) -> Answer:
        final = None
        events = self.run_events(question, history or [], filters, False, as_of)
        for event in events:
            if isinstance(event, AnswerEvent):
                final = event.answer
        assert final is not None
        return final

    # --- steps ------------------------------------------------------------------------

    def condense(self, question: str, history: list[Turn]) -> tuple[str, FollowUp | None, int]:
        """(what to search for, the follow-up it makes, LLM calls made). A capable model
        rewrites a follow-up; otherwise the previous question joins it."""
        follow_up = resolve(question, history)
        if follow_up is None:
            return question, None, 0
        if not (self.backend.rewrites_questions and self.llm is not None):
            return follow_up.standalone, follow_up, 0
        lines = "\n".join(f"{t.role}: {t.content}" for t in history[-6:])
        messages = load_prompt("condense").invoke({"history": lines, "question": question})
        self.llm_calls += 1
        rewritten = str(self.llm.invoke(messages).content).strip()
        return rewritten or follow_up.standalone, follow_up, 1

    def scope(self, intent: TimeIntent, as_of: date | None, today: date) -> TimeScope:
        """How the question's time words and the as-of date narrow and weigh the search."""
        return TimeScope(
            window=intent.window,
            until=as_of,
            recency_as_of=today if intent.recency else None,
            half_life_days=self.settings.recency_half_life_days,
            strength=self.settings.recency_strength,
        )

    def find(
        self,
        question: str,
        history: list[Turn],
        filters: Filters | None,
        clock: Clock,
        as_of: date | None = None,
    ) -> Found:
        """Condense, read the time in the question, retrieve, select evidence, and let the
        gate decide. Nothing dated after ``as_of`` (default: today) is evidence.

        A year or month in a question names either when the news was published ("What did
        they offer in March?") or when the thing happened ("What happened to Evrofinance in
        2019?", reported in 2022). The window is tried first; when the articles of that time
        cannot answer, the question is asked again over all dates, its time words kept."""
        standalone, follow_up, calls = self.condense(question, history)
        clock.lap("condense")
        today = as_of or date.today()
        intent = understand(standalone, today)
        found = self.look(question, standalone, follow_up, calls, intent, filters, as_of, clock)
        if intent.window is not None and not found.decision.answer:
            wider = TimeIntent(None, intent.recency, standalone, intent.expressions,
                               intent.unresolved, intent.cue, window_dropped=True)  # fmt: skip
            found = self.look(question, standalone, follow_up, calls, wider, filters, as_of, clock)
        return found

    def look(
        self,
        question: str,
        standalone: str,
        follow_up: FollowUp | None,
        calls: int,
        intent: TimeIntent,
        filters: Filters | None,
        as_of: date | None,
        clock: Clock,
    ) -> Found:
        """One retrieval, evidence selection and gate decision within a time scope."""
        today = as_of or date.today()
        scope = self.scope(intent, as_of, today)
        hits = self.searcher.search(intent.query, self.settings.top_k, filters, scope)
        clock.lap("retrieve")
        # Time words are no search terms, unless the window was dropped for them.
        if calls:
            asked = intent.query
        else:
            asked = question if intent.window_dropped else understand(question, today).query
        idf = self.searcher.store.lexical_index().idf
        shown = self.policy.evidence_shown
        evidence = select_evidence(
            asked,
            hits,
            follow_up.reach(shown) if follow_up else reach(question, shown),
            idf,
            self._embed,
            follow_up.context if follow_up else "",
        )
        if follow_up is not None:
            evidence = follow_up.rerank(follow_up.widen(evidence, shown))
        else:
            evidence = lead_with_kind(question, widen(question, evidence, shown))
        # The gate judges the evidence by relevance; the answer is led by what answers it
        # (``leads.lead_answer``).
        decision = self.policy.gate.decide(question, evidence, follow_up)
        relevant = evidence
        quotes = follow_up.quotes if follow_up else None
        previous = follow_up.previous if follow_up else ""
        evidence = lead_answer(question, evidence, scope, previous, quotes)
        clock.lap("evidence")
        return Found(
            standalone, follow_up, hits, evidence, decision, calls, intent, as_of, idf, relevant
        )

    def run_events(
        self,
        question: str,
        history: list[Turn],
        filters: Filters | None,
        stream_tokens: bool = True,
        as_of: date | None = None,
    ) -> Iterator[StreamEvent]:
        """Sources, tokens, then the verified answer. With ``stream_tokens`` False the model
        is called without streaming (one request, one token event)."""
        clock = Clock()
        found = self.find(question, history, filters, clock, as_of)
        sources = sources_of(found.hits)
        standalone = found.standalone if found.standalone != question else None
        yield SourcesEvent(sources=sources, standalone_question=standalone)
        answer = Answer(
            question=question,
            standalone_question=standalone,
            text=NOT_FOUND,
            sources=sources,
            abstained=True,
            mode=self.mode,
            trace=trace_of(found),
        )
        calls = found.calls
        if found.decision.answer:
            calls += yield from self.respond(question, found, answer, clock, stream_tokens)
        answer.llm_calls = calls
        clock.timings["total"] = clock.since_start()
        answer.timings = clock.timings
        yield AnswerEvent(answer=answer)

    def respond(
        self, question: str, found: Found, answer: Answer, clock: Clock, stream_tokens: bool
    ) -> Generator[StreamEvent, None, int]:
        """Fill ``answer`` from the evidence (and the model, if any); returns LLM calls."""
        if self.llm is None:
            claims = self.extractive(question, found)
            outcome = Outcome(claims, verified=False, fallback=None if claims else "repeated")
        else:
            generated = ""
            for token, count in self.generate(question, found.evidence, stream_tokens):
                if not generated:
                    clock.timings["first_token"] = clock.since_start()
                generated += token
                answer.tokens = count
                yield TokenEvent(text=token)
            clock.lap("generate")
            answer.trace["generated"] = generated
            outcome = self.settle(question, generated, found, answer.trace)
            clock.lap("verify")
        if outcome.fallback:
            answer.trace["fallback"] = outcome.fallback
        if outcome.claims:
            answer.text, answer.citations = build_citations(outcome.claims, outcome.verified)
            answer.abstained = False
            if self.llm is None:  # nothing was generated: the answer is the stream
                yield TokenEvent(text=answer.text)
        return 0 if self.llm is None else 1

    def settle(self, question: str, generated: str, found: Found, trace: dict[str, Any]) -> Outcome:
        """What reaches the user of what the model wrote: verified claims, the extractive
        answer in their place, or the model's own refusal."""
        evidence = found.evidence
        if NOT_FOUND.lower().rstrip(".") in generated.lower():
            sure = (found.decision.confidence or 0.0) >= OVERRULE
            if self.policy.trust_refusal or not sure:
                return Outcome([], verified=False, fallback="declined")
            return self.fall_back(question, found, "overruled", trace)
        claims, cuts = self.verifier.verify(generated, evidence, question)
        trace["cuts"] = [{"text": c.text, "check": c.check, "detail": c.detail} for c in cuts]
        if not claims:
            return self.fall_back(question, found, "unsupported", trace)
        if not answers_kind(question, claims):
            return self.fall_back(question, found, "wrong kind", trace)
        if not answers_names(question, claims):
            return self.fall_back(question, found, "off topic", trace)
        follow_up = found.follow_up
        if follow_up is not None and follow_up.repeats(" ".join(c.text for c in claims)):
            return self.repeated(question, claims, follow_up, found, trace)
        if self.policy.require_complete:
            # Complete with respect to what it cites: the key facts of those sentences.
            idf = found.idf or self.searcher.store.lexical_index().idf
            cited = " ".join(dict.fromkeys(ev.text for c in claims for ev in c.evidence))
            keys = key_terms(cited, question, idf)
            trace["completeness"] = round(completeness(claims, keys), 3)
            if trace["completeness"] < MIN_COMPLETENESS:
                return self.fall_back(question, found, "incomplete", trace)
        return Outcome(claims, verified=True)

    def repeated(
        self,
        question: str,
        claims: list[Claim],
        follow_up: FollowUp,
        found: Found,
        trace: dict[str, Any],
    ) -> Outcome:
        """For a follow-up answered with only what the previous answer said: the sentences
        it cites, whole, when they hold what the follow-up newly asks (the model dropped
        that part); else the evidence answers (the fallback gate) or nothing does."""
        sentences = list({id(ev): ev for c in claims for ev in c.evidence}.values())
        if follow_up.addressed([ev.text for ev in sentences]):
            return Outcome(extractive_claims(question, sentences), False, "repeated")
        return self.fall_back(question, found, "repeated", trace)

    def fall_back(self, question: str, found: Found, why: str, trace: dict[str, Any]) -> Outcome:
        """The extractive answer in place of the model's, when the policy's fallback gate
        (if any) finds the evidence answers the question; else a refusal."""
        gate = self.policy.fallback_gate
        if gate is not None:
            relevant = found.relevant if found.relevant is not None else found.evidence
            decision = gate.decide(question, relevant, found.follow_up)
            trace["fallback_gate"] = {"answer": decision.answer, "reason": decision.reason}
            if not decision.answer:
                return Outcome([], verified=False, fallback=why)
        return Outcome(self.extractive(question, found), False, why)

    def extractive(self, question: str, found: Found) -> list[Claim]:
        """The extractive answer, or none when it would only repeat what the previous
        answer said to a follow-up that asks for something else or a reason it does not
        give ("What else?", "Why?": see ``FollowUp.repeat_answers``)."""
        follow_up = found.follow_up
        # "What did they propose?": what the actor "they" point at did (``leads.with_actor``).
        asked = with_actor(question, follow_up.previous) if follow_up else question
        claims = extractive_claims(asked, found.evidence)
        said = " ".join(c.text for c in claims)
        if follow_up is not None and follow_up.repeats(said) and not follow_up.repeat_answers(said):
            return []
        return claims

    def generate(
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
