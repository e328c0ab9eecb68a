"""No model: the answer is the best evidence sentences themselves, cited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.gate import AnswerPolicy, CalibratedGate

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from qa.config import Settings


class ExtractiveBackend:
    name = "extractive"
    rewrites_questions = False

    def check(self, settings: Settings) -> None:
        return None

    def chat_model(self, settings: Settings) -> BaseChatModel | None:
        return None

    def policy(self, settings: Settings) -> AnswerPolicy:
        return AnswerPolicy(
            gate=CalibratedGate(settings.min_support),
            evidence_shown=settings.evidence_sentences,
            trust_refusal=False,
            require_complete=False,
        )
