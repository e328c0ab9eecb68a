"""Word tokens for lexical matching: lower-cased, stop words dropped, lightly stemmed."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t d ll m re ve also said says""".split()
)


# Common irregular verbs, so "sought" matches "seek" and "led" matches "lead".
_IRREGULAR = {
    "sought": "seek", "led": "lead", "won": "win", "gave": "give", "given": "give",
    "took": "take", "taken": "take", "made": "make", "held": "hold", "met": "meet",
    "began": "begin", "begun": "begin", "became": "become", "brought": "bring",
    "bought": "buy", "built": "build", "chose": "choose", "chosen": "choose", "did": "do",
    "done": "do", "drew": "draw", "drawn": "draw", "fell": "fall", "fallen": "fall",
    "fought": "fight", "found": "find", "flew": "fly", "flown": "fly", "got": "get",
    "went": "go", "gone": "go", "grew": "grow", "grown": "grow", "knew": "know",
    "known": "know", "left": "leave", "lost": "lose", "paid": "pay", "ran": "run",
    "rose": "rise", "risen": "rise", "saw": "see", "seen": "see", "sold": "sell",
    "sent": "send", "spoke": "speak", "spoken": "speak", "spent": "spend", "stood": "stand",
    "taught": "teach", "told": "tell", "thought": "think", "wrote": "write",
    "written": "write", "killed": "kill", "died": "die", "born": "bear",
}  # fmt: skip


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper: enough to match offer/offered/offers, not a full Porter."""
    if word in _IRREGULAR:
        return stem(_IRREGULAR[word])
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ational", "ate"),
        ("ions", ""),
        ("ion", ""),
        ("ing", ""),
        ("edly", ""),
        ("ed", ""),
        ("ly", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: len(word) - len(suffix)] + repl
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """All word tokens, lower-cased, possessives removed."""
    out = []
    for match in _WORD.finditer(text.lower()):
        token = match.group(0)
        if token.endswith(("'s", "’s")):
            token = token[:-2]
        out.append(token)
    return out


def terms(text: str) -> list[str]:
    """Content terms: stop words dropped, stemmed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]
