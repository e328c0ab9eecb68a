"""Extractive answers: the evidence sentences themselves, each cited.

The best sentence that holds the kind of answer the question wants leads; a sentence nearly
as good follows when it adds something. A why / what-were question may need two or three
sentences that together answer it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.answer_kind import Kind, holds, wanted
from qa.evidence import Evidence
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


def pick(question: str, evidence: Sequence[Evidence]) -> list[Evidence]:
    """The sentences of an extractive answer, best first."""
    pool = list(evidence[:POOL])
    if not pool:
        return []
    kind = wanted(question)
    fitting = [ev for ev in pool if kind is Kind.ANY or holds(kind, ev.text)]
    best = (fitting or pool)[0]
    explanatory = bool(_EXPLANATORY.search(question))
    limit, ratio = (3 if explanatory else 2), CLOSE
    chosen = [best]
    said = set(terms(best.text))
    for ev in pool:
        if len(chosen) >= limit:
            break
        new = set(terms(ev.text)) - said
        if ev is best or ev.score < ratio * best.score or len(new) < 3:
            continue
        chosen.append(ev)
        said |= new
    return chosen


def extractive_claims(question: str, evidence: Sequence[Evidence]) -> list[Claim]:
    return [Claim(ev.text, [ev], ev.score) for ev in pick(question, evidence)]
