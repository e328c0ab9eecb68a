"""The abstention signal: how well the gate's probability separates answerable questions.

In extractive and local mode citeqa abstains when its calibrated gate's probability that the
evidence answers is below ``settings.min_support`` (or a hard rule refuses); the result rows
record that probability as ``support``. This module describes its distribution on
answerable and unanswerable questions and finds the thresholds that would meet the goals,
so the threshold is chosen from measurements rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qa.evaluation.metrics import percentile

#: The abstention goals (issue 8): abstain on at least this share of unanswerable questions ...
GOAL_ABSTAIN = 0.55
#: ... while wrongly abstaining on at most this share of answerable ones.
GOAL_WRONG = 0.1
DECILES = tuple(range(0, 101, 10))


def support_scores(
    rows: Sequence[Mapping[str, Any]], system: str = "citeqa"
) -> tuple[list[float], list[float]]:
    """(answerable, unanswerable) support scores of one system's rows that record one.

    A row with ``support`` null had no evidence at all: it abstains at any threshold, so it
    counts as 0.
    """
    mine = [r for r in rows if r.get("system") == system and "support" in r]
    scores = [(bool(r["answerable"]), float(r["support"] or 0.0)) for r in mine]
    return [s for a, s in scores if a], [s for a, s in scores if not a]


def rates(answerable: Sequence[float], unanswerable: Sequence[float], threshold: float) -> dict:
    """Abstention rates when abstaining on support below ``threshold``."""
    return {
        "threshold": round(threshold, 4),
        "abstention_unanswerable": _share_below(unanswerable, threshold),
        "wrong_abstention_answerable": _share_below(answerable, threshold),
    }


def auc(answerable: Sequence[float], unanswerable: Sequence[float]) -> float | None:
    """Probability that an answerable question outscores an unanswerable one (ties count half):
    0.5 is a useless signal, 1.0 one that a threshold separates perfectly."""
    if not answerable or not unanswerable:
        return None
    wins = sum((a > u) + 0.5 * (a == u) for a in answerable for u in unanswerable)
    return wins / (len(answerable) * len(unanswerable))


def analyze(rows: Sequence[Mapping[str, Any]], current: float) -> dict[str, Any] | None:
    """Deciles per class, AUC, the rates at the ``current`` threshold and two candidates.

    ``goal_threshold``: among thresholds that wrongly abstain on at most ``GOAL_WRONG`` of the
    answerable questions, the one abstaining most on unanswerable ones (ties: fewer wrong
    abstentions, then the lower threshold); ``balanced_threshold``:
    the one maximising abstention on unanswerable minus wrong abstention (Youden's J).
    None when the rows hold no support scores of both kinds, or none at all (openai mode's
    gate computes no probability).
    """
    if all(r.get("support") is None for r in rows if r.get("system") == "citeqa"):
        return None
    answerable, unanswerable = support_scores(rows)
    if not answerable or not unanswerable:
        return None
    # Abstaining means support < t, so each distinct score (and one above all) is a candidate.
    values = sorted({*answerable, *unanswerable})
    candidates = [rates(answerable, unanswerable, t) for t in [*values, values[-1] + 0.001]]
    within = [c for c in candidates if c["wrong_abstention_answerable"] <= GOAL_WRONG]
    goal = max(
        within,
        key=lambda c: (
            c["abstention_unanswerable"],
            -c["wrong_abstention_answerable"],
            -c["threshold"],
        ),
    )
    balanced = max(
        candidates,
        key=lambda c: c["abstention_unanswerable"] - c["wrong_abstention_answerable"],
    )
    return {
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "deciles": {
            "percentile": list(DECILES),
            "answerable": [percentile(answerable, p) for p in DECILES],
            "unanswerable": [percentile(unanswerable, p) for p in DECILES],
        },
        "auc": auc(answerable, unanswerable),
        "current": rates(answerable, unanswerable, current),
        "goal_threshold": goal,
        "balanced_threshold": balanced,
        "goals_reachable": goal["abstention_unanswerable"] >= GOAL_ABSTAIN,
    }


def _share_below(values: Sequence[float], threshold: float) -> float:
    """Share of values strictly below the threshold."""
    return sum(v < threshold for v in values) / len(values)
