"""Ollama on this machine, through its OpenAI-compatible API: a preset of the openai backend.

The worked example of adding a backend (docs/architecture.md): this module and one registry
line. The URL is Ollama's default on loopback, so nothing leaves the machine; for Ollama on
another host use openai mode with ``CITEQA_OPENAI_BASE_URL``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.llm.openai import OpenAIBackend, openai_chat

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from qa.config import Settings

#: Ollama's own default address, loopback only.
OLLAMA_URL = "http://127.0.0.1:11434/v1"
#: A model as Ollama names it, ``name[:tag]`` (``ollama list``; no tag means ``latest``).
OLLAMA_MODEL = "llama3.2"


class OllamaBackend(OpenAIBackend):
    """Ollama's OpenAI-compatible endpoint. ``CITEQA_OPENAI_MODEL`` names the model when set
    (e.g. ``qwen2.5:3b``); the API key is ignored by Ollama but required by the client."""

    name = "ollama"
    base_url = OLLAMA_URL

    def check(self, settings: Settings) -> None:
        return None  # a fixed loopback URL: nothing to configure

    def model(self, settings: Settings) -> str:
        return (
            settings.openai_model if "openai_model" in settings.model_fields_set else OLLAMA_MODEL
        )

    def chat_model(self, settings: Settings) -> BaseChatModel | None:
        return openai_chat(settings, self.base_url, self.model(settings), "ollama")
