"""Scoring's own text matching: whole words and numbers, same sentences, claims and markers."""

from __future__ import annotations

from qa.evaluation.matching import (
    check_claims,
    claims,
    contains_expected,
    contains_phrase,
    key_terms,
    same_sentence,
)


def test_ten_does_not_match_2010() -> None:
    assert not contains_phrase("Talks resumed in 2010.", "10")
    assert contains_phrase("Talks resumed on the 10th, after 10 years.", "10")
    assert not contains_phrase("a 3.5% rise", "3")
    assert not contains_phrase("a 3.5% rise", "5")
    assert contains_phrase("a 3.5% rise", "3.5")
    assert not contains_phrase("1,000 barrels", "000")
    assert contains_phrase("It ends at 10.", "10")  # a full stop is not a decimal point


def test_phrases_match_whole_words_ignoring_case_and_spacing() -> None:
    assert contains_phrase("Led by JUAN  Gonzalez.", "juan gonzalez")
    assert not contains_phrase("elections", "election")
    assert not contains_phrase("the Swiftly moving", "SWIFT")
    assert contains_phrase("the SWIFT-based system", "SWIFT")
    assert contains_phrase("Venezuela’s oil", "Venezuela's oil")  # typographic apostrophe
    assert not contains_phrase("anything", "  ")


def test_expected_is_all_of_and_any_is_one_of() -> None:
    text = "Washington sought free elections and oil industry reforms."
    assert contains_expected(text, ["elections", "oil industry"]) is True
    assert contains_expected(text, ["elections", "Ukraine"]) is False
    assert contains_expected(text, [], ["Ukraine", "oil industry"]) is True
    assert contains_expected(text, [], ["Ukraine", "condemnation"]) is False
    assert contains_expected(text, ["elections"], ["Ukraine"]) is False  # both must hold
    assert contains_expected(text, [], []) is None


def test_same_sentence_normalises_whitespace_only() -> None:
    assert same_sentence("Caracas used the talks.\n", "Caracas  used the\ttalks.")
    assert not same_sentence("Caracas used the talks", "Caracas used the talks.")
    assert not same_sentence("used the talks.", "Caracas used the talks.")
    assert not same_sentence("", "")


def test_claims_carry_their_markers() -> None:
    text = "Juan Gonzalez led it [1]. He met Maduro [2][3]. U.S. officials met in 2019 [1, 3]."
    assert claims(text) == [
        ("Juan Gonzalez led it.", (1,)),
        ("He met Maduro.", (2, 3)),
        ("U.S. officials met in 2019.", (1, 3)),
    ]
    # a marker after the full stop belongs to the sentence before it
    assert claims("Juan Gonzalez led it. [1] He met Maduro. [2]") == [
        ("Juan Gonzalez led it.", (1,)),
        ("He met Maduro.", (2,)),
    ]
    assert claims("No marker at all") == [("No marker at all", ())]
    # an abbreviation's full stop does not end a sentence (ClapNQ: "The Reverend Mr. Black")
    assert claims("The Reverend Mr. Black is a 1963 song [1]. Dr. No met him [2].") == [
        ("The Reverend Mr. Black is a 1963 song.", (1,)),
        ("Dr. No met him.", (2,)),
    ]
    assert claims("") == []


def test_key_terms_keep_negations_modals_and_whole_numbers() -> None:
    terms = key_terms("The officials were not willing to pay $1,500 in 2019.")
    assert "not" in terms and "1500" in terms and "2019" in terms
    assert "the" not in terms and "were" not in terms
    assert key_terms("offered offers offering") == ["offer"]


def test_check_claims_names_what_is_missing() -> None:
    quotes = {1: "In 2019 the Evrofinance Mosnarbank was blacklisted."}
    [check] = check_claims("Evrofinance was blacklisted in 2020 [1].", quotes)
    assert check.missing == ("2020",) and not check.supported
    [check] = check_claims("Evrofinance was blacklisted in 2019 [1].", quotes)
    assert check.supported and check.markers == (1,)
    assert check_claims("Yes. [1]", quotes) == []  # nothing claimed
