"""A verifier of meaning, not of words: each claim of an answer must be supported by one or
two evidence sentences, and none of the hard checks may fail.

Support: the claim's content words found in the evidence (stems, aliases such as
"Washington" = "US"), with embedding similarity vouching for a paraphrase when fewer of the
words are there. Then the hard checks (``qa/checks``), which no paraphrase can excuse:
numbers, names, negation, hedges, strength, antonyms, roles. What is cut, and which check
cut it, is returned for the trace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.checks import Context, clauses, content_terms, hard_check
from qa.chunking import split_sentences
from qa.evidence import Embed, Evidence
from qa.lexicon import REPORTING_TERMS
from qa.speech import sources_act
from vectorstore.tokens import STOPWORDS, words

_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_CLAUSE_END = re.compile(r"[\s,;:–—-]+$")
# What is left of a sentence cut after "whether" or "if" and a word or two ("... to gauge
# whether Venezuela"): it breaks off mid-clause and says nothing.
_DANGLING = re.compile(r"\b(?:whether|if|because|although|unless)(?:\s+[\w'’-]+){0,2}\W*$", re.I)
# A yes/no answer's opening is the answer's polarity, not a claim to check.
_DISCOURSE = re.compile(r"^\s*(?:yes|no|not really|not quite|not yet|partly|in short)\b[,:;.]?\s*",
                        re.I)  # fmt: skip


@dataclass
class Claim:
    """An answer sentence (or its supported opening) and the evidence that supports it."""

    text: str
    evidence: list[Evidence]
    support: float


@dataclass
class Cut:
    """Text removed from an answer, the check that removed it, and why."""

    text: str
    check: str
    detail: str


@dataclass
class Thresholds:
    """Support needed: this share of content words alone, or fewer words plus meaning."""

    lexical: float = 0.7
    paraphrase_lexical: float = 0.4
    paraphrase_dense: float = 0.6
    # Above this similarity a paraphrase stands as a whole; below it each of its new words
    # needs a counterpart in the evidence at least this close.
    strong_dense: float = 0.75
    word: float = 0.4


def label_pattern(evidence: Sequence[Evidence]) -> re.Pattern[str] | None:
    """An evidence label of the prompt ("(Reuters 2022-03-07 us venezuela talks,
    2022-03-08)") as a model may copy it, date changed or cut off; None without titles."""
    titles = sorted({ev.title for ev in evidence if len(ev.title.split()) >= 2})
    if not titles:
        return None
    either = "|".join(re.escape(t) for t in titles)
    return re.compile(rf"\(\s*(?:{either})\s*(?:,[^()]*)?\)?")


def copies_label(text: str, evidence: Sequence[Evidence]) -> bool:
    """Whether ``text`` copies an evidence label: the model is echoing its prompt, not
    answering, and the label's words would count as support for a fragment of it."""
    pattern = label_pattern(evidence)
    return bool(pattern and pattern.search(text))


class Verifier:
    """Checks answer text against the evidence it was written from."""

    def __init__(self, embed: Embed, thresholds: Thresholds | None = None) -> None:
        self.embed = embed
        self.thresholds = thresholds or Thresholds()

    def verify(
        self, answer: str, evidence: Sequence[Evidence], question: str
    ) -> tuple[list[Claim], list[Cut]]:
        """The supported claims of ``answer`` and what was cut from it."""
        context = Context.build(evidence, question, self.embed)
        claims: list[Claim] = []
        cuts: list[Cut] = []
        label = label_pattern(evidence)
        for start, end in split_sentences(answer):
            raw = answer[start:end]
            if label and label.search(raw):
                cuts.append(Cut(raw.strip(), "label", "copies the prompt's evidence label"))
                continue
            whole = _MARKER.sub("", raw).strip()
            opening = _DISCOURSE.match(whole)
            text = whole[opening.end() :].strip() if opening else whole
            if not text:
                continue
            kept, score, used, cut = self._trim(text, context)
            if cut is not None:
                cuts.append(cut)
            elif kept and opening:  # all of it stands: the answer keeps its own opening
                kept = whole if whole[-1:] in ".!?" else f"{whole}."
            if kept and not any(kept == c.text for c in claims):
                claims.append(Claim(kept, used, score))
        return claims, cuts

    def _trim(
        self, sentence: str, context: Context
    ) -> tuple[str, float, list[Evidence], Cut | None]:
        """The longest run of leading clauses that pass; a supported opening cannot carry an
        invented tail."""
        kept, scores, used = "", [], []  # type: tuple[str, list[float], list[Evidence]]
        parts = clauses(sentence)
        for n, clause in enumerate(parts):
            # Nothing claimed beyond the question's own words and who reported it ("The
            # source says:"): kept as the claim's glue, not judged, and no claim alone.
            asserted = [t for t in content_terms(clause) if t not in context.question_terms]
            if not [t for t in asserted if t not in REPORTING_TERMS]:
                kept += clause
                continue
            score, support, failure = self._check(clause, context, kept)
            if failure is not None:
                rest = "".join(parts[n:]).strip()
                return self._finish(kept, scores, used, Cut(rest, *failure))
            kept += clause
            scores.append(score)
            used.extend(ev for ev in support if ev not in used)
        return self._finish(kept, scores, used, None)

    @staticmethod
    def _finish(
        kept: str, scores: list[float], used: list[Evidence], cut: Cut | None
    ) -> tuple[str, float, list[Evidence], Cut | None]:
        kept = _CLAUSE_END.sub("", kept.strip())
        if not scores or len(content_terms(kept)) < 2:
            return "", 0.0, [], cut
        if cut is not None and _DANGLING.search(kept):
            detail = f"what stands breaks off mid-clause once the rest was cut ({cut.check})"
            return "", 0.0, [], Cut(f"{kept} {cut.text}", "fragment", detail)
        if kept[-1:] not in ".!?":
            kept += "."
        return kept, min(scores), used, cut

    def _check(
        self, clause: str, context: Context, before: str = ""
    ) -> tuple[float, list[Evidence], tuple[str, str] | None]:
        """(support, supporting evidence, failure as (check, detail) or None); ``before``:
        the claim's clauses before this one, whose hedge reaches it."""
        if not before and sources_act(clause):
            return 0.0, [], ("role", "the evidence has its sources speak, not act")
        found = self._support(clause, context)
        support, score = found.evidence, found.score
        if not support:
            return score, [], ("support", f"no evidence sentence supports it ({score:.2f})")
        limits = self.thresholds
        if found.lexical < limits.lexical and found.dense < limits.strong_dense:
            new = self._unexplained(clause, found)
            if new:
                return score, support, ("support", f"nothing in the evidence for {', '.join(new)}")
        close = found.dense >= limits.strong_dense
        return score, support, hard_check(clause, support, context, close, before)

    def _support(self, clause: str, context: Context) -> _Support:
        """The best single sentence, or pair, supporting the clause (empty when none does).

        A pair is cited only when the second sentence adds real support."""
        terms = [t for t in content_terms(clause) if t not in context.question_terms]
        if not terms or not context.evidence:
            return _Support([], 0.0, 0.0, terms)
        dense = context.vectors @ np.asarray(self.embed([clause])[0])
        lexical = [sum(t in held for t in terms) / len(terms) for held in context.terms]
        top = sorted(range(len(lexical)), key=lambda i: -(lexical[i] + dense[i]))[:4]
        groups = [[i] for i in top] + [[i, j] for i in top for j in top if i < j]
        limits, best = self.thresholds, _Support([], 0.0, 0.0, terms)
        best_rank = -1.0
        for group in groups:
            held = set().union(*(context.terms[k] for k in group))
            lex = sum(t in held for t in terms) / len(terms)
            sim = max(float(dense[k]) for k in group)
            if lex < limits.lexical and (
                lex < limits.paraphrase_lexical or sim < limits.paraphrase_dense
            ):
                best = best if best.evidence else _Support([], max(best.lexical, lex), sim, terms)
                continue
            rank = lex + sim - (0.15 if len(group) > 1 else 0.0)
            if rank > best_rank:
                best_rank = rank
                best = _Support([context.evidence[k] for k in group], lex, sim, terms)
        return best

    def _unexplained(self, clause: str, support: _Support) -> list[str]:
        """Words of a paraphrase with no counterpart in its evidence: neither the same stem
        nor a close word (a claim resting on similarity may not bring in new things)."""
        held = set().union(*(set(content_terms(ev.text)) for ev in support.evidence))
        missing = [w for w in dict.fromkeys(words(clause))
                   if content_terms(w) and content_terms(w)[0] not in held
                   and content_terms(w)[0] in support.terms]  # fmt: skip
        if not missing:
            return []
        candidates = sorted({w for ev in support.evidence for w in words(ev.text)} - STOPWORDS)
        vectors = np.asarray(self.embed(missing + candidates))
        sims = vectors[: len(missing)] @ vectors[len(missing) :].T
        return [w for w, row in zip(missing, sims, strict=True)
                if row.size == 0 or float(row.max()) < self.thresholds.word]  # fmt: skip


@dataclass
class _Support:
    evidence: list[Evidence]
    lexical: float
    dense: float
    terms: list[str]

    @property
    def score(self) -> float:
        return round((self.lexical + max(self.dense, 0.0)) / 2, 3)
