"""Which evidence sentences an extractive answer is made of (hand-made evidence, no model)."""

from __future__ import annotations

from qa.candidates import is_heading
from qa.extractive import pick
from tests.qa.test_gate import DELEGATION, ev

LIFELINE = (
    "The meeting came as Venezuela's financial lifeline to Russia is fraying under sanctions "
    "on Moscow following its military onslaught in Ukraine."
)
SATURDAY = "Both sides used Saturday's meeting in Caracas to present maximalist demands."
SOUGHT = (
    "In the talks, Washington sought guarantees of free elections and reforms of Venezuela's "
    "oil industry."
)
PRESSED = "Caracas used the talks to press for US sanctions relief."
ASKED = "Venezuela has asked Russia to unfreeze oil proceeds at several Russian banks."


def test_a_second_sentence_for_a_typed_question_holds_that_kind_too() -> None:
    held = DELEGATION.replace("the sources said on Sunday", "in March, the sources said")
    evidence = [ev(1, held, 0.5), ev(2, LIFELINE, 0.45), ev(3, SATURDAY, 0.4)]
    chosen = pick("When did the meeting take place?", evidence)
    # The lifeline sentence scores higher but names no day; Saturday's meeting does.
    assert [e.n for e in chosen] == [1, 3]


def test_the_day_a_report_was_made_does_not_answer_when_it_happened() -> None:
    # "..., the sources said on Sunday": the day they spoke, not the day of the meeting.
    evidence = [ev(1, DELEGATION, 0.5), ev(2, LIFELINE, 0.45), ev(3, SATURDAY, 0.4)]
    assert [e.n for e in pick("When did the meeting take place?", evidence)] == [3]
    assert pick("When did the sources say so?", evidence)[0].n == 1


def test_an_explanatory_question_may_combine_sentences_of_any_kind() -> None:
    evidence = [ev(1, DELEGATION, 0.5), ev(2, LIFELINE, 0.45), ev(3, SATURDAY, 0.4)]
    assert [e.n for e in pick("Why did the delegation go to Caracas?", evidence)] == [1, 2, 3]


def test_what_a_named_actor_did_is_answered_by_that_actor_s_sentences_only() -> None:
    """ "What did Venezuela want?": the US's want (led, in the evidence order that
    lead_with_actor gives) is no part of the answer once Venezuela's leads it."""
    evidence = [ev(1, PRESSED, 0.3), ev(2, SOUGHT, 0.5), ev(3, ASKED, 0.25), ev(4, LIFELINE, 0.2)]
    assert [e.n for e in pick("What did Venezuela want?", evidence)] == [1, 3]
    # When no sentence of the actor leads, the answer is made as before.
    other = [ev(1, SOUGHT, 0.5), ev(2, LIFELINE, 0.45)]
    assert [e.n for e in pick("What did Venezuela want?", other)] == [1, 2]


def test_who_took_part_is_answered_by_sentences_telling_who_took_part_only() -> None:
    """ "Who went to Caracas for the talks?": what Caracas used the talks for (which names no
    one who went) does not join the delegation's sentence."""
    pressed = "Caracas used the talks to press for US sanctions relief and more."
    evidence = [ev(1, DELEGATION, 0.3), ev(2, pressed, 0.29)]
    assert [e.n for e in pick("Who went to Caracas for the talks?", evidence)] == [1]
    assert [e.n for e in pick("Who met in Caracas for the talks?", evidence)] == [1, 2]


def test_a_heading_is_no_evidence_sentence() -> None:
    heading = "Venezuela's financial lifeline"
    assert is_heading(heading, "in recent days.\n\n", "\n\nThe meeting came as ...")
    assert is_heading(heading, "", "\nThe meeting came as ...")  # a chunk's first line
    # A sentence ends as one, or runs on in its paragraph; a long line is no heading.
    assert not is_heading("The talks ended.", "\n", "\n")
    assert not is_heading(heading, "Caracas used the talks. ", " It said so.")
    assert not is_heading(" ".join(["word"] * 13), "\n", "\n")
