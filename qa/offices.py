"""Offices in news prose: which a text names, and who holds which.

A question asking for an office needs evidence naming it ("Who is Venezuela's oil minister?"
is not answered by a sentence naming Venezuela's president), and a claim may not move an
office to another person ("the US Ambassador to Venezuela, Juan Gonzalez" on the sentence
naming Ambassador James Story). The offices themselves are ``lexicon.OFFICES``.
"""

from __future__ import annotations

import re

from qa.lexicon import OFFICES, PLACES, SAME_OFFICE, names, synonym_stems
from vectorstore.tokens import terms


def offices_in(text: str) -> dict[str, str]:
    """The offices ``text`` names, in any of their forms or the plural, as {office: the
    form ``text`` uses}: "Who chairs the bank?" -> {"chairman": "chair"}."""
    found: dict[str, str] = {}
    for office in OFFICES:
        if re.search(rf"\b{re.escape(office)}s?\b", text, re.I):
            found.setdefault(SAME_OFFICE.get(office, office), office)
    return found


_OFFICE = "(?i:" + "|".join(OFFICES) + ")"
_PROPER = r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*){0,3}"
# "Ambassador James Story", "Vice President, Delcy Rodriguez", "Ambassador to Venezuela, X".
_TITLE_FIRST = re.compile(
    rf"\b({_OFFICE})(?:\s+(?:to|of|for)\s+(?:the\s+)?{_PROPER})?,?\s+({_PROPER})"
)
# "Juan Gonzalez –– the top White House Latin America adviser", "X, Venezuela's minister".
_NAME_FIRST = re.compile(
    rf"({_PROPER})\s*(?:,|–+|—|--)\s+(?:the\s+|a\s+|an\s+)?"
    rf"(?:(?!(?:and|or|with)\b)[\w’'-]+\s+){{0,6}}?({_OFFICE})\b(?!\s+[A-Z])"
)


def titles(text: str) -> dict[str, set[str]]:
    """Names bound to an office in ``text`` (name -> offices): the office just before the
    name or in an apposition just after it."""
    bound: dict[str, set[str]] = {}

    def bind(office: str, name_text: str) -> None:
        office = " ".join(office.lower().split())
        for name in names(name_text, aliases=False):
            bound.setdefault(name, set()).add(SAME_OFFICE.get(office, office))

    for match in _TITLE_FIRST.finditer(text):
        bind(match.group(1), match.group(2))
    for match in _NAME_FIRST.finditer(text):
        bind(match.group(2), match.group(1))
    return bound


# "Who runs PDVSA?", "Who is in charge of Venezuela's oil company?", "Who led the US
# delegation?": a question asking who leads something.
_ASKS_HEAD = re.compile(
    r"^\s*who\s+(?:runs?|ran|heads?|headed|leads?|led|chairs?|chaired|manages?|managed"
    r"|directs?|directed|(?:is|was|are|were)\s+(?:in\s+charge\s+of|(?:the\s+)?(?:head|chief|"
    r"boss|leader|director)\s+(?:of|at)))\s+(?P<what>[^?]+)",
    re.I,
)
# Someone leading, in a sentence: "led by Juan Gonzalez", "President Nicolas Maduro".
_LED_BY = re.compile(r"\b(?:led|headed|run|chaired|directed|managed)\s+by\s+(?:the\s+)?[A-Z]")
_LEADING = frozenset(
    {"president", "prime minister", "minister", "chairman", "chief executive", "governor",
     "mayor", "chancellor", "secretary", "commissioner"}
)  # fmt: skip


def someone_in_office(text: str, offices: frozenset[str] | None = None) -> bool:
    """Whether ``text`` names someone as leading ("led by ...") or by an office (one of
    ``offices``, when given)."""
    if _LED_BY.search(text):
        return True
    held = titles(text).values()
    return any(held) if offices is None else any(o & offices for o in held)


_PLACING = re.compile(
    r"\s(?:with|in|at|for|on|to|from|during|since|after|before|by|of|now|today|currently|"
    r"then|this|last|next|these|those)\b"
)
# Words that leave a question about a country's leader ("Who runs Venezuela's government?").
_THE_COUNTRY = frozenset({"the", "s", "government", "country", "nation", "state"})


def head_missing(question: str, texts: list[str]) -> str | None:
    """For a question asking who leads something, what it asks ("who runs pdvsa") when no
    sentence naming that thing has anyone lead it (someone "led by", or in a leading office).
    The thing is its head noun when it has one ("Venezuela's oil company": a company, and
    "Venezuela's state-run oil company PDVSA" names no head), else its name. None for any
    other question, for a thing neither named nor of a noun, and for a country's leader (its
    president may be named in a sentence that does not name the country)."""
    match = _ASKS_HEAD.match(question)
    if match is None:
        return None
    what = match["what"].strip()
    # The thing is named before any phrase that places it ("the government's talks with
    # Halvorsen now": talks).
    thing = _PLACING.split(what, maxsplit=1)[0]
    nouns = [w for w in re.findall(r"\b[a-z]+\b", thing) if w not in _THE_COUNTRY]
    asked = names(f"the {what}")
    if not asked or (asked <= PLACES and not nouns):
        return None
    head = terms(nouns[-1]) if nouns else []
    heads = {*head, *(s for h in head for s in synonym_stems().get(h, ()))}

    def about(text: str) -> bool:
        return bool(heads & set(terms(text))) if heads else bool(asked & names(text))

    for text in texts:
        if about(text) and someone_in_office(text, _LEADING):
            return None
    return " ".join(match.group(0).split()).rstrip(" ?").lower()
