"""Word tokens for lexical matching: lower-cased, stop words dropped, Snowball-stemmed.

Retrieval (the lexical index, evidence scoring) and citation verification share these
functions, so a question, an index entry and an answer sentence always reduce alike.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

# The Snowball project's English stop list (snowballstem.org, algorithms/english/stop.txt),
# the list its stemmer is designed with, plus contraction fragments left by splitting on
# apostrophes and the reporting verbs of news copy ("said" is in nearly every article).
STOPWORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing would should could ought i'm you're he's she's it's we're they're i've
    you've we've they've i'd you'd he'd she'd we'd they'd i'll you'll he'll she'll we'll
    they'll isn't aren't wasn't weren't hasn't haven't hadn't doesn't don't didn't won't
    wouldn't shan't shouldn't can't cannot couldn't mustn't let's that's who's what's here's
    there's when's where's why's how's a an the and but if or because as until while of at
    by for with about against between into through during before after above below to from
    up down in out on off over under again further then once here there when where why how
    all any both each few more most other some such no nor not only own same so than too
    very s t d ll m re ve can will just now also said says""".split()
)

# Words that flip a claim's meaning. They are stop words for retrieval (they match
# everything), but a citation verifier must not ignore them: "did not agree" is not "agreed".
NEGATIONS = frozenset(
    """no nor not never none nothing neither nobody nowhere cannot isn't aren't wasn't
    weren't hasn't haven't hadn't doesn't don't didn't won't wouldn't shan't shouldn't
    can't couldn't mustn't""".split()
)

# Irregular verbs Snowball leaves apart, so "sought" matches "seek" and "led" matches "lead".
_IRREGULAR = {
    "sought": "seek", "led": "lead", "won": "win", "gave": "give", "given": "give",
    "took": "take", "taken": "take", "made": "make", "held": "hold", "met": "meet",
    "began": "begin", "begun": "begin", "became": "become", "brought": "bring",
    "bought": "buy", "built": "build", "chose": "choose", "chosen": "choose",
    "done": "do", "drew": "draw", "drawn": "draw", "fell": "fall", "fallen": "fall",
    "fought": "fight", "found": "find", "flew": "fly", "flown": "fly", "got": "get",
    "went": "go", "gone": "go", "grew": "grow", "grown": "grow", "knew": "know",
    "known": "know", "left": "leave", "lost": "lose", "paid": "pay", "ran": "run",
    "rose": "rise", "risen": "rise", "saw": "see", "seen": "see", "sold": "sell",
    "sent": "send", "spoke": "speak", "spoken": "speak", "spent": "spend", "stood": "stand",
    "taught": "teach", "told": "tell", "thought": "think", "wrote": "write",
    "written": "write",
}  # fmt: skip

# A PyStemmer object is not safe to share between threads; stems are cached anyway.
_stemmer = Stemmer.Stemmer("english")
_stem_lock = threading.Lock()


@lru_cache(maxsize=131072)
def stem(word: str) -> str:
    """The English Snowball stem of a lower-cased word (irregular verbs first mapped)."""
    word = _IRREGULAR.get(word, word)
    with _stem_lock:
        return str(_stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """All word tokens, lower-cased, curly apostrophes made straight, possessives removed."""
    out = []
    for match in _WORD.finditer(text.lower()):
        token = match.group(0).replace("’", "'")
        if token.endswith("'s"):
            token = token[:-2]
        out.append(token)
    return out


def terms(text: str) -> list[str]:
    """Content terms: stop words dropped, stemmed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]
