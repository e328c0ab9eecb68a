"""Confidence intervals and paired tests against hand-computed values."""

from __future__ import annotations

import pytest

from qa.evaluation.stats import (
    bootstrap_ci,
    mcnemar_p,
    mean_ci,
    paired_difference,
    wilson,
)


def test_wilson_known_values() -> None:
    # 8 of 10: centre (0.8 + 1.9208/10) / 1.38415 = 0.7167, half-width 0.2403
    low, high = wilson(8, 10) or (0, 0)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    low, high = wilson(0, 5) or (1, 1)
    assert low == 0.0 and high == pytest.approx(0.4345, abs=1e-3)  # never a zero-width interval
    assert wilson(0, 0) is None


def test_mcnemar_exact() -> None:
    # 6 questions only a wins, 0 only b wins: p = 2 * 0.5**6 = 0.03125
    a = [1.0] * 6 + [1.0, 0.0]
    b = [0.0] * 6 + [1.0, 0.0]
    assert mcnemar_p(a, b) == pytest.approx(0.03125)
    # 3 vs 1: p = 2 * (1 + 4) / 16 = 0.625
    assert mcnemar_p([1, 1, 1, 0], [0, 0, 0, 1]) == pytest.approx(0.625)
    assert mcnemar_p([1, 0], [1, 0]) == 1.0


def test_bootstrap_is_deterministic_and_brackets_the_mean() -> None:
    values = [0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.8]
    first, second = bootstrap_ci(values), bootstrap_ci(values)
    assert first == second
    assert first is not None and first[0] < sum(values) / len(values) < first[1]
    assert bootstrap_ci([]) is None
    assert mean_ci([1.0, 0.0, 1.0]) == wilson(2, 3)  # yes/no verdicts get Wilson


def test_a_small_gap_is_not_significant() -> None:
    # 300 paired verdicts, a wins 12 and b wins 9: a 0.01 gap
    a = [1.0] * 12 + [0.0] * 9 + [1.0] * 279
    b = [0.0] * 12 + [1.0] * 9 + [1.0] * 279
    result = paired_difference(a, b)
    assert result["diff"] == pytest.approx(0.01)
    assert result["p"] > 0.5 and not result["significant"]
    assert result["ci"][0] < 0 < result["ci"][1]
    with pytest.raises(ValueError):
        paired_difference([1.0], [])
