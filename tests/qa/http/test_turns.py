"""The history a saved conversation (or the page) answers a follow-up with."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import Settings
from qa.http.turns import bounded
from qa.service import Assistant, InvalidRequest
from qa.types import Turn


def _conversation(pairs: int, answer_chars: int = 10) -> list[Turn]:
    turns = []
    for n in range(pairs):
        turns.append(Turn(role="user", content=f"question {n}?"))
        turns.append(Turn(role="assistant", content=f"answer {n} " + "x" * answer_chars))
    return turns


def test_bounded_keeps_the_newest_turns_within_the_turn_limit() -> None:
    kept = bounded(_conversation(30), max_turns=20, max_chars=100_000)
    assert len(kept) == 20
    assert kept[0].content == "question 20?" and kept[-1].content.startswith("answer 29")


def test_bounded_keeps_within_the_character_limit_and_starts_with_a_question() -> None:
    turns = _conversation(10, answer_chars=1_000)
    kept = bounded(turns, max_turns=20, max_chars=3_500)
    assert sum(len(t.content) for t in kept) <= 3_500
    assert kept and kept[0].role == "user"
    assert kept[-1] == turns[-1]


def test_a_long_page_conversation_still_passes_the_request_limits(tmp_path: Path) -> None:
    """The page sends its whole conversation through ``bounded``: however long it grew,
    the service's own history check accepts what is sent (it used to cut at 8 turns
    whatever their length, and a long conversation was refused)."""
    assistant = Assistant(Settings(data_dir=tmp_path))
    settings = assistant.settings
    turns = _conversation(40, answer_chars=6_000)
    with pytest.raises(InvalidRequest):
        assistant.check_question("And then?", turns[-8:])
    kept = bounded(turns, settings.max_history_turns, settings.max_history_chars)
    assert kept and kept[-1] == turns[-1]
    assert assistant.check_question("And then?", kept) == "And then?"
