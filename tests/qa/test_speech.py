"""Who speaks in a sentence, and whose words a question asks for (qa.speech)."""

from __future__ import annotations

import pytest

from qa.speech import asked_speaker, sources_act, speaker_missing, speaker_text

PUTIN = (
    "US officials saw the meeting as a chance to gauge whether Venezuela, one of Russia's "
    "closest Latin American allies, is prepared to distance itself from President Vladimir "
    "Putin over his invasion of Ukraine, a source in Washington said."
)
NO_COMMENT = (
    "The White House, the US State Department and Venezuela's Information ministry declined "
    "comment."
)
DEFENDED = (
    "In the talks, Washington sought guarantees of free presidential elections and the "
    "government's public condemnation of the Ukraine invasion, which Maduro has defended, "
    "three people familiar with the matter said."
)
APPOSITION = "Maduro, speaking on state television after the meeting, said the talks went well."


def test_after_a_long_clause_only_the_clause_before_the_verb_speaks() -> None:
    assert speaker_text(PUTIN, subject_only=False).strip() == "a source in Washington"
    assert "Maduro" not in speaker_text(DEFENDED, subject_only=False)


def test_a_short_subject_speaks_whole() -> None:
    assert "White House" in speaker_text(NO_COMMENT, subject_only=False)
    assert "Information ministry" in speaker_text(NO_COMMENT, subject_only=False)
    assert speaker_text(APPOSITION, subject_only=False).startswith("Maduro")


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("What did Putin say about the meeting?", "putin"),
        ("What did Maduro tell reporters after the talks?", "maduro"),
        ("How did the State Department react?", "state department"),
        ("What was the Kremlin's reaction?", "kremlin"),
        ("How did Caracas respond?", "caracas"),
        ("What did the sources say?", None),  # no name
        ("What did he say?", None),
        ("What does Venezuela want?", None),  # not a question for words
        ("What does Maduro think of the war in Ukraine?", None),  # a view, said or not
    ],
)
def test_whose_words_a_question_asks_for(question: str, name: str | None) -> None:
    assert asked_speaker(question) == name


def test_a_question_for_words_no_evidence_has_spoken() -> None:
    texts = [PUTIN, NO_COMMENT, DEFENDED]
    assert speaker_missing("What did Putin say about the meeting?", texts) == "putin"
    assert speaker_missing("What did Maduro say?", texts) == "maduro"
    assert speaker_missing("How did the White House respond?", texts) is None
    # A capital stands for its government: Venezuela's ministry declined comment.
    assert speaker_missing("How did Caracas respond?", texts) is None
    assert speaker_missing("What did Maduro say?", [*texts, APPOSITION]) is None


def test_a_possessive_is_no_part_of_the_name_asked_for() -> None:
    assert asked_speaker("What was the Kremlin’s reaction?") == "kremlin"
    # "position" asks for an office as often as for a stance: not a question for words.
    assert asked_speaker("What is James Story's position?") is None


def test_a_claim_that_has_the_sources_act_rather_than_report() -> None:
    assert sources_act("The sources asked for a meeting with the Venezuelan government.")
    assert sources_act("Three people familiar with the matter sought guarantees.")
    for claim in (
        "The sources mentioned that Venezuela asked Russia.",
        "Five sources familiar with the matter said the talks made scant progress.",
        "The source in Washington said the US saw a chance.",
        "The sources are not named.",
        "Venezuela asked Russia, the sources said.",
    ):
        assert not sources_act(claim), claim
