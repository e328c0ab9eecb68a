"""Prompt templates live in ``prompts/`` as plain files: system text, ``---``, user text."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@cache
def load_prompt(name: str) -> ChatPromptTemplate:
    """``prompts/<name>.md`` as a chat prompt (system message, then the user message)."""
    path = PROMPTS_DIR / f"{name}.md"
    system, _, user = path.read_text(encoding="utf-8").partition("\n---\n")
    if not user:
        raise ValueError(f"{path} needs a line '---' between the system and user text")
    return ChatPromptTemplate.from_messages([("system", system.strip()), ("user", user.strip())])
