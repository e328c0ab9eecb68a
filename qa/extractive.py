"""Extractive answers: the evidence sentences themselves, each cited.

The best sentence that holds the kind of answer the question wants leads; a sentence nearly
as good follows when it adds something. A why / what-were question may need two or three
sentences that together answer it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import numpy as np

from qa.answer_kind import Kind, holds, wanted
from qa.evidence import Evidence
from qa.leads import actor_fits, participants_fit
from qa.quantities import numbers
from qa.verify import Claim
from vectorstore.tokens import terms

# Questions whose answer is a reason, a list or an account rather than one fact.
_EXPLANATORY = re.compile(
    r"^\s*(?:why|how\s+(?:did|does|do|is|was|were|are|can|could)|what\s+(?:were|are|have|"
    r"happened|did|does|do)\b|describe|explain|list)",
    re.I,
)
# A further sentence joins the answer when it scores at least this share of the best one:
# MiniLM often ranks the answering sentence second to one that only shares the topic
# (measured on the news tuning set: bench/news_tune, 14/30 at one sentence, 21/30 at
# two or three).
CLOSE = 0.5
POOL = 4
# Two sentences this similar (cosine) are about the same thing.
SAME_FACT = 0.6


def pick(question: str, evidence: Sequence[Evidence]) -> list[Evidence]:
    """The sentences of an extractive answer, best first."""
    pool = list(evidence[:POOL])
    if not pool:
        return []
    kind = wanted(question)
    fitting = [ev for ev in pool if kind is Kind.ANY or holds(kind, ev.text, question)]
    best = (fitting or pool)[0]
    explanatory = bool(_EXPLANATORY.search(question))
    limit, ratio = (3 if explanatory else 2), CLOSE
    # A question after one kind of fact (who, when, how much...) gets a second sentence only
    # when it holds that kind too: "The meeting came as ..." adds nothing to "When did the
    # meeting take place?".
    typed = bool(fitting) and kind is not Kind.ANY and not explanatory
    # A question about what a named actor did, or who took part: when the lead answers it
    # so, so must any sentence that joins it ("What did Venezuela want?" is not answered by
    # what Washington sought, "Who went to Caracas?" not by what Caracas used the talks for).
    fits = actor_fits(question) or participants_fit(question)
    if fits is not None and not fits(best.text):
        fits = None
    chosen = [best]
    said = set(terms(best.text))
    for ev in pool:
        if len(chosen) >= limit:
            break
        new = set(terms(ev.text)) - said
        if ev is best or ev.score < ratio * best.score or len(new) < 3:
            continue
        if (typed and not holds(kind, ev.text, question)) or (fits and not fits(ev.text)):
            continue
        chosen.append(ev)
        said |= new
    return chosen


def conflicting(chosen: list[Evidence], evidence: Sequence[Evidence]) -> list[Evidence]:
    """Evidence from another date about the same thing as a chosen sentence that states
    other numbers: a newer report revising an older one is shown beside it, not hidden."""
    out: list[Evidence] = []
    for ev in evidence[: POOL + 2]:
        if ev in chosen or ev in out or ev.vector is None:
            continue
        for kept in chosen:
            if kept.vector is None or kept.date == ev.date or not (kept.date and ev.date):
                continue
            similar = float(np.dot(kept.vector, ev.vector)) >= SAME_FACT
            if similar and numbers(ev.text) and numbers(ev.text) != numbers(kept.text):
                out.append(ev)
                break
    return out[:1]


def dated(claims: list[Claim]) -> list[Claim]:
    """When the evidence comes from different dates, the newest leads and each sentence
    says when it was reported ("On 24 August 2022: ...")."""
    dates = {c.evidence[0].date for c in claims if c.evidence and c.evidence[0].date}
    if len(dates) < 2:
        return claims
    ordered = sorted(claims, key=lambda c: c.evidence[0].date or "", reverse=True)
    for claim in ordered:
        day = claim.evidence[0].date
        if day:
            claim.text = f"On {format_day(day)}: {claim.text}"
    return ordered


def format_day(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day.strftime('%B')} {day.year}"


def extractive_claims(question: str, evidence: Sequence[Evidence]) -> list[Claim]:
    chosen = pick(question, evidence)
    chosen += conflicting(chosen, evidence)
    return dated([Claim(ev.text, [ev], ev.score) for ev in chosen])
