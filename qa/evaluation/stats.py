"""Uncertainty of the numbers: a confidence interval for every rate, and a paired test for
every difference between two systems answering the same questions.

A 0.01 gap on 300 questions is usually noise; these say so next to the number. Resampling
uses a fixed seed, so the same rows always give the same intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Two-sided 95% intervals.
Z = 1.959964
RESAMPLES = 4000
SEED = 20260101


def is_binary(values: Sequence[float]) -> bool:
    """Whether every value is 0 or 1 (a per-question yes/no verdict)."""
    return all(v in (0.0, 1.0) for v in values)


def wilson(successes: int, n: int) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; sound at 0 and 1 and for small n."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_ci(values: Sequence[float]) -> tuple[float, float] | None:
    """Percentile bootstrap interval of a mean."""
    if not values:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(SEED)
    means = data[rng.integers(0, len(data), size=(RESAMPLES, len(data)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def mean_ci(values: Sequence[float]) -> tuple[float, float] | None:
    """95% interval of a mean: Wilson for yes/no verdicts, the bootstrap otherwise."""
    if values and is_binary(values):
        return wilson(int(sum(values)), len(values))
    return bootstrap_ci(values)


def mcnemar_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Exact McNemar test of paired yes/no verdicts: two-sided binomial p over the questions
    where exactly one of the two systems succeeded."""
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x > y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y > x)
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Mean of ``a - b`` over paired questions, its bootstrap 95% interval, and for yes/no
    verdicts the McNemar p-value. ``significant``: p < 0.05 for yes/no verdicts (exact, so
    sound for few questions), else the interval excludes 0."""
    if len(a) != len(b):
        raise ValueError("paired values need the same questions on both sides")
    if not a:
        return {"n": 0, "diff": None, "ci": None, "p": None, "significant": False}
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    ci = bootstrap_ci(diffs)
    assert ci is not None
    p = mcnemar_p(a, b) if is_binary(a) and is_binary(b) else None
    return {
        "n": len(a),
        "diff": sum(diffs) / len(diffs),
        "ci": [ci[0], ci[1]],
        "p": p,
        "significant": p < 0.05 if p is not None else ci[0] > 0 or ci[1] < 0,
    }
