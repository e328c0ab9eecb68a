"""The hard checks of a claim, which no paraphrase can excuse (``qa/verify`` finds a
claim's support, then asks these): numbers and proper names must appear in the evidence (or
the question); negation must match; a hedge of the evidence ("willing to consider", "if")
may not be dropped, nor a claim strengthened ("all", "permanently"); no antonym may replace
an evidence term; the question's words a claim restates must be in its evidence; a name
keeps the role the evidence binds it to ("led by X"), only who speaks in the evidence
speaks in a claim, and a name the evidence has acted on does not act in the claim. Also
the claim-text helpers both modules read: content words, clauses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.evidence import Embed, Evidence
from qa.lexicon import (
    ALIASES,
    antonym_swaps,
    canonical_name,
    hedged,
    hedged_beyond_duration,
    modal_hedged,
    name_in,
    names,
    negated,
    strengtheners,
    synonym_stems,
)
from qa.offices import titles
from qa.quantities import normalize_number, numbers
from qa.speech import speaker_text, speaks
from vectorstore.tokens import STOPWORDS, stem, words

_CLAUSE = re.compile(r"[,;:]\s+|\s+[-–—]+\s+")
_EVIDENCE_CLAUSE = re.compile(r"[,;:]\s+|\s+[-–—]+\s+|\s+(?=(?:but|while|whereas|although)\s)")
_AGENT = re.compile(r"\b(\w+)\s+by\s+")
_ASIDE = re.compile(r"\s+[–—]+\s+[^–—]{0,120}?\s+[–—]+\s+|\s+\([^()]{0,120}\)")
_AGENT_STOP = re.compile(r"^[a-z]+$")
_AGENT_GLUE = frozenset("and the a an of his her their its top former senior chief".split())
# Negation words carry polarity; they are checked, not counted as content. Prepositions and
# fillers claim nothing either.
_PLACES = frozenset(ALIASES) | frozenset(ALIASES.values())
_POLARITY = frozenset({"not", "no", "nor", "never", "n't"})
_FUNCTION = frozenset(
    """like around toward towards across along among amid behind beyond despite inside near
    onto upon via per within without really just even else whose""".split()
)


def content_terms(text: str) -> list[str]:
    """Stemmed content words with aliases resolved; numbers are checked apart."""
    out = []
    for word in words(text):
        if word in STOPWORDS or word in _POLARITY or word in _FUNCTION:
            continue
        if normalize_number(word) is not None:
            continue
        out.append(stem(ALIASES.get(word, word)))
    return out


def clauses(sentence: str) -> list[str]:
    """Comma/semicolon/dash-separated parts; a part with under two content words joins the
    next, so "In 2019," is judged with what it introduces."""
    parts, pending, last = [], "", 0
    for match in _CLAUSE.finditer(sentence):
        pending += sentence[last : match.end()]
        last = match.end()
        if len(content_terms(pending)) >= 2:
            parts.append(pending)
            pending = ""
    parts.append(pending + sentence[last:])
    return [p for p in parts if p.strip()]


def agent_bindings(text: str) -> dict[str, set[str]]:
    """Names bound to a verb as its agent ("led by X and Y"): name -> verbs (stems)."""
    bound: dict[str, set[str]] = {}
    for match in _AGENT.finditer(text):
        verb = stem(match.group(1).lower())
        # An aside between dashes or in brackets is not the list of agents.
        tail = _ASIDE.sub(" ", text[match.end() : match.end() + 200])
        span: list[str] = []
        for token in re.findall(r"[\w’'.]+(?:-[\w’'.]+)*|[^\w\s]+", tail):
            # Before the first name, modifiers belong to it ("led by the US-backed
            # Venezuelan President X"); after it, a lower-case word ends the agent.
            modifier = not names(" ".join(span)) and len(span) < 8
            if _AGENT_STOP.match(token) and token not in _AGENT_GLUE and not modifier:
                break
            span.append(token)
        for name in names(" ".join(span)):
            if name not in _PLACES:  # "the US-backed X": the country modifies, X acts
                bound.setdefault(name, set()).add(verb)
    return bound


@dataclass
class Context:
    """What the hard checks (and the verifier's support) read of the evidence and question."""

    evidence: list[Evidence]
    terms: list[set[str]]
    vectors: np.ndarray
    question_terms: frozenset[str]
    numbers: set[str]
    names: set[str]
    text: str
    agents: dict[str, set[str]]
    speakers: str
    offices: dict[str, set[str]]  # who holds which office in the evidence (offices.titles)

    @classmethod
    def build(cls, evidence: Sequence[Evidence], question: str, embed: Embed) -> Context:
        texts = [ev.text for ev in evidence]
        vectors = [ev.vector for ev in evidence]
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            fresh = embed([texts[i] for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                vectors[i] = vector
        every = " ".join([*texts, question])
        agents: dict[str, set[str]] = {}
        for text in texts:
            for name, verbs in agent_bindings(text).items():
                agents.setdefault(name, set()).update(verbs)
        return cls(
            evidence=list(evidence),
            terms=[set(content_terms(t)) for t in texts],
            vectors=np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1),
            question_terms=frozenset(content_terms(question)),
            numbers=numbers(every),
            names=names(every) | {n for t in texts for n in names(t)},
            text=every,
            agents=agents,
            speakers=" ; ".join(speaker_text(t, subject_only=False) for t in texts),
            offices=titles(every),
        )


_RELATIVE = re.compile(r"^\s*(?:which|who|whom|whose|where|when)\b", re.I)
_ATTRIBUTION = re.compile(r"\b(?:said|says|say|told|according to|reported|added)\b", re.I)
_CONTRAST = re.compile(r"^\s*(?:but|while|whereas|although|though|yet)\b", re.I)


def scopes(sentence: str) -> list[tuple[str, str]]:
    """(segment, the text that governs it) for each comma-separated segment: a hedge or a
    negation reaches the segments after it ("willing to consider allowing X, to move
    money"), but not a relative clause ("which facilitates ...") or an attribution, and
    not past a contrast ("... but made scant progress")."""
    out: list[tuple[str, str]] = []
    governor = ""
    for part in _EVIDENCE_CLAUSE.split(sentence):
        part = part.strip()
        if not part:
            continue
        if _CONTRAST.match(part):
            governor = ""
        if _RELATIVE.match(part) or _ATTRIBUTION.search(part):
            out.append((part, part))
            continue
        governor = f"{governor} {part}".strip()
        out.append((part, governor))
    return out


def _aligned_clause(clause: str, support: Sequence[Evidence]) -> str:
    """The part of the supporting sentence(s) the claim restates, with what governs it: the
    segment that shares most of the claim's words. Negation and hedges are judged there."""
    terms = set(content_terms(clause))
    best, best_overlap = support[0].text, -1.0
    for ev in support:
        for part, scope in scopes(ev.text):
            held = set(content_terms(part))
            overlap = len(terms & held) / (len(held) ** 0.5 or 1.0)
            if overlap > best_overlap:
                best, best_overlap = scope, overlap
    return best


def _anchor_check(
    clause: str, support: Sequence[Evidence], context: Context, close: bool = False
) -> tuple[str, str] | None:
    """The question's words a claim restates are not free: the sentence that supplies its
    answer must speak of them too (or of a news synonym of them). "The next round of talks
    will take place on Sunday" rests on a sentence that has "Sunday" but no next round. A
    ``close`` paraphrase (similarity above ``strong_dense``) is asked this of the question's
    other words only, not of its names: "Washington offering Caracas to press for sanctions
    relief" is close to "Caracas used the talks to press for US sanctions relief", and the
    offer it asserts is the question's, not the sentence's."""
    restated = list(dict.fromkeys(t for t in content_terms(clause) if t in context.question_terms))
    named = {stem(ALIASES.get(w, w)) for n in names(clause) for w in n.split()}
    if close:
        restated = [t for t in restated if t not in named]
    if not restated:
        return None
    held = set().union(*(set(content_terms(ev.text)) for ev in support))
    related = synonym_stems()
    found = [t for t in restated if t in held or related.get(t, frozenset()) & held]
    # The names are in nearly every sentence about them: what the question asks of them
    # must be there too ("Washington offered Venezuela ..." does not rest on what
    # Washington sought of Venezuela).
    asked = [t for t in restated if t not in named]
    if len(found) >= len(restated) / 2 and (not asked or set(asked) & set(found)):
        return None
    lost = [t for t in restated if t not in found]
    return "support", f"its evidence does not speak of {', '.join(lost)} (from the question)"


def _numbers_check(clause: str, context: Context) -> tuple[str, str] | None:
    missing = numbers(clause) - context.numbers
    return ("number", f"{', '.join(sorted(missing))} not in the evidence") if missing else None


def _names_check(clause: str, context: Context) -> tuple[str, str] | None:
    missing = [n for n in names(clause) if not name_in(n, context.names, context.text)]
    return ("name", f"{', '.join(sorted(missing))} not in the evidence") if missing else None


def _negation_check(
    clause: str, aligned: str, support: Sequence[Evidence]
) -> tuple[str, str] | None:
    if negated(clause) != negated(aligned):
        said = "negates" if negated(clause) else "drops the negation of"
        return "negation", f"the claim {said} the evidence: {aligned.strip()!r}"
    return None


def _hedge_check(
    claim: str, aligned: str, support: Sequence[Evidence], clause: str
) -> tuple[str, str] | None:
    """A hedge of the evidence the claim restates stays in the claim (``claim``: the clause
    with the claim's clauses before it). With two supporting sentences, each one's restated
    part counts: "agreed to allow a temporary boycott" drops the "willing to consider" of
    the one it takes "allow" from."""
    parts = [aligned] if len(support) < 2 else [_aligned_clause(clause, [ev]) for ev in support]
    for part in parts:
        if hedged(part) and not hedged(claim):
            return "hedge", f"the evidence is hedged: {part.strip()!r}"
        if hedged_beyond_duration(part) and not hedged_beyond_duration(claim):
            return "hedge", f"the evidence is hedged by more than a duration: {part.strip()!r}"
        if modal_hedged(part) and not modal_hedged(claim):
            # "X could happen if Y" is not restated by "Z offered X if Y": a condition kept
            # does not keep the "could".
            return "hedge", f"the evidence says it might be, not that it is: {part.strip()!r}"
    return None


def _strength_check(
    clause: str, aligned: str, support: Sequence[Evidence]
) -> tuple[str, str] | None:
    held = set().union(*(strengtheners(ev.text) for ev in support))
    extra = strengtheners(clause) - held
    return ("strengthened", f"{', '.join(sorted(extra))} not in the evidence") if extra else None


def _antonym_check(
    clause: str, aligned: str, support: Sequence[Evidence]
) -> tuple[str, str] | None:
    swaps = antonym_swaps(clause, " ".join(ev.text for ev in support))
    if swaps:
        said, held = swaps[0]
        return "antonym", f"the claim says {said!r} where the evidence says {held!r}"
    return None


def _roles_check(clause: str, context: Context) -> tuple[str, str] | None:
    """A name the claim binds as a verb's agent must be that verb's agent in the evidence;
    one the claim has speak ("The Kremlin said ...") must speak in the evidence."""
    said = speaker_text(clause, subject_only=True)
    for name in names(said, aliases=False) if said else ():
        if not speaks(name, context.speakers):
            return "role", f"the evidence does not have {name!r} say it"
    for name, verbs in agent_bindings(clause).items():
        known = {v for n, vs in context.agents.items() if name in n or n in name for v in vs}
        if verbs - known:
            verb = sorted(verbs - known)[0]
            return "role", f"the evidence does not say {verb!r} by {name!r}"
    return None


# Acts two sides do together: either may be the subject ("Maduro held talks with the US
# delegation" restates "A US delegation ... held talks ... with Maduro").
_MUTUAL = frozenset(
    stem(w)
    for w in """meet meeting met talk talks negotiate negotiation discuss discussion agree
    agreement deal trade exchange""".split()
)


# "... was allowed", "could be temporarily allowed": the subject is acted on.
_PASSIVE = re.compile(r"\b(?:be|is|are|was|were|been|being|get|gets|got)\s+(?:\w+ly\s+)?$", re.I)


def _sides(
    text: str, term: str, known: frozenset[str] = frozenset()
) -> tuple[set[str], set[str]] | None:
    """The names before the first word of ``text`` whose stem is ``term``, and the first
    name after it, what it acts on (None when there is none, or it is passive: "led by X"
    names its actor after it, "X was allowed" its patient before it). A sentence's first
    word counts as a name when ``known`` has it ("Venezuela would consider ...")."""
    for match in re.finditer(r"[\w’'-]+", text):
        if stem(match.group(0).lower()) != term:
            continue
        before, after = text[: match.start()], text[match.end() :]
        if re.match(r"\s+by\b", after) or _PASSIVE.search(before):
            return None
        # "asked Russia ... blacklisted by the United States": Russia was asked, not the US.
        after_names = names(after, aliases=False)
        first = min(after_names, key=lambda n: after.lower().find(n), default=None)
        acted_on = {canonical_name(first)} if first else set()
        return names(before) | (names(f"and {before}") & known), acted_on
    return None


def _subject_check(clause: str, support: Sequence[Evidence]) -> tuple[str, str] | None:
    """A name that comes before an act in the claim but only after it in the evidence's
    clause, whose actors are others, has changed sides: "Venezuela's government should
    consider ..." restating "the US officials were willing to consider ... allowing
    Venezuela to use ..."."""
    known = frozenset(n for ev in support for n in names(ev.text))
    for term in dict.fromkeys(content_terms(clause)):
        claimed = None if term in _MUTUAL else _sides(clause, term, known)
        if claimed is None or not claimed[0]:
            continue
        for ev in support:
            for part in clauses(ev.text):
                held = _sides(part, term, known)  # "Venezuela has asked Russia ..."
                if held is None or not held[0] or claimed[0] & held[0]:
                    continue
                moved = sorted(claimed[0] & held[1])
                if moved:
                    return "role", f"{moved[0]!r} acts in the claim where the evidence acts on it"
    return None


# A clause that continues the one before it ("..., to move money", "..., which ..."): that
# clause's hedge reaches it. One with its own subject and verb ("..., and will ...") must
# carry its own.
_CONTINUES = re.compile(r"^\s*(?:to|which|that|so|in order to|\w+ing)\b", re.I)


def hard_check(
    clause: str,
    support: Sequence[Evidence],
    context: Context,
    close: bool = False,
    before: str = "",
) -> tuple[str, str] | None:
    """The first hard check ``clause`` fails on its ``support``, as (check, detail), or
    None. ``close``: the claim is a close paraphrase of its support (see the anchor check).
    ``before``: the claim's earlier clauses; a hedge there reaches this one, as in the
    evidence ("willing to consider allowing X, to move money ...")."""
    failure = _anchor_check(clause, support, context, close)
    if failure:
        return failure
    for check in (_numbers_check, _names_check):
        failure = check(clause, context)
        if failure:
            return failure
    aligned = _aligned_clause(clause, support)
    governed = f"{before} {clause}" if _CONTINUES.match(clause) else clause
    failure = _negation_check(clause, aligned, support) or _hedge_check(
        governed, aligned, support, clause
    )
    if failure:
        return failure
    for check_ in (_strength_check, _antonym_check):
        failure = check_(clause, aligned, support)
        if failure:
            return failure
    return (
        _roles_check(clause, context)
        or _title_check(clause, before, context)
        or _subject_check(clause, support)
    )


def _title_check(clause: str, before: str, context: Context) -> tuple[str, str] | None:
    """A name in the clause bound to an office ("the US Ambassador to Venezuela, Juan
    Gonzalez") that the evidence gives to someone else ("Ambassador James Story")."""
    held = context.offices
    named = names(clause, aliases=False)
    for name, offices in titles(before + clause).items():
        if name not in named:
            continue
        for office in offices:
            holders = {n for n, os in held.items() if office in os}
            if holders and not any(name in n or n in name for n in holders):
                return "role", f"the evidence names {sorted(holders)[0]!r} {office}, not {name!r}"
    return None
