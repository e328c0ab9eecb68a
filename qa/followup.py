"""Follow-up questions, resolved with the conversation and without a model.

"What did they offer?" after "Who led the US delegation to Caracas?" leans on two things:
the previous question and the sentences the previous answer cited (what "they", "he",
"that", "there" point at). Both join the search and the evidence scoring. A follow-up whose
best evidence is a sentence the previous answer already cited must be anchored in that
sentence by what it newly asks ("his deputy" is not in a sentence that names no deputy).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.answer_kind import Kind, holds, wanted
from qa.evidence import Evidence, renumbered
from qa.leads import POINTING, matched, related_stems
from qa.lexicon import REPORTING_TERMS
from qa.types import Turn
from vectorstore.tokens import terms

_REFERRING = re.compile(
    r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|then|"
    r"such|the same|the other)\b",
    re.I,
)
_LEAD_IN = re.compile(r"^\s*(and|but|so|also|what about|how about|and what about)\b", re.I)
_FACTOID = re.compile(
    r"^\s*(?:and\s+)?(?:who|whom|whose|where|when|which|how\s+(?:many|much|old|long)|"
    r"what\s+(?:is|was|are|were)\s+the\s+names?)\b",
    re.I,
)
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
# A follow-up's new words must be this present in re-cited evidence (and its unsaid words
# in a sentence that leads the evidence).
ANCHOR_SHARE = 0.5
# Of the words that point back (``leads.POINTING``), these ask for something besides what
# was said ("What else?").
_ELSE = frozenset({"els", "other", "anoth"})
_SOME = frozenset({"anyth", "someth"})
_WHY = re.compile(r"^\s*(?:and\s+|but\s+)?(?:why\b|how\s+come\b)", re.I)
# Words that give a reason or a purpose: "to fill the gap", "as ... is fraying under
# sanctions", "as part of US sanctions", "if it seeks a boycott".
_REASON = re.compile(
    r"\b(?:because|since|as|so|to|for|due|owing|after|following|amid|under|if|given|"
    r"thanks|reason|aim|seek|seeks|want|wants|hope|hopes|order)\b",
    re.I,
)


def is_follow_up(question: str) -> bool:
    """A question that leans on the conversation: it refers back ("he", "that"), opens with
    "and"/"what about", or says almost nothing on its own."""
    return (
        bool(_REFERRING.search(question) or _LEAD_IN.search(question)) or len(terms(question)) <= 2
    )


def quotes_of(turn: Turn) -> list[str]:
    """The sentences an assistant turn cited: sent along, or read from its text (the answer
    without markers, and any "Sources:" lines an OpenAI-style client echoes back)."""
    if turn.quotes:
        return list(turn.quotes)
    sources = turn.content.partition("\nSources:")[2]
    quoted = re.findall(r'"([^"\n]+)"', sources)
    return quoted or [said_in(turn)]


def said_in(turn: Turn) -> str:
    """An assistant turn as its reader saw it: without markers or "Sources:" lines."""
    return _MARKERS.sub("", turn.content.partition("\nSources:")[0]).strip()


@dataclass
class FollowUp:
    """A follow-up with what it leans on."""

    question: str
    previous: str
    quotes: list[str]
    # The previous answer as its reader saw it (markers and "Sources:" lines removed).
    said: str = ""

    @property
    def standalone(self) -> str:
        """What to search for: the question with the one it follows."""
        return f"{self.question} {self.previous}".strip()

    @property
    def context(self) -> str:
        """What "they" may point at: the previous question and its cited sentences."""
        return " ".join([self.previous, *self.quotes]).strip()

    def new_terms(self) -> list[str]:
        before = set(terms(self.previous)) | POINTING
        return [t for t in dict.fromkeys(terms(self.question)) if t not in before]

    def addressed(self, texts: list[str]) -> bool:
        """Whether the evidence mentions most of what the follow-up newly asks about, in
        its words or the news synonyms of them ("offer": "As a concession, ...")."""
        held = {t for text in texts for t in terms(text)}
        return _share(self.new_terms(), held, synonyms=True) >= ANCHOR_SHARE

    def rerank(self, evidence: list[Evidence]) -> list[Evidence]:
        """Evidence with the previous answer's sentence moved last when it does not hold
        what is newly asked ("What invasion has he defended?" wants a new sentence), and
        the sentences that hold what the conversation has not said yet moved first ("What
        did they discuss?" after the delegation's sentence wants the one that says what was
        discussed, not the best-scored neighbour of the previous answer)."""
        # Stable sorts: within each group the relevance order stays.
        ordered = sorted(evidence, key=lambda ev: not self.anchored(ev.text))
        unsaid = self.unsaid_terms()
        if unsaid:
            ordered.sort(key=lambda ev: _tier(unsaid, set(terms(ev.text))))
        if wanted(self.question) is not Kind.ANY:
            # "When did the talks happen?": a sentence about the talks that holds a day
            # answers it, however low it scored beside the one already cited.
            ordered.sort(key=lambda ev: not self.fits(ev.text))
        return renumbered(ordered)

    def reach(self, k: int) -> int:
        """How many sentences to select for ``widen`` to keep ``k`` of: twice as many for a
        follow-up asking one kind of fact, else ``k``."""
        return k if wanted(self.question) is Kind.ANY else 2 * k

    def widen(self, ranked: list[Evidence], k: int) -> list[Evidence]:
        """The ``k`` best of the ``ranked`` sentences; for a follow-up asking one kind of
        fact that none of them holds with what it asks about, the best sentence further down
        that does takes the last place ("When did the talks happen?" after two turns about
        the delegation: "Saturday's meeting" ranks below six sentences about the talks)."""
        top = ranked[:k]
        if wanted(self.question) is Kind.ANY or any(self.fits(ev.text) for ev in top):
            return top
        further = next((ev for ev in ranked[k:] if self.fits(ev.text)), None)
        return top if further is None else [*top[:-1], further]

    def fits(self, sentence: str) -> bool:
        """Whether ``sentence`` holds the kind of fact the follow-up asks for (a date for
        "when") and most of what it newly asks about, in its words or their synonyms."""
        kind = wanted(self.question)
        if kind is Kind.ANY or not holds(kind, sentence, self.question):
            return False
        return _share(self.new_terms(), set(terms(sentence)), synonyms=True) >= ANCHOR_SHARE

    def leading(self, evidence: Sequence[Evidence]) -> int:
        """How many sentences lead the reranked evidence by holding what the conversation
        has not said yet (they are alike in that; their order among them is by score)."""
        unsaid = self.unsaid_terms()
        if not unsaid:
            return 0
        count = 0
        for ev in evidence:
            if _tier(unsaid, set(terms(ev.text))) == _NOT_HELD:
                break
            count += 1
        return count

    def unsaid_terms(self) -> list[str]:
        """The follow-up's words that neither the previous question nor the sentences its
        answer cited hold: what it asks beyond the conversation so far."""
        said = set(terms(self.previous)) | {t for quote in self.quotes for t in terms(quote)}
        said |= POINTING
        # A follow-up asking for one fact ("Where did she meet the Americans?") asks
        # nothing new by words the conversation said in others ("held talks", "US");
        # "What did they discuss?" after "held talks" asks for what was discussed.
        related = related_stems() if _FACTOID.search(self.question) else {}
        return [
            t
            for t in dict.fromkeys(terms(self.question))
            if t not in said and not related.get(t, frozenset()) & said
        ]

    def repeats(self, text: str) -> bool:
        """Whether ``text`` says nothing the previous answer did not: it answers nothing new
        ("Who was his deputy?" answered "The delegation was led by Juan Gonzalez", "What does
        that system do?" answered with the sentence already read, its "which facilitates
        financial transactions" dropped)."""
        if not self.said:
            return False
        # Who reported it is no new answer: "The sources said that ..." restates it.
        before = set(terms(self.said)) | REPORTING_TERMS
        return all(t in before for t in terms(text))

    def repeat_answers(self, text: str) -> bool:
        """Whether ``text``, saying only what the previous answer said, may still answer
        the follow-up: it holds the fact asked for ("Where?", "What does that system do?":
        the sentence already cited says), but not "What else?" (something else is asked
        for), nor "Why?" when it gives no reason ("... declined comment.")."""
        if _WHY.search(self.question):
            return bool(_REASON.search(text))
        own = [t for t in terms(self.question) if t not in POINTING | _SOME]
        return bool(own) or not set(terms(self.question)) & _ELSE

    def anchored(self, sentence: str) -> bool:
        """Whether ``sentence`` answers something new: it is not the sentence the previous
        answer rested on, or it holds most of what the follow-up newly asks about (for a
        follow-up asking one fact, in other words too: "Who did they meet?" is anchored in
        "held talks with ..."; "What did they discuss?" is not)."""
        if not self.quotes or not _same(sentence, self.quotes[0]):
            return True
        factoid = bool(_FACTOID.search(self.question))
        return _share(self.new_terms(), set(terms(sentence)), factoid) >= ANCHOR_SHARE


def _share(asked: list[str], text_terms: set[str], synonyms: bool = False) -> float:
    """Share of ``asked`` in ``text_terms``. Plain counts: a follow-up is short, and its
    generic verb ("give") is as much of it as its noun. With ``synonyms``, a word the text
    has only a news synonym of counts for ``SYNONYM_CREDIT``."""
    if not asked:
        return 1.0
    related = related_stems() if synonyms else {}
    return sum(matched(t, text_terms, related) for t in asked) / len(asked)


# Sentences that hold the unsaid words lead, then those holding synonyms of them.
_IN_WORDS, _IN_SYNONYMS, _NOT_HELD = 0, 1, 2


def _tier(unsaid: list[str], text_terms: set[str]) -> int:
    if _share(unsaid, text_terms) >= ANCHOR_SHARE:
        return _IN_WORDS
    if _share(unsaid, text_terms, synonyms=True) >= ANCHOR_SHARE:
        return _IN_SYNONYMS
    return _NOT_HELD


def _same(a: str, b: str) -> bool:
    a, b = " ".join(a.split()), " ".join(b.split())
    return bool(a and b) and (a in b or b in a)


def resolve(question: str, history: list[Turn]) -> FollowUp | None:
    """The follow-up ``question`` makes in ``history``, or None for a standalone question."""
    previous = next((t.content for t in reversed(history) if t.role == "user"), "")
    if not previous or not is_follow_up(question):
        return None
    answer = next((t for t in reversed(history) if t.role == "assistant"), None)
    if answer is None:
        return FollowUp(question, previous, [])
    return FollowUp(question, previous, quotes_of(answer), said_in(answer))
