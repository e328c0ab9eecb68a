"""Who speaks in a news sentence, and whose words a question asks for.

"What did Putin say about the meeting?" is not answered by a sentence that names Putin and
ends ", a source in Washington said": the source speaks, Putin does not. The gate refuses a
question for someone's words when no evidence has them speak, and the verifier cuts a claim
that has someone speak whom the evidence does not ("The source says that Putin said ...").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.lexicon import DEMONYMS, REPORTING_TERMS, canonical_name, name_in, names
from vectorstore.tokens import terms

SPEECH = re.compile(
    r"\b(?:said|says|say|told|tells|stated|announced|added|declined|denied|responded|"
    r"replied|reacted|commented|warned|insisted|claimed|calls|called|described)\b",
    re.I,
)
# Before a speech verb, the clauses back to the sentence's start count as its subject only
# when they are this short together ("The White House, the US State Department and ...
# declined comment"; "Maduro, speaking on state TV after the meeting, said"); after a long
# clause, only the one just before the verb does (", a source in Washington said").
SUBJECT_WORDS = 15
_CLAUSE = re.compile(r"[,;:!?\"“”()]|\s[-–—]+\s")
_SENTENCE = re.compile(r"[;!?\"“”]|\.\s")


def speaker_text(text: str, subject_only: bool) -> str:
    """What comes before each "said", "told", ... in ``text``: who speaks. With
    ``subject_only`` (a claim), the words back to the last comma; else (evidence) the words
    back to the sentence's start when that is a short subject, or back to the last comma."""
    spans = []
    for match in SPEECH.finditer(text):
        before = _SENTENCE.split(text[: match.start()])[-1]
        last = _CLAUSE.split(before)[-1]
        short = len(before.split()) - len(last.split()) <= SUBJECT_WORDS
        spans.append(before if short and not subject_only else last)
    return " ; ".join(spans)


def speaks(name: str, speakers: str) -> bool:
    """Whether ``name`` (or its country, for a people) is among ``speakers``."""
    heard = names(speakers, aliases=False)
    return any(name_in(form, heard, speakers) for form in (name, *DEMONYMS.get(name, ())))


def speaks_for(name: str, speakers: str) -> bool:
    """``speaks``, or a name standing for the same government ("Caracas" for Venezuela's
    ministry): a question may call a government by its capital."""
    return speaks(name, speakers) or name_in(canonical_name(name), names(speakers), speakers)


# "What did Maduro tell reporters?", "How did the White House respond?", "What was the
# Kremlin's reaction?": a question for someone's words.
_ASKS_WORDS = re.compile(
    r"^\s*(?:what|how)\s+(?:did|does|do|has|have|had|will|would)\s+(?P<a>.+?)\s+"
    r"(?-i:say|said|tell|told|announce|state|declare|comment|claim|respond|reply|react)\b"
    # Lower case: "the State Department" is a name. Not "think": a view is stated without
    # a speech verb ("the Ukraine invasion, which Maduro has defended").
    r"|^\s*what\s+(?:is|was|were|are)\s+(?P<b>.+?)['’]s?\s+"
    r"(?:response|reaction|statement|comment|comments|answer|reply)\b",
    re.I,
)


def asked_speaker(question: str) -> str | None:
    """The name whose words ``question`` asks for, when it asks for someone's words and
    names them ("the sources", "he" name no one)."""
    match = _ASKS_WORDS.match(question)
    if match is None:
        return None
    span = (match["a"] or match["b"]).lower()
    # Names read in the whole question: a name opening a span is no sentence's first word.
    found = [n for n in names(question, aliases=False) if n in span]
    return max(found, key=len) if found else None


def speaker_missing(question: str, texts: Sequence[str]) -> str | None:
    """The name whose words the question asks for when no text has them speak."""
    name = asked_speaker(question)
    if name is None:
        return None
    heard = " ; ".join(speaker_text(t, subject_only=False) for t in texts)
    return None if speaks_for(name, heard) else name


# "The sources asked Russia to unfreeze ...": in news the sources speak, and what a claim
# has them do is what they report someone did ("Venezuela has asked Russia ..., two
# separate sources said").
_SOURCES_DO = re.compile(
    r"^\W*(?:the\s+|these\s+|two\s+|three\s+|five\s+|several\s+|some\s+|separate\s+|other\s+)*"
    r"(?:sources?|people\s+familiar\s+with\s+the\s+matter)\s+"
    r"(?:(?:familiar\s+with\s+the\s+matter|in\s+(?-i:[A-Z])[\w-]*|in\s+the\s+document)\s+)?"
    r"(?:(?:have|has|had|also|then|further|only|all|both)\s+)*(?P<verb>[a-z']+)\b",
    re.I,
)
# Verbs of saying beyond the speech verbs above and ``lexicon.REPORTING_TERMS``, as stems;
# a verb with no stem ("is", "did", "not") asserts no act either.
_SAYING = frozenset(
    terms("indicate suggest explain describe state confirm claim believe familiar cite provide")
) | frozenset(terms("may might"))


def sources_act(claim: str) -> bool:
    """Whether ``claim`` opens with the sources doing something other than reporting ("The
    sources asked Russia to unfreeze oil proceeds"): the evidence has them speak, not act."""
    match = _SOURCES_DO.match(claim)
    if match is None or SPEECH.fullmatch(match["verb"]):
        return False
    return bool(set(terms(match["verb"])) - _SAYING - REPORTING_TERMS)
