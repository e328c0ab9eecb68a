"""LLM backends: one module per backend, one registry (``qa.llm.registry``) keyed by mode."""

from qa.llm.base import ConfigError, LLMBackend
from qa.llm.registry import backend, enabled_modes, names

__all__ = ["ConfigError", "LLMBackend", "backend", "enabled_modes", "names"]
