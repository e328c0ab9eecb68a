"""The abstention-signal analysis on hand-computed cases."""

from __future__ import annotations

from typing import Any

import pytest

from qa.evaluation.support import analyze, auc, rates, support_scores


def row(answerable: bool, support: float | None, system: str = "citeqa") -> dict[str, Any]:
    return {"id": "q", "system": system, "answerable": answerable, "support": support}


def test_scores_split_by_class_and_missing_support_counts_as_zero() -> None:
    rows = [row(True, 0.8), row(False, None), row(True, 0.5, "baseline"), {"system": "citeqa"}]
    assert support_scores(rows) == ([0.8], [0.0])


def test_rates_abstain_strictly_below_the_threshold() -> None:
    assert rates([0.2, 0.5, 0.9], [0.1, 0.5], 0.5) == {
        "threshold": 0.5,
        "abstention_unanswerable": 0.5,
        "wrong_abstention_answerable": pytest.approx(1 / 3),
    }


def test_auc() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.5], [0.5]) == 0.5  # ties count half
    assert auc([], [0.5]) is None


def test_analyze_separable() -> None:
    # 10 answerable at 0.50..0.95, 4 unanswerable at 0.1..0.4.
    answerable = [0.5 + 0.05 * i for i in range(10)]
    rows = [row(True, s) for s in answerable] + [row(False, s) for s in (0.1, 0.2, 0.3, 0.4)]
    result = analyze(rows, current=0.3)
    assert result is not None
    assert result["auc"] == 1.0
    assert result["current"]["abstention_unanswerable"] == 0.5  # 0.1, 0.2 are below 0.3
    assert result["current"]["wrong_abstention_answerable"] == 0.0
    # 0.5 and 0.55 both abstain on all unanswerable within 10% wrong; 0.5 wrongs none.
    assert result["goal_threshold"] == {
        "threshold": 0.5,
        "abstention_unanswerable": 1.0,
        "wrong_abstention_answerable": 0.0,
    }
    assert result["balanced_threshold"] == {
        "threshold": 0.5,
        "abstention_unanswerable": 1.0,
        "wrong_abstention_answerable": 0.0,
    }
    assert result["goals_reachable"] is True
    assert result["deciles"]["answerable"][0] == 0.5
    assert result["deciles"]["unanswerable"][-1] == 0.4


def test_goal_threshold_trades_wrong_abstentions_for_abstentions() -> None:
    # Unanswerable 0.1..0.6; answerable 0.55 then 0.7..1.5: abstaining below 0.7 costs one
    # answerable question in ten (allowed) and catches every unanswerable one.
    answerable = [0.55] + [0.7 + 0.1 * i for i in range(9)]
    unanswerable = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    rows = [row(True, s) for s in answerable] + [row(False, s) for s in unanswerable]
    result = analyze(rows, current=0.3)
    assert result is not None
    assert result["goal_threshold"] == {
        "threshold": 0.7,
        "abstention_unanswerable": 1.0,
        "wrong_abstention_answerable": 0.1,
    }
    assert result["auc"] == pytest.approx(1 - 1 / 60)  # 0.55 loses only to 0.6


def test_analyze_useless_signal() -> None:
    # Both classes share the same scores: no threshold abstains more than it wrongly abstains.
    scores = [0.2, 0.4, 0.6, 0.8]
    rows = [row(True, s) for s in scores] + [row(False, s) for s in scores]
    result = analyze(rows, current=0.3)
    assert result is not None
    assert result["auc"] == 0.5
    assert result["goal_threshold"]["threshold"] == 0.2  # nothing abstained
    assert result["goal_threshold"]["abstention_unanswerable"] == 0.0
    assert result["goals_reachable"] is False


def test_analyze_needs_both_classes() -> None:
    assert analyze([], 0.3) is None
    assert analyze([row(True, 0.5)], 0.3) is None


def test_no_analysis_when_the_gate_computed_no_probability() -> None:
    # openai mode's gate only checks the topic: every citeqa row has support null
    rows = [row(True, None), row(False, None), row(True, 0.7, "baseline")]
    assert analyze(rows, current=0.3) is None
    assert analyze([*rows, row(True, 0.8)], current=0.3) is not None
