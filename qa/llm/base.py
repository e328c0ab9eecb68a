"""What a backend is: a chat model factory plus the policy that goes with the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from qa.config import Settings
    from qa.gate import AnswerPolicy


class ConfigError(ValueError):
    """A setting that cannot work; raised at start-up, never in the middle of a request."""


class LLMBackend(Protocol):
    """A way of answering. The chain never tests a mode name: it asks its backend."""

    name: str
    #: May the model rewrite a follow-up into a standalone question? Tiny local models
    #: cannot be trusted to; a capable model can.
    rewrites_questions: bool

    def check(self, settings: Settings) -> None:
        """Raise ``ConfigError`` when the settings cannot work (e.g. no server URL)."""

    def chat_model(self, settings: Settings) -> BaseChatModel | None:
        """The chat model (loaded lazily by the model itself); None answers extractively."""

    def policy(self, settings: Settings) -> AnswerPolicy:
        """How it answers: the gate that decides before the model is called, how much
        evidence the model sees, whether its refusal is final, whether it must be complete."""
