"""What a backend is: a chat model factory plus the policy that goes with the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from qa.config import Settings
    from qa.gate import GatePolicy


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

    def gate(self, settings: Settings) -> GatePolicy:
        """Whether to answer at all, decided from the evidence before the model is called."""
