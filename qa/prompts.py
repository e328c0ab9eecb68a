"""Prompt templates live in ``prompts/`` as plain files: system text, ``---``, user text.

The folder ships as the data package ``qa._prompts`` (pyproject maps it), read through
``importlib.resources`` so an installed wheel finds its prompts as a checkout does.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from langchain_core.prompts import ChatPromptTemplate

PROMPTS_PACKAGE = "qa._prompts"


@cache
def load_prompt(name: str) -> ChatPromptTemplate:
    """``prompts/<name>.md`` as a chat prompt (system message, then the user message)."""
    text = files(PROMPTS_PACKAGE).joinpath(f"{name}.md").read_text(encoding="utf-8")
    system, _, user = text.partition("\n---\n")
    if not user:
        raise ValueError(f"prompts/{name}.md needs a line '---' between the system and user text")
    return ChatPromptTemplate.from_messages([("system", system.strip()), ("user", user.strip())])
