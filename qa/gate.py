"""The gate: whether the evidence can answer the question, decided before any model call.

Each backend owns its policy (``LLMBackend.policy``). A small model cannot be trusted to
decline, so for extractive and local answers a calibrated gate decides from several signals
(how well the best sentence matches in meaning and in words, whether the two retrievers
agree, the margin over the next sentence, whether the evidence holds the kind of answer the
question wants, whether someone whose words are asked for speaks in it, whether a sentence
naming what the question asks who leads names someone leading it). A capable model is
asked whenever retrieval found anything on topic; its own "I could not find this in the
documents." is the abstention, and verification still guards what it writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from qa.answer_kind import Kind, holds, wanted
from qa.evidence import Evidence, logistic
from qa.followup import FollowUp
from qa.lexicon import DEMONYMS, name_in, names
from qa.offices import head_missing, offices_in
from qa.speech import speaker_missing
from qa.verify import Claim


@dataclass
class GateDecision:
    """``answer`` False means NOT_FOUND without calling the model; ``signals`` say why."""

    answer: bool
    reason: str
    signals: dict[str, Any] = field(default_factory=dict)
    # The calibrated probability that the evidence answers, when the gate computes one.
    confidence: float | None = None


class GatePolicy(Protocol):
    def decide(
        self, question: str, evidence: Sequence[Evidence], follow_up: FollowUp | None
    ) -> GateDecision: ...


@dataclass(frozen=True)
class AnswerPolicy:
    """How a backend answers: its gate, how much evidence its model sees, whether its own
    refusal is final, and whether its answer must carry the top evidence's key facts."""

    gate: GatePolicy
    evidence_shown: int
    trust_refusal: bool
    require_complete: bool
    # When the model's answer is replaced by extractive sentences, they must pass this gate
    # too (None: the answering gate already is the extractive one). A capable model's gate
    # only asks "on topic?", which an extractive answer cannot lean on.
    fallback_gate: GatePolicy | None = None


@dataclass(frozen=True)
class GateWeights:
    """A logistic model of "the evidence answers the question" over the gate's signals,
    fitted on the ClapNQ tuning half and a tuning set of paraphrased news questions
    (``bench/evidence_fit.py``; numbers in docs/evaluation.md)."""

    bias: float = -2.15
    score: float = 0.08
    dense: float = 1.31
    max_dense: float = 1.27
    agree: float = 0.87
    dense_z: float = 1.55
    lexical_z: float = 0.19


def gate_signals(evidence: Sequence[Evidence]) -> dict[str, float]:
    """The signals of the best-scored evidence sentence, as the gate weighs them (a
    follow-up's evidence is reordered to lead with what it newly asks; how strongly the
    documents match is still their best sentence's score)."""
    top = max(evidence, key=lambda ev: ev.score)
    names_ = ("dense", "max_dense", "agree", "dense_z", "lexical_z")
    return {"score": top.score, **{k: float(top.signals.get(k, 0.0)) for k in names_}}


# How many of the best sentences may say who leads what a question asks about.
HEAD_DEPTH = 3
# The most sentences a follow-up's kind check looks at (the extractive answer's pool).
KIND_DEPTH_MAX = 4


def kind_missing(question: str, evidence: Sequence[Evidence], depth: int = 2) -> Kind | None:
    """The kind of answer the question wants when none of the best sentences holds one."""
    kind = wanted(question)
    if kind is Kind.ANY or any(holds(kind, ev.text, question) for ev in evidence[:depth]):
        return None
    return kind


def roles_missing(question: str, evidence: Sequence[Evidence], depth: int = 3) -> list[str]:
    """Offices the question asks about ("Who is Venezuela's oil minister?") that the best
    evidence never names: a person named there holds some other office."""
    held = offices_in(" ".join(ev.text for ev in evidence[:depth]))
    return sorted(word for office, word in offices_in(question).items() if office not in held)


def names_missing(question: str, evidence: Sequence[Evidence], depth: int = 3) -> list[str]:
    """Names the question asks about that the best evidence never mentions."""
    window = " ".join(ev.text for ev in evidence[:depth])
    found = names(window, aliases=False)
    return sorted(
        n
        for n in names(question, aliases=False)
        if not any(name_in(form, found, window) for form in (n, *DEMONYMS.get(n, ())))
    )


# Kinds of answer whose absence from the cited evidence means the answer cannot be one
# ("When will the next round take place?" is not answered by "Saturday's meeting").
STRICT_KINDS = frozenset({Kind.AMOUNT, Kind.COUNT, Kind.FUTURE_DATE})


def answers_kind(question: str, claims: Sequence[Claim]) -> bool:
    """Whether a model's verified claims rest on evidence holding the kind of answer the
    question wants, for the kinds the rules read reliably (an amount, a count, a date still
    to come): a capable model's gate does not check it before the call."""
    kind = wanted(question)
    if kind not in STRICT_KINDS:
        return True
    return any(holds(kind, ev.text, question) for c in claims for ev in c.evidence)


def answers_names(question: str, claims: Sequence[Claim]) -> bool:
    """Whether a model's verified claims, or the sentences they rest on, name something the
    question names (a capital or a people standing for its country): "What happened to
    Evrofinance?" is not answered by a claim about the SWIFT offer, however well the SWIFT
    sentence supports it. One name is enough: "Why is the US interested in Venezuelan oil?"
    is answered by what Washington wants, in a sentence that does not name Venezuela."""
    asked = names(question)
    if not asked:
        return True
    text = " ".join([*(c.text for c in claims), *(ev.text for c in claims for ev in c.evidence)])
    found = names(text)
    return any(
        name_in(form, found, text) for name in asked for form in (name, *DEMONYMS.get(name, ()))
    )


@dataclass
class CalibratedGate:
    """For extractive and local answers: hard rules, then a calibrated probability."""

    threshold: float
    weights: GateWeights = GateWeights()

    def probability(self, signals: dict[str, float]) -> float:
        return logistic(self.weights, signals)

    def decide(
        self, question: str, evidence: Sequence[Evidence], follow_up: FollowUp | None
    ) -> GateDecision:
        if not evidence:
            return GateDecision(False, "nothing retrieved")
        signals: dict[str, Any] = gate_signals(evidence)
        p = self.probability(signals)
        signals |= {"p": round(p, 3), "threshold": self.threshold}

        def verdict(answer: bool, reason: str) -> GateDecision:
            return GateDecision(answer, reason, signals, confidence=round(p, 3))

        unknown = names_missing(question, evidence) + roles_missing(question, evidence)
        if unknown:
            return verdict(False, f"the documents do not mention {', '.join(unknown)}")
        head = head_missing(question, [ev.text for ev in evidence[:HEAD_DEPTH]])
        if head is not None:
            return verdict(False, f"the documents do not say {head}")
        silent = speaker_missing(question, [ev.text for ev in evidence])
        if silent is not None:
            return verdict(False, f"the documents do not have {silent} say anything")
        # A follow-up's evidence is led by the sentences that hold what it newly asks: any
        # of them may hold the kind ("When did they meet?": the third "meeting" sentence
        # says Saturday).
        depth = max(2, min(follow_up.leading(evidence), KIND_DEPTH_MAX)) if follow_up else 2
        missing = kind_missing(question, evidence, depth)
        if missing is not None:
            article = "an" if str(missing)[0] in "aeiou" else "a"
            return verdict(False, f"the question wants {article} {missing}; the evidence has none")
        if follow_up is not None and not follow_up.addressed([ev.text for ev in evidence]):
            return verdict(False, "the documents don't mention what the follow-up asks")
        if p < self.threshold:
            return verdict(False, "weak evidence")
        return verdict(True, "supported")


@dataclass
class OnTopicGate:
    """For a capable model: answer unless nothing retrieved is even on topic."""

    floor: float

    def decide(
        self, question: str, evidence: Sequence[Evidence], follow_up: FollowUp | None
    ) -> GateDecision:
        best = max((ev.signals.get("dense", 0.0) for ev in evidence), default=0.0)
        lexical = max((ev.lexical for ev in evidence), default=0.0)
        signals = {"dense": round(best, 3), "lexical": round(lexical, 3), "floor": self.floor}
        if not evidence or (best < self.floor and lexical < 0.5):
            return GateDecision(False, "nothing on topic", signals)
        return GateDecision(True, "on topic: the model decides", signals)
