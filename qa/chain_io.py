"""What the answer chain takes and gives: its input, the events it streams, the clock that
times its stages, what retrieval and the gate found for a question, and the trace of why an
answer is what it is."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from qa.evidence import Evidence
from qa.followup import FollowUp
from qa.gate import GateDecision
from qa.timeframe import TimeIntent
from qa.types import Answer, Filters, SearchHit, Source, Turn


class ChainInput(BaseModel):
    question: str
    history: list[Turn] = Field(default_factory=list)
    filters: Filters | None = None
    as_of: date | None = None


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


@dataclass
class Clock:
    """Seconds per stage of one request."""

    started: float = field(default_factory=time.perf_counter)
    mark: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def lap(self, stage: str) -> None:
        """Time since the last lap goes to ``stage`` (added up when a stage repeats)."""
        now = time.perf_counter()
        spent = now - (self.mark or self.started)
        self.timings[stage] = round(self.timings.get(stage, 0.0) + spent, 4)
        self.mark = now

    def since_start(self) -> float:
        return round(time.perf_counter() - self.started, 4)


@dataclass
class Found:
    """What retrieval and the gate produced for one question."""

    standalone: str
    follow_up: FollowUp | None
    hits: list[SearchHit]
    evidence: list[Evidence]
    decision: GateDecision
    calls: int
    intent: TimeIntent | None = None
    as_of: date | None = None
    idf: Callable[[str], float] | None = None  # the lexical index's, as evidence used it
    # The evidence in relevance order, as gates judge it (``evidence`` may be newest first).
    relevant: list[Evidence] | None = None


def trace_of(found: Found) -> dict[str, Any]:
    """Why the answer is what it is: ranks and scores per chunk, the evidence and its
    signals, the gate's decision. A record for people and evals; nothing reads it back."""
    return {
        "hits": [
            {
                "chunk_id": h.chunk.id,
                "doc_id": h.chunk.doc_id,
                "rrf": round(h.score, 5),
                "dense_rank": h.dense_rank,
                "lexical_rank": h.lexical_rank,
                "dense_score": h.dense_score,
            }
            for h in found.hits
        ],
        "evidence": [
            {
                "n": e.n,
                "text": e.text,
                "score": round(e.score, 3),
                "lexical": round(e.lexical, 3),
                "dense": round(e.dense, 3),
            }
            for e in found.evidence
        ],
        "time": {
            "as_of": found.as_of.isoformat() if found.as_of else None,
            **(found.intent.trace() if found.intent else {}),
        },
        "gate": {
            "answer": found.decision.answer,
            "reason": found.decision.reason,
            **{
                k: round(v, 3) if isinstance(v, float) else v
                for k, v in found.decision.signals.items()
            },
        },
    }
