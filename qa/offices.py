"""Offices in news prose: which a text names, and who holds which.

A question asking for an office needs evidence naming it ("Who is Venezuela's oil minister?"
is not answered by a sentence naming Venezuela's president), and a claim may not move an
office to another person ("the US Ambassador to Venezuela, Juan Gonzalez" on the sentence
naming Ambassador James Story). The offices themselves are ``lexicon.OFFICES``.
"""

from __future__ import annotations

import re

from qa.lexicon import OFFICES, SAME_OFFICE, names


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
