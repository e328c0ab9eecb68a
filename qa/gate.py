"""The gate: whether the evidence can answer the question, decided before any model call.

Each backend owns its policy (``LLMBackend.gate``): a small model cannot be trusted to
decline, so its gate must; a capable model is asked and its own refusal counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from qa.evidence import Evidence


@dataclass
class GateDecision:
    """``answer`` False means NOT_FOUND without calling the model; ``signals`` say why."""

    answer: bool
    reason: str
    signals: dict[str, Any] = field(default_factory=dict)


class GatePolicy(Protocol):
    def decide(self, question: str, evidence: Sequence[Evidence]) -> GateDecision: ...


@dataclass
class SupportGate:
    """Answer when the best evidence sentence scores at least ``threshold``."""

    threshold: float

    def decide(self, question: str, evidence: Sequence[Evidence]) -> GateDecision:
        best = evidence[0].score if evidence else 0.0
        ok = best >= self.threshold
        return GateDecision(
            ok,
            "supported" if ok else "weak evidence",
            {"support": round(best, 3), "threshold": self.threshold},
        )
