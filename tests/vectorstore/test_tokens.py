"""Tokens: Snowball stems, a real stop list, negations kept visible for verification."""

from __future__ import annotations

from vectorstore.tokens import NEGATIONS, STOPWORDS, stem, terms, words


def test_snowball_keeps_apart_what_the_old_stripper_merged() -> None:
    assert stem("station") != stem("state")
    assert stem("offered") == stem("offers") == stem("offer")
    assert stem("negotiations") == stem("negotiating")
    assert stem("sought") == stem("seek")


def test_terms_drop_stop_words_and_possessives() -> None:
    assert terms("The US delegation’s offer was not accepted") == ["us", "deleg", "offer", "accept"]
    assert words("Don’t") == ["don't"]


def test_negations_are_stop_words_for_retrieval_but_exported() -> None:
    assert {"not", "no", "nor"} <= STOPWORDS
    assert {"not", "no", "nor", "never", "didn't"} <= NEGATIONS
