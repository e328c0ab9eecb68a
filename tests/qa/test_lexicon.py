"""News prose's names for places: the plain form a question is also embedded in."""

from __future__ import annotations

import pytest

from qa.gate import names_missing
from qa.lexicon import first_name, names, plain_names, with_plain_names
from tests.qa.test_gate import ev


@pytest.mark.parametrize(
    ("question", "plain"),
    [
        ("What was Washington offering Caracas?", "What was US offering Venezuela?"),
        ("Who headed the American team?", "Who headed the US team?"),
        ("What did the United States demand?", "What did the US demand?"),
        ("Where is the U.S. embassy?", "Where is the US embassy?"),
        ("Washington said so. Moscow agreed.", "US said so. Russia agreed."),
        ("What did the Americans want in return?", "What did the US want in return?"),
        ("Did the Russians help Venezuelans?", "Did the Russia help Venezuela?"),
    ],
)
def test_capitals_and_demonyms_read_as_the_country(question: str, plain: str) -> None:
    assert plain_names(question) == plain


@pytest.mark.parametrize(
    "question",
    [
        "Who was George Washington?",  # a person
        "Who owns the Washington Post?",  # inside a longer name
        "Which Latin American countries export oil?",
        "what did washington state vote",  # lower case: not read as a name
        "What did the Tehrans say?",  # a plural is read only for a people
    ],
)
def test_names_that_merely_contain_an_alias_are_left_alone(question: str) -> None:
    assert plain_names(question) == question


def test_a_word_search_gets_the_plain_names_beside_the_question() -> None:
    assert with_plain_names("Who headed the American team?") == "Who headed the American team? US"
    assert with_plain_names("who led the delegation?") == "who led the delegation?"


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("In the talks, Washington sought guarantees.", "us"),
        ("Caracas used the talks to press for relief.", "venezuela"),
        ("Venezuela has asked Russia to unfreeze proceeds.", "venezuela"),
        ("A US delegation led by Juan Gonzalez held talks.", "us"),
        ("As a concession, the US officials were willing to consider it.", "us"),
        ("The meeting came as Venezuela's lifeline is fraying.", None),
        ("Both sides used Saturday's meeting in Caracas.", None),
    ],
)
def test_the_name_a_sentence_s_clause_opens_with(sentence: str, name: str | None) -> None:
    assert first_name(sentence) == name


def test_a_possessive_ends_a_name() -> None:
    """ "What is Venezuela's GDP?" names Venezuela and GDP: as one name, "venezuela's gdp"
    passed the gate's check for names the documents never mention (it contains "venezuela"),
    and the question was answered with a sentence about a bank."""
    assert names("What is Venezuela's GDP?", aliases=False) == {"venezuela", "gdp"}
    assert names("What is James Story's position?", aliases=False) == {"james story"}
    assert names("Moscow's energy industry") == {"russia"}
    evidence = [ev(1, "In 2019 the Evrofinance Mosnarbank, used for trade with Venezuela, "
                      "was blacklisted.")]  # fmt: skip
    assert names_missing("What is Venezuela's GDP?", evidence) == ["gdp"]
