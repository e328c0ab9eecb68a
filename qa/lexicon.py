"""Facts a paraphrase may not change, found by rules: proper names, negation, hedges,
strengtheners and antonym pairs (numbers and dates: ``qa.quantities``); the news synonyms
and the other names of places.

Rules, not a model: spaCy's English models are not published on PyPI (only unofficial
mirrors), so no well-kept entity recogniser installs offline here. These rules are tuned to
be precise on news prose; what they miss, the embedding similarity still judges.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qa.quantities import MONTHS, TOKEN, WEEKDAYS
from vectorstore.tokens import stem

NEGATIONS = frozenset(
    """not no never nor neither none nobody nothing nowhere without cannot n't refused refuse
    refuses refusing denied deny denies denying failed fail fails failing declined decline
    declines declining rejected reject rejects rejecting""".split()
)
# Words that soften a statement; a claim may not drop them from what it rests on.
HEDGES = frozenset(
    """may might could would possibly possible possibility potentially consider considered
    considering willing temporarily temporary reportedly allegedly apparently appeared appears
    appear seemed seems seem likely unlikely probably perhaps expected plan plans planned
    proposed proposal propose tentative tentatively suggest suggested suggests if unless
    whether looked looks""".split()
)
# Words that make a statement stronger than a hedged source allows.
STRENGTHENERS = frozenset(
    """all every entire entirely fully completely totally permanently permanent always
    immediately definitely certainly guaranteed guarantee unconditionally""".split()
)
_PHRASE_HEDGES = ("for a time", "in case", "looked like", "look like", "looks like")
# Hedges that only set a condition: "X if Y" does not restate "X could happen".
CONDITIONALS = frozenset({"if", "unless", "whether"})
DURATIONS = frozenset({"temporarily", "temporary"})
_PHRASE_DURATIONS = ("for a time",)
_PHRASE_CONDITIONALS = ("in case",)
_PHRASE_STRENGTHENERS = ("at once", "once and for all", "for good")

# A claim that states one side of a pair where its evidence states the other contradicts it.
ANTONYMS = [
    ("freeze", "unfreeze"), ("rise", "fall"), ("increase", "decrease"), ("raise", "cut"),
    ("win", "lose"), ("won", "lost"), ("gain", "loss"), ("open", "close"), ("approve", "reject"),
    ("accept", "reject"), ("allow", "ban"), ("allow", "forbid"), ("lift", "impose"),
    ("ease", "tighten"), ("boost", "blow"), ("boost", "hurt"), ("success", "failure"),
    ("agree", "disagree"), ("support", "oppose"), ("strengthen", "weaken"), ("expand", "shrink"),
    ("hire", "fire"), ("buy", "sell"), ("import", "export"), ("enter", "leave"),
    ("start", "stop"), ("begin", "end"), ("higher", "lower"), ("more", "less"),
    ("above", "below"), ("before", "after"), ("maximum", "minimum"), ("majority", "minority"),
    ("profit", "loss"), ("surplus", "deficit"), ("acquit", "convict"), ("arrive", "depart"),
    ("include", "exclude"), ("add", "remove"), ("appoint", "dismiss"), ("elect", "defeat"),
    ("progress", "setback"), ("sign", "reject"), ("confirm", "deny"),
]  # fmt: skip
# Who reported it, in a news sentence's own words: a claim made of these alone (and the
# question's words) asserts nothing; a follow-up's answer is not new by them.
REPORTING_TERMS = frozenset(
    stem(w)
    for w in "source sources said says say told according reported mentioned mention added "
    "noted".split()
)
# Words news prose uses for the same act or thing: a question in a reader's words ("What
# was Washington offering?") meets the article's ("As a concession, ..."). A match through
# this list counts for part of a word match (``evidence.SYNONYM_CREDIT``). Written for
# news predicates after reading the sample paraphrases, so the sample's numbers with it are
# optimistic; the news tuning set (written before it) neither gained nor lost.
SYNONYM_GROUPS = [
    "offer propose proposal concession give grant allow extend",
    "demand seek ask call press require insist want request hope",
    "lead head chair run direct command",
    "meet talk negotiate negotiation discuss meeting session round",
    "say state tell announce report comment statement",
    "agree deal agreement accord pact treaty settlement",
    "success progress breakthrough achievement succeed",
    "fail failure setback collapse stall",
    "team delegation group panel side",
    "reject refuse decline dismiss deny",
    "increase raise rise boost hike jump grow",
    "decrease cut reduce lower fall drop shrink slash",
    "reason cause motive",
    "money fund funds proceeds revenue cash income",
    "company firm operator business",
    "government administration authorities ministry",
    "leader president head chief minister boss",
    "interest interested want seek keen aim hope",
    "respond reply react comment reaction answer",
    "mean imply signify effect impact consequence",
    "job employ employment worker staff",
    "end expire conclude finish",
    "begin start launch open",
    "replace succeed swap",
    "build construct establish",
    "investigate audit review check probe examine",
    "blacklist sanction ban penalty",
    "happen occur",
    "accuse allege charge",
    "arrest detain",
    "military defence defense army",
    "win victory beat",
    "lose defeat loss",
]


@lru_cache(maxsize=1)
def synonym_stems() -> dict[str, frozenset[str]]:
    """Each stem of ``SYNONYM_GROUPS`` -> the stems it may stand for; a word asking for an
    office (``ASKS_OFFICE``) -> the offices' stems, one way only (a question asking for an
    ambassador is not answered by a president)."""
    out: dict[str, set[str]] = {}
    for group in SYNONYM_GROUPS:
        stems = {stem(w) for w in group.split()}
        for s in stems:
            out.setdefault(s, set()).update(stems - {s})
    offices = {stem(office.split()[-1]) for office in OFFICES}
    for word in ASKS_OFFICE:
        out.setdefault(stem(word), set()).update(offices)
    return {k: frozenset(v) for k, v in out.items()}


# Words that ask for someone's office: "What is her role?" is answered by "his Vice
# President, Delcy Rodriguez".
ASKS_OFFICE = ("role", "job", "position", "office")


# Demonyms and aliases that name the same thing in news prose.
ALIASES = {
    "american": "us", "america": "us", "u.s": "us", "usa": "us", "washington": "us",
    "united states": "us", "u.s.": "us",
    "russian": "russia", "moscow": "russia", "kremlin": "russia", "venezuelan": "venezuela",
    "caracas": "venezuela", "ukrainian": "ukraine", "kyiv": "ukraine", "kiev": "ukraine",
    "chinese": "china", "beijing": "china", "british": "britain", "uk": "britain",
    "london": "britain", "french": "france", "paris": "france", "german": "germany",
    "berlin": "germany", "european": "eu", "brussels": "eu", "iranian": "iran",
    "tehran": "iran", "israeli": "israel", "japanese": "japan", "tokyo": "japan",
}  # fmt: skip

# A demonym names its country: "the American team" is about the US.
DEMONYMS = {
    "american": ("america", "us", "u.s.", "united states"), "russian": ("russia",),
    "venezuelan": ("venezuela",), "ukrainian": ("ukraine",), "chinese": ("china",),
    "british": ("britain", "uk", "united kingdom"), "french": ("france",),
    "german": ("germany",), "iranian": ("iran",), "israeli": ("israel",),
    "japanese": ("japan",), "european": ("europe", "eu"), "indian": ("india",),
    "mexican": ("mexico",), "brazilian": ("brazil",), "canadian": ("canada",),
}  # fmt: skip
# A people in the plural is its country too ("the Americans", "the Venezuelans").
ALIASES |= {f"{key}s": ALIASES[key] for key in DEMONYMS if key.endswith("an") and key in ALIASES}
DEMONYMS |= {f"{key}s": (key, *forms) for key, forms in DEMONYMS.items() if key.endswith("an")}
# The US by any of its names is the US by the others.
_US_FORMS = ("us", "u.s.", "united states", "america", "washington")
DEMONYMS |= {
    key: tuple(f for f in _US_FORMS if f.rstrip(".") != key)
    for key in ("us", "u.s", "united states", "washington")
}

# How a canonical place reads in a sentence ("us" -> "US").
_DISPLAY = {"us": "US", "eu": "EU"}
_ALIAS_WORDS = re.compile(
    r"(?<![\w.])("
    + "|".join(re.escape(a) for a in sorted(ALIASES, key=len, reverse=True))
    + r")(?![\w])",
    re.I,
)
_CAPITALISED_BEFORE = re.compile(r"[A-Z][\w.'’-]*\s+$")
_CAPITALISED_AFTER = re.compile(r"^\s+[A-Z]")


def plain_names(text: str) -> str:
    """``text`` with each capitalised place alias or demonym in the plain name news prose
    uses for it: "What was Washington offering Caracas?" -> "What was US offering
    Venezuela?". A sentence embedding model does not know that the capital stands for the
    government. A word inside a longer name ("George Washington", "Washington Post") is
    left alone."""
    return _plain(text)[0]


def aliases_in(text: str) -> set[str]:
    """The alias words (lower-cased) that ``plain_names`` replaces in ``text``."""
    return _plain(text)[1]


def _plain(text: str) -> tuple[str, set[str]]:
    replaced: set[str] = set()

    def plain(match: re.Match[str]) -> str:
        word = match.group(0)
        before, after = text[: match.start()], text[match.end() :]
        inside_name = _CAPITALISED_BEFORE.search(before) and not re.search(r"[.?!]\s*$", before)
        if not word[0].isupper() or inside_name or _CAPITALISED_AFTER.match(after):
            return word
        replaced.add(word.lower())
        return display(ALIASES[word.lower()])

    return _ALIAS_WORDS.sub(plain, text), replaced


def display(canonical: str) -> str:
    """How a canonical name reads in a sentence: "us" -> "US", "juan gonzalez" -> "Juan
    Gonzalez"."""
    return _DISPLAY.get(canonical, canonical.title())


def with_plain_names(text: str) -> str:
    """``text`` and, after it, the plain names of its place aliases ("Who headed the
    American team? US"): a word search finds the article that says "US" too."""
    plain = plain_names(text)
    if plain == text:
        return text
    said = set(text.split())
    return " ".join([text, *(w for w in plain.split() if w not in said)])


_NAME = re.compile(
    r"(?<![\w’'])([A-Z][\w’'.-]*(?:\s+(?:of|de|del|la|van|von|al|bin)?\s*[A-Z][\w’'.-]*)*)"
)
# Capitalised words that are not names on their own.
_NOT_NAMES = (
    frozenset(
        """the a an in on at as and but or if when what who whom whose where why how which this
    that these those it its his her their our we they he she i you there here both some many
    all any each every no not mr mrs ms dr however meanwhile also yes yet still so then
    sources source officials official is are was were be been am do does did has have had
    can could will would should shall may might must""".split()
    )
    | frozenset(MONTHS)
    | WEEKDAYS
)


def names(text: str, aliases: bool = True) -> set[str]:
    """Proper names: runs of capitalised words, not counting a sentence's first word alone
    or capitalised function words. Lower-cased; with ``aliases``, resolved ("Moscow" =
    "russia"), which verification allows and the gate does not (the Kremlin is not all of
    Russia when the question asks what the Kremlin said)."""
    found = set()
    for match in _NAME.finditer(text):
        words = [w.strip(".,;:") for w in match.group(1).split()]
        words = [w for w in words if w]
        start = match.start(1)
        at_sentence_start = start == 0 or re.search(r"[.!?:;\"“]\s*$", text[:start]) is not None
        while words and words[0].lower().strip("’'") in _NOT_NAMES:
            words = words[1:]
            at_sentence_start = False
        if not words or (at_sentence_start and len(words) == 1 and not _name_like(words[0])):
            continue
        # A possessive ends a name: "Venezuela's GDP" names Venezuela and GDP, and "James
        # Story's position" names James Story.
        for name in _possessive_parts(words):
            plain = re.sub(r"[’']s$", "", name.lower().strip(".,;:")).strip("’'")
            found.add(canonical_name(name) if aliases else plain)
    return found


def _possessive_parts(words: list[str]) -> list[str]:
    parts, current = [], []  # type: tuple[list[str], list[str]]
    for word in words:
        current.append(word)
        if re.search(r"[’']s$", word):
            parts.append(" ".join(current))
            current = []
    return [*parts, " ".join(current)] if current else parts


# The places the lexicon knows, canonical: "venezuela", "us", "canada".
PLACES = frozenset(ALIASES.values()) | frozenset(
    ALIASES.get(form, form) for forms in DEMONYMS.values() for form in forms
)
_CLAUSE_START = re.compile(r"\W*(?:(?:a|an|the)\s+)?", re.I)


def first_name(text: str) -> str | None:
    """Who or what a news sentence's clause is about, when a proper name opens it
    (canonical, as ``names`` gives it): "In the talks, Washington sought ..." -> "us";
    "The meeting came as Venezuela's ..." -> None."""
    for match in _NAME.finditer(text):
        found = names(match.group(1))
        if not found and canonical_name(match.group(1)) in PLACES:
            found = {canonical_name(match.group(1))}  # "Venezuela has asked ..."
        if found:
            clause = text[: match.start(1)].split(",")[-1]
            return found.pop() if _CLAUSE_START.fullmatch(clause) else None
    return None


def _name_like(word: str) -> bool:
    """A sentence's first word that is a name all the same: an acronym or a known place."""
    return sum(c.isupper() for c in word) > 1 or canonical_name(word) != word.lower()


@lru_cache(maxsize=4096)
def canonical_name(name: str) -> str:
    key = re.sub(r"[’']s$", "", name.lower().strip(".,;:"))
    return ALIASES.get(key, key)


def name_in(name: str, text_names: set[str], text: str) -> bool:
    """Whether ``name`` (canonical) is stated in a text: as a whole name or, for several
    words, by its last word ("Gonzalez" for "Juan Gonzalez")."""
    if name in text_names:
        return True
    lowered = text.lower()
    if re.search(rf"\b{re.escape(name)}\b", lowered):
        return True
    return any(name in other or other in name for other in text_names if len(other) > 3)


def _phrases(text: str, phrases: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(p)}\b", lowered) for p in phrases)


def _words(text: str) -> list[str]:
    return [t.lower().strip(".,;:") for t in TOKEN.findall(text.replace("n’t", " n't"))]


def negated(text: str) -> bool:
    lowered = text.lower().replace("’", "'")
    return "n't" in lowered or any(w in NEGATIONS for w in _words(text))


def _hedged_except(
    text: str, words: frozenset[str] = frozenset(), phrases: tuple[str, ...] = ()
) -> bool:
    """Hedged by a hedge word or phrase other than ``words`` and ``phrases``."""
    if any(w in HEDGES and w not in words for w in _words(text)):
        return True
    return _phrases(text, tuple(p for p in _PHRASE_HEDGES if p not in phrases))


def hedged(text: str) -> bool:
    return _hedged_except(text)


def hedged_beyond_duration(text: str) -> bool:
    """Hedged by more than a duration: "temporary" says how long, not whether, so it does
    not stand for the "if" of "if it seeks a boycott"."""
    return _hedged_except(text, DURATIONS, _PHRASE_DURATIONS)


def modal_hedged(text: str) -> bool:
    """Hedged by a modal or an attitude ("could", "willing to consider", "appeared"), not
    only by a condition ("if", "in case") or a duration ("temporarily", "for a time"): "had
    agreed to allow a temporary boycott" keeps the duration and drops the "willing to
    consider"."""
    return _hedged_except(text, CONDITIONALS | DURATIONS, _PHRASE_CONDITIONALS + _PHRASE_DURATIONS)


def strengtheners(text: str) -> set[str]:
    found = {w for w in _words(text) if w in STRENGTHENERS}
    found |= {p for p in _PHRASE_STRENGTHENERS if _phrases(text, (p,))}
    return found


_ANTONYM_STEMS = [(stem(a), stem(b)) for a, b in ANTONYMS]


def antonym_swaps(claim: str, evidence: str) -> list[tuple[str, str]]:
    """Pairs where the claim says one side and the evidence only the other."""
    said = {stem(w) for w in _words(claim)}
    held = {stem(w) for w in _words(evidence)}
    swaps = []
    for a, b in _ANTONYM_STEMS:
        for x, y in ((a, b), (b, a)):
            if x in said and y in held and x not in held:
                swaps.append((x, y))
    return swaps


# Offices, as news names them: a claim may not move one to another person, and a question
# asking for one needs evidence naming it. Titles, not verbs: "Who headed the team?" asks
# no office ("head", "director" and "coach" are left out; "Who chairs the bank?" does ask).
OFFICES = (
    "vice president", "president", "prime minister", "minister", "ambassador", "adviser",
    "advisor", "secretary", "chairman", "chairwoman", "chairperson", "chair", "governor",
    "spokesman", "spokeswoman", "spokesperson", "mayor", "senator", "envoy", "chancellor",
    "treasurer", "commissioner", "chief executive", "ceo",
)  # fmt: skip
SAME_OFFICE = {"advisor": "adviser", "chairwoman": "chairman", "chairperson": "chairman",
                "chair": "chairman", "spokeswoman": "spokesman", "spokesperson": "spokesman",
                "ceo": "chief executive"}  # fmt: skip
