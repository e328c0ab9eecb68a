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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from qa.answer_kind import Kind, holds, wanted
from qa.evidence import Evidence, logistic
from qa.followup import FollowUp
from qa.leads import POINTING, matched, related_stems
from qa.lexicon import ANTONYMS, DEMONYMS, canonical_name, name_in, names
from qa.offices import head_missing, offices_in
from qa.speech import speaker_missing
from qa.verify import Claim
from vectorstore.tokens import terms


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


# How many of the best sentences may say who leads what a question asks about, or what a
# yes-or-no question asks.
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


# "Did Maduro agree to hold elections?": a yes-or-no question about what a named actor did.
_YES_NO_ACTOR = re.compile(
    r"^\s*(?i:did|does|do|is|was|are|were|has|have|had|will|would|can|could)\s+(?i:the\s+)?"
    r"(?P<actor>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})\s+(?P<rest>[^?]+?)\s*\??\s*$"
)
# A yes-or-no question is about a sentence that names its actor and holds at least this
# share of what it asks (a word, a news synonym for part, or its antonym: "Is the SWIFT offer
# permanent?" is answered "temporarily").
YES_NO_SHARE = 0.5


def _antonym_stems() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, b in ANTONYMS:
        (sa,), (sb,) = terms(a) or [a], terms(b) or [b]
        out.setdefault(sa, set()).add(sb)
        out.setdefault(sb, set()).add(sa)
    return out


def _prefixed(stem: str, held: set[str]) -> bool:
    """The stemmer's forms of one word that differ at the end ("boycot" for "boycotting",
    "boycott"): one is the other's start, of five letters or more."""
    return any(
        min(len(stem), len(h)) >= 5 and (h.startswith(stem) or stem.startswith(h)) for h in held
    )


def yes_no_unsaid(question: str, texts: Sequence[str]) -> str | None:
    """For a yes-or-no question about what a named actor did, what it asks ("whether maduro
    agree to hold elections") when no sentence naming the actor holds ``YES_NO_SHARE`` of
    its words: "Will Maduro visit Washington?" is not answered by sentences naming Maduro
    that say nothing of a visit. None for any other question."""
    match = _YES_NO_ACTOR.match(question)
    if match is None or re.search(r"['’]s$", match["actor"]):
        return None
    actor = canonical_name(match["actor"])
    named = set(terms(" ".join(names(match["rest"], aliases=False))))
    asked = [t for t in dict.fromkeys(terms(match["rest"])) if t not in POINTING | named]
    if not asked:
        return None
    related, opposite = related_stems(), _antonym_stems()
    for text in texts:
        held = set(terms(text))
        if not name_in(actor, names(text), text):
            continue
        share = sum(
            1.0
            if opposite.get(t, set()) & held or _prefixed(t, held)
            else matched(t, held, related)
            for t in asked
        )
        if share >= YES_NO_SHARE * len(asked):
            return None
    return f"whether {actor} {match['rest'].lower()}"


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
        best = [ev.text for ev in evidence[:HEAD_DEPTH]]
        unsaid = head_missing(question, best) or yes_no_unsaid(question, best)
        if unsaid is not None:
            return verdict(False, f"the documents do not say {unsaid}")
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
