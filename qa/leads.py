"""What leads a question's evidence: the sentence that answers it by what it asks, when a
sentence that only shares its topic scores higher.

A date or a number ("When did the meeting happen?"): the sentences holding one and all the
question asks about, before the gate (it looks for the kind in the best sentences). After
the gate, for the answer only (the gate judges the evidence by relevance): the newest
evidence for a question about now; what a named actor did ("What did Venezuela want?"),
what a name is ("What is PDVSA?"), someone's office ("What is her role?"), who took part
("Who went to Caracas for the talks?"). Also the word
matching follow-ups share: a word, or a news synonym of it, or a people's country.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import cache

from qa.answer_kind import Kind, holds, topic, wanted
from qa.evidence import SYNONYM_CREDIT, Evidence, renumbered
from qa.lexicon import (
    ALIASES,
    ASKS_OFFICE,
    canonical_name,
    display,
    first_name,
    names,
    synonym_stems,
)
from qa.offices import someone_in_office, titles
from qa.timeframe import TimeScope
from vectorstore.tokens import terms

# Words that point back like a pronoun (stems, as ``terms`` gives them): "Who else has
# accounts there?" asks nothing new by "else", nor "When did that happen?" by "happen".
POINTING = frozenset({"els", "other", "anoth", "happen", "occur"})


# The kinds of fact a sentence holds rarely enough to tell sentences apart by (nearly every
# news sentence holds a name).
_TELLING = frozenset({Kind.DATE, Kind.FUTURE_DATE, Kind.AMOUNT, Kind.COUNT})


def lead_with_kind(question: str, evidence: list[Evidence]) -> list[Evidence]:
    """A question asking for a date or a number (not a follow-up): the sentences holding
    one and all that the question asks about lead its evidence, in their order ("When did
    the meeting happen?": "Both sides used Saturday's meeting ..." scores below two
    sentences about the meeting that hold no day)."""
    kind = wanted(question)
    if kind not in _TELLING:
        return evidence
    asked = [t for t in dict.fromkeys(terms(topic(question))) if t not in POINTING]
    related = related_stems()

    def fits(sentence: str) -> bool:
        # Every word asked, or a synonym of it: "When was the company founded?" is not
        # answered by a dated sentence about the company that says nothing of founding.
        held = set(terms(sentence))
        whole = all(matched(t, held, related) for t in asked)
        return whole and holds(kind, sentence, question)

    return _leading(evidence, fits)


# "What did Venezuela want?": a question about what a named actor did or said.
_ACTOR_ASKED = re.compile(
    r"^\s*(?i:what|how|why)\s+(?i:did|does|do|has|have|had|will|would|could|is|was|are|were)"
    r"\s+(?i:the\s+)?(?P<actor>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})\s+(?P<rest>[^A-Z?][^?]*)"
    r"\??\s*$"
)


def actor_fits(question: str) -> Callable[[str], bool] | None:
    """For a question about what a named actor did, whether a sentence answers it: its
    clause opens with that actor and it says what the question asks (or a news synonym of
    it). None for any other question."""
    match = _ACTOR_ASKED.match(question)
    if match is None:
        return None
    if re.search(r"['’]s$", match["actor"]):
        return None  # "How did Venezuela's government respond?" is about the government
    actor = canonical_name(match["actor"])
    # What the actor did is asked by the words other than names ("from Caracas" would
    # match every sentence naming Venezuela).
    named = set(terms(" ".join(names(match["rest"], aliases=False))))
    asked = [t for t in dict.fromkeys(terms(match["rest"])) if t not in POINTING | named]
    related = related_stems()

    def fits(sentence: str) -> bool:
        if not asked or first_name(sentence) != actor:
            return False
        return any(matched(t, set(terms(sentence)), related) for t in asked)

    return fits


# "What did they propose?": a follow-up whose subject is "they".
_THEY_ASKED = re.compile(
    r"^(\s*(?:what|how|why)\s+(?:did|do|have|had|will|would|could|were|are)\s+)they\b", re.I
)


# Words before a name that make it someone else than "they" in the answer to a question:
# "Who met the Americans?" is answered by who met them, not by Americans.
_OTHER_SIDE = re.compile(
    r"(?:\b(?:met|meet|meets|meeting|to|with|at|in|into|visit|visited|visiting|against|across)"
    r"|\b(?:across|opposite)\b[\w\s]{0,20}\bfrom)\s+(?:the\s+)?$",
    re.I,
)


def whose(previous: str) -> str | None:
    """Whose side "they" in a follow-up to ``previous`` are on, when it names one side of
    them (canonical): "Who took part in the talks for Washington?" -> "us", "Who sat on the
    Venezuelan side?" -> "venezuela"; "Who went to Caracas for the US?" -> "us" (Caracas
    is where they went). None when it names no side, or several."""
    sides = set()
    lowered = previous.lower()
    for name in names(previous, aliases=False):
        found = re.search(rf"(?<![\w-]){re.escape(name)}", lowered)
        if found is not None and not _OTHER_SIDE.search(previous[: found.start()]):
            sides.add(canonical_name(name))
    return sides.pop() if len(sides) == 1 else None


def with_actor(question: str, previous: str) -> str:
    """A follow-up asking what "they" did, with "they" replaced by the side the previous
    question named (``whose``): "What did they propose to Caracas?" after "Who took part in
    the talks for Washington?" -> "What did US propose to Caracas?". Any other question as
    it is."""
    actor = whose(previous)
    if actor is None or not _THEY_ASKED.search(question):
        return question
    return _THEY_ASKED.sub(lambda m: m.group(1) + display(actor), question, count=1)


def lead_with_actor(question: str, evidence: list[Evidence]) -> list[Evidence]:
    """A question about what a named actor did (a follow-up too, when it names the actor):
    the sentences that answer it (``actor_fits``) lead, in their order; for the answer
    only, the gate has judged the evidence in its order of relevance. "What did Venezuela
    want?" is answered by "Caracas used the talks to press for US sanctions relief", not by
    "In the talks, Washington sought guarantees of ... Venezuela's oil industry", which
    shares more words and is the US's want."""
    fits = actor_fits(question)
    return evidence if fits is None else _leading(evidence, fits)


# "What is PDVSA?", "Who is Juan Gonzalez?": a question asking what a name is.
_WHAT_IS = re.compile(
    r"^\s*(?i:what|who)\s+(?i:is|are|was|were)\s+(?i:the\s+|an?\s+)?"
    r"(?P<name>[A-Z][\w.&'’-]*(?:\s+[A-Z][\w.&'’-]*){0,3})\s*\??\s*$"
)


def lead_with_introduction(question: str, evidence: list[Evidence]) -> list[Evidence]:
    """A question asking what a name is (not a follow-up): the sentence that introduces the
    name leads, the first that mentions it in the document of its best-scored mention. News
    prose says what a thing is where it first names it ("Venezuela's state-run oil company
    PDVSA") and uses the bare name after ("forcing PDVSA to move its accounts", which scores
    higher for "What is PDVSA?" and says nothing of what it is)."""
    match = _WHAT_IS.match(question)
    if match is None:
        return evidence
    name = re.compile(rf"(?<![\w-]){re.escape(match['name'])}(?![\w-])")
    mentions = [ev for ev in evidence if name.search(ev.text)]
    if len(mentions) < 2:
        return evidence
    best = max(mentions, key=lambda ev: ev.score)
    first = min((ev for ev in mentions if ev.doc_id == best.doc_id), key=lambda ev: ev.start)
    return renumbered([first, *(ev for ev in evidence if ev is not first)])


# "What is her role?", "What is Delcy Rodriguez's job?", "What does he do?": a question
# asking for someone's office.
_ASKS_OFFICE = re.compile(
    rf"\b(?:{'|'.join(ASKS_OFFICE)})\b|^\s*what\s+(?:does|did)\s+\S+\s+do\b", re.I
)


def lead_with_office(question: str, evidence: list[Evidence], people: str) -> list[Evidence]:
    """A question asking for someone's office: the sentences that give an office to a
    person named in ``people`` (the question, and for a follow-up the sentences the previous
    answer cited) lead, in their order. "What is her role?" after the delegation's sentence
    was answered first with "... President Vladimir Putin ...", whose office is Putin's."""
    if not _ASKS_OFFICE.search(question):
        return evidence
    asked = names(people, aliases=False)
    if not asked:
        return evidence

    def fits(sentence: str) -> bool:
        return any(n in p or p in n for n in titles(sentence) for p in asked)

    return _leading(evidence, fits)


# "Who went to Caracas?", "Who represented Venezuela at the talks?", "Who was at the
# meeting?", "Who did they meet?": a question asking who took part in something.
_ASKS_WHO_TOOK_PART = re.compile(
    r"^\s*who\s+(?:else\s+)?(?:went|goes|go|travel+ed|travels?|came|comes|visited|visits"
    r"|attended|attends|took\s+part|takes\s+part|participated|represented|represents|joined"
    r"|sat|(?:was|were)\s+(?:at|in|on|there|present|part\s+of))\b"
    # "Who did they meet?", "Who did the delegation hold talks with?"
    r"|^\s*who(?:m)?\s+did\s+.{1,40}?\s+(?:meet|see|visit|talk|hold\s+talks|negotiate)\b",
    re.I,
)
# A sentence telling who took part: "A US delegation led by ... held talks ... with ...".
_TOOK_PART = re.compile(
    r"\b(?:delegations?|held\s+talks|met|meeting\s+with|visited|travel+ed|attended"
    r"|took\s+part|hosted|sat\s+down)\b",
    re.I,
)


def participants_fit(question: str) -> Callable[[str], bool] | None:
    """For a question asking who took part in something, whether a sentence tells who took
    part (a delegation, talks held, a visit) naming someone by an office or as leading; None
    for any other question."""
    if not _ASKS_WHO_TOOK_PART.search(question):
        return None
    return lambda sentence: bool(_TOOK_PART.search(sentence)) and someone_in_office(sentence)


def lead_with_participants(question: str, evidence: list[Evidence]) -> list[Evidence]:
    """A question asking who took part in something: the sentences that tell it
    (``participants_fit``) lead, in their order. "Who went to Caracas for the talks?" was
    answered with "Caracas used the talks to press for US sanctions relief", which names no
    one who went."""
    fits = participants_fit(question)
    return evidence if fits is None else _leading(evidence, fits)


def reach(question: str, k: int) -> int:
    """How many sentences to select for ``widen`` to keep ``k`` of: twice as many for a
    question asking who took part, else ``k``."""
    return 2 * k if participants_fit(question) else k


def widen(question: str, ranked: list[Evidence], k: int) -> list[Evidence]:
    """The ``k`` best of the ``ranked`` sentences; for a question asking who took part that
    none of them tells, the best sentence further down that does takes the last place ("Who
    went to Caracas for the US?": the delegation's sentence ranks below six sentences about
    Caracas and the talks)."""
    top, fits = ranked[:k], participants_fit(question)
    if fits is None or any(fits(ev.text) for ev in top):
        return top
    further = next((ev for ev in ranked[k:] if fits(ev.text)), None)
    return top if further is None else renumbered([*top[:-1], further])


def lead_answer(
    question: str,
    evidence: list[Evidence],
    scope: TimeScope,
    previous: str = "",
    quotes: list[str] | None = None,
) -> list[Evidence]:
    """The evidence an answer is made from, led by what answers the question, after the
    gate has judged it in its order of relevance: the newest for a question about now, then
    the named actor's own sentences (for a follow-up, "they" are the side ``previous``
    named), the sentence introducing a name (not for a follow-up: ``quotes`` is the
    previous answer's sentences), the one giving the office asked for, the one telling who
    took part; each lead keeps the order of the one before among the sentences it leads."""
    if scope.recency_as_of is not None:
        evidence = newest_first(evidence, scope)
    evidence = lead_with_actor(with_actor(question, previous), evidence)
    if quotes is None:
        evidence = lead_with_introduction(question, evidence)
    people = " ".join([question, *(quotes or [])])
    evidence = lead_with_office(question, evidence, people)
    return lead_with_participants(question, evidence)


def _leading(evidence: list[Evidence], fits: Callable[[str], bool]) -> list[Evidence]:
    """The sentences that fit first, then the rest, each group in its order; renumbered."""
    return renumbered(sorted(evidence, key=lambda ev: not fits(ev.text)))


def matched(word: str, text_terms: set[str], related: dict[str, frozenset[str]]) -> float:
    """1 for ``word`` in ``text_terms``, ``SYNONYM_CREDIT`` for a synonym of it there, else 0."""
    if word in text_terms:
        return 1.0
    return SYNONYM_CREDIT if related.get(word, frozenset()) & text_terms else 0.0


@cache
def related_stems() -> dict[str, frozenset[str]]:
    """Stems a question's word may stand for: its news synonyms, and a people's country
    ("the Americans" are the US, "Caracas" is Venezuela)."""
    out = {k: set(v) for k, v in synonym_stems().items()}
    for alias, place in ALIASES.items():
        a, b = terms(alias), terms(place)
        if len(a) == 1 and len(b) == 1 and a != b:  # "united states" is no "state"
            out.setdefault(a[0], set()).add(b[0])
            out.setdefault(b[0], set()).add(a[0])
    return {k: frozenset(v) for k, v in out.items()}


def newest_first(evidence: list[Evidence], scope: TimeScope) -> list[Evidence]:
    """For a question about the current state: evidence weighed by the recency prior, so
    the newest article's sentence leads. New evidence objects: the relevance-ordered list
    stays as the gate judged it. Evidence of one date keeps its order: there is nothing
    newer to lead with, and re-sorting by score would undo what leads it (a present-tense
    "What does Venezuela want from the US?" was answered first with what Washington sought).
    """
    if len({ev.date for ev in evidence}) < 2:
        return evidence
    weighed = [replace(ev, score=ev.score * scope.prior(ev.date)) for ev in evidence]
    return renumbered(sorted(weighed, key=lambda ev: -ev.score))
