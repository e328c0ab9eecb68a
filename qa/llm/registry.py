"""Backends by mode name. Adding a backend = one module + one line here.

Entries are import paths, so naming and validating modes (settings, CLI, API) imports no
model library.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.llm.base import LLMBackend

BACKENDS: dict[str, str] = {
    "extractive": "qa.llm.extractive:ExtractiveBackend",
    "local": "qa.llm.local:LocalBackend",
    "ollama": "qa.llm.ollama:OllamaBackend",
    "openai": "qa.llm.openai:OpenAIBackend",
}


def names() -> list[str]:
    return list(BACKENDS)


@cache
def backend(name: str) -> LLMBackend:
    """The backend registered as ``name``; ValueError naming the known ones otherwise."""
    if name not in BACKENDS:
        raise ValueError(f"unknown mode {name!r}; known modes: {', '.join(BACKENDS)}")
    module, _, cls = BACKENDS[name].partition(":")
    return cast("LLMBackend", getattr(importlib.import_module(module), cls)())


def enabled_modes(settings: Settings) -> list[str]:
    """The modes a request may ask for: ``CITEQA_MODES``, else the configured mode and
    extractive. The operator decides; a request only picks among these."""
    listed = [m.strip() for m in (settings.modes or "").split(",") if m.strip()]
    return list(dict.fromkeys(listed or [settings.mode, "extractive"]))
