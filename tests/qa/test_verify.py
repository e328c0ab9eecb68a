"""The verifier of meaning: right paraphrases are kept as written, and each hard check stops
what no paraphrase can excuse. Real embeddings (the packaged MiniLM)."""

from __future__ import annotations

import pytest

from qa.checks import agent_bindings, clauses
from qa.evidence import Evidence
from qa.lexicon import (
    antonym_swaps,
    hedged,
    modal_hedged,
    names,
    negated,
    strengtheners,
)
from qa.offices import titles
from qa.quantities import numbers
from qa.verify import Verifier, copies_label

SWIFT = (
    "As a concession, the US officials were willing to consider temporarily allowing Venezuela "
    "to use the SWIFT system, which facilitates financial transactions between banks worldwide, "
    "to move money to other accounts, one of the sources said."
)
DELEGATION = (
    "A US delegation led by Juan Gonzalez –– the top White House Latin America adviser –– and "
    "Ambassador James Story held talks at the Miraflores palace with socialist President "
    "Nicolas Maduro and his Vice President, Delcy Rodriguez, the sources said on Sunday."
)
PSB = (
    "Venezuela has asked Russia in recent days to unfreeze oil proceeds at several Russian banks "
    "blacklisted by the United States, especially the Promsvyazbank (PSB), where Venezuela's "
    "state-run oil company PDVSA and the Defence Ministry have bank accounts, two separate "
    "sources said."
)
FIRST = (
    "US and Venezuelan officials have discussed the possibility of easing oil sanctions on "
    "Venezuela but made scant progress toward a deal in their first high-level bilateral talks "
    "in years, five sources familiar with the matter said, as Washington seeks to separate "
    "Russia from one of its key allies."
)
BOOST = (
    "The US willingness to re-engage after years of shunning such contact appeared to be a "
    "boost for Maduro."
)
RELIEF = "Caracas used the talks to press for US sanctions relief."
EXPORTS = "Venezuela could boost crude exports if Washington eases sanctions."
COMMENT = (
    "The White House, the US State Department and Venezuela's Information ministry declined "
    "comment."
)
GAUGE = (
    "US officials saw the meeting as a chance to gauge whether Venezuela, one of Russia's "
    "closest Latin American allies, is prepared to distance itself from President Vladimir "
    "Putin over his invasion of Ukraine, a source in Washington said."
)
SUPPLIES = (
    "Washington also wants to identify alternative oil supplies to fill the gap if it seeks a "
    "boycott of Moscow's energy industry."
)
ALL = [SWIFT, DELEGATION, PSB, FIRST, BOOST, RELIEF, EXPORTS, COMMENT, GAUGE, SUPPLIES]


def ev(n: int, text: str) -> Evidence:
    return Evidence(n, text, "d1", "T", "2022-03-07", "s", "c1", n * 1000, n * 1000 + len(text),
                    None, 1.0, 1.0, 1.0)  # fmt: skip


@pytest.fixture(scope="module")
def verifier(embeddings) -> Verifier:  # type: ignore[no-untyped-def]
    return Verifier(embeddings.embed_cached)


def check(verifier: Verifier, answer: str, question: str) -> tuple[str, list[str]]:
    claims, cuts = verifier.verify(answer, [ev(i, t) for i, t in enumerate(ALL, 1)], question)
    return " ".join(c.text for c in claims), [c.check for c in cuts]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What was Washington offering Caracas?",
         "Washington was willing to consider letting Venezuela use the SWIFT system for a time."),
        ("What did Venezuela want?", "Caracas pressed for relief from US sanctions."),
        ("Who headed the American team?",
         "Juan Gonzalez, the White House's top adviser on Latin America, headed the US team."),
        ("Where does PDVSA keep accounts in Russia?", "PDVSA has accounts at Promsvyazbank."),
        ("What does the outreach mean for Maduro?",
         "The US re-engagement looked like a boost for Maduro."),
        ("Who headed the American team?",
         "The American team was led by Juan Gonzalez and Ambassador James Story."),
        ("How did Venezuela's government respond to requests for comment?",
         "The White House and Venezuela's Information ministry declined comment."),
        # Who acts, in the passive and in a mutual act, as the evidence has it.
        ("What might Venezuela get?",
         "Venezuela could be temporarily allowed to use the SWIFT system."),
        ("Who did Maduro meet?", "Maduro held talks with a US delegation."),
    ],
)  # fmt: skip
def test_right_paraphrases_are_kept_as_written(
    verifier: Verifier, question: str, answer: str
) -> None:
    kept, cuts = check(verifier, answer, question)
    assert kept == answer and cuts == []


@pytest.mark.parametrize(
    ("answer", "check_", "question"),
    [
        ("The US officials were not willing to allow Venezuela to use the SWIFT system.",
         "negation", "What concessions did the US offer?"),
        ("Venezuela was never allowed to use the SWIFT system.", "negation",
         "What concessions did the US offer?"),
        ("The US offered to allow Venezuela to use the SWIFT system.", "hedge",
         "What concessions did the US offer?"),
        ("The US offered to allow the use of SWIFT to move money to other accounts.", "hedge",
         "What concessions did the US offer?"),
        ("The US would permanently allow Venezuela to use the SWIFT system if it wished.",
         "strengthened", "What concessions did the US offer?"),
        ("PDVSA and the Defence Ministry have bank accounts at the Promsvyazbank, 40 "
         "separate sources said.", "number", "Where does PDVSA keep accounts in Russia?"),
        ("A US delegation led by Juan Gonzalez and Mike Pompeo held talks at the Miraflores "
         "palace.", "name", "Who led the US delegation?"),
        ("The US willingness to re-engage appeared to be a blow for Maduro.", "antonym",
         "What does the outreach mean for Maduro?"),
        ("A US delegation led by Ambassador James Story and Vice President Delcy Rodriguez "
         "held talks with President Nicolas Maduro.", "role", "Who led the US delegation?"),
        # What a real SmolLM2 wrote behind CITEQA_MODE=openai (issue 8 re-run):
        ("The American team was led by the US-backed Venezuelan President Nicolas Maduro and "
         "his Vice President, Delcy Rodriguez.", "role", "Who headed the American team?"),
        # (stopped as the question's offer, which its sentence does not make; "could ... if"
        # is the hedge it also drops)
        ("Washington offered Caracas to boost crude exports if Venezuela eased sanctions.",
         "support", "What was Washington offering Caracas?"),
        # SmolLM2 in local mode: who asked whom, swapped ("Venezuela has asked Russia ...",
        # its evidence sentence, opens with the name).
        ("Russia has asked Venezuela to unfreeze oil proceeds at Promsvyazbank.", "role",
         "What did Russia do in 2019?"),
        # What a real SmolLM2 wrote in local mode: close to its sentence ("Caracas used the
        # talks to press for US sanctions relief") in words, but the offer is the question's.
        ("Washington offering Caracas to press for sanctions relief.", "support",
         "What was Washington offering Caracas?"),
        # SmolLM2 in openai mode: the sentence's speaker is "a source in Washington".
        ("The Kremlin said that the meeting was a chance to gauge whether Venezuela.", "role",
         "What did the Kremlin say about the meeting?"),
        # SmolLM2 in local mode (fresh11): Putin is named in that sentence, but only "a
        # source in Washington" speaks in it.
        ("The source says that Putin said that the meeting was a chance to gauge whether "
         "Venezuela.", "role", "What did Putin say about the meeting?"),
        ("Venezuela was willing to consider temporarily allowing the US to use the SWIFT "
         "system.", "role", "What concessions did the US offer?"),
        ("The next round of talks will take place on Sunday.", "support",
         "When will the next round of talks take place?"),
        ("The government of Venezuela responded to requests for comment by saying that the "
         'talks were "maximalist" and requested a compromise.', "support",
         "How did Venezuela's government respond to requests for comment?"),
    ],
)  # fmt: skip
def test_each_hard_check_stops_its_wrong_claim(
    verifier: Verifier, answer: str, check_: str, question: str
) -> None:
    kept, cuts = check(verifier, answer, question)
    assert check_ in cuts, (kept, cuts)
    assert kept != answer


def test_a_name_that_changes_sides_of_an_act_is_stopped(verifier: Verifier) -> None:
    """What a real SmolLM2 wrote in local mode for "What did they propose to Caracas?", on
    two sentences it cited: the US officials consider allowing Venezuela; the claim has
    Venezuela's government consider."""
    maximalist = (
        "Both sides used Saturday's meeting in Caracas to present what one of the sources "
        'described as "maximalist" demands, reflecting longtime tensions between the Western '
        "Hemisphere's main power and one of its biggest ideological foes."
    )
    answer = (
        'The sources suggested that Venezuela\'s government should consider a "maximalist" '
        "demand to allow the use of the SWIFT system to move money to other accounts."
    )
    evidence = [ev(1, SWIFT), ev(2, maximalist)]
    claims, cuts = verifier.verify(answer, evidence, "What did they propose to Caracas?")
    assert claims == [] and [c.check for c in cuts] == ["role"]


def test_copied_prompt_labels_and_reporting_words_claim_nothing(verifier: Verifier) -> None:
    """What a real SmolLM2 wrote in openai mode for a follow-up: the prompt's evidence labels
    over and over, around "The source is:" and "The source says:". A sentence that copies
    a label is cut ("us venezuela talks [1]", the label's title, was shown as verified),
    and who reported it is no claim."""
    title = "Reuters 2022-03-07 us venezuela talks"
    evidence = [
        Evidence(n, t, "d1", title, "2022-03-07", "s", "c1", n * 1000, n * 1000 + len(t),
                 None, 1.0, 1.0, 1.0)
        for n, t in enumerate([DELEGATION, RELIEF], 1)
    ]  # fmt: skip
    answer = (
        f"The source is: [4] ({title}, 2022-03-07)\n[5] ({title}, 2022-03-08) The source "
        f"says: [6] ({title}, 2022-03-14)"
    )
    assert copies_label(answer, evidence) and not copies_label(DELEGATION, evidence)
    claims, cuts = verifier.verify(answer, evidence, "Who led it?")
    assert claims == [] and "label" in [c.check for c in cuts]
    # A labelled copy of the right sentence is cut too: the fallback decides what to show.
    claims, cuts = verifier.verify(f"[1] ({title}, 2022-03-07) {DELEGATION}", evidence, "Who?")
    assert claims == [] and [c.check for c in cuts] == ["label"]


def test_a_hedge_reaches_the_clauses_that_continue_it(verifier: Verifier) -> None:
    """The SWIFT sentence copied whole is kept whole: its "to move money to other accounts"
    continues "willing to consider temporarily allowing ...". A clause with its own verb
    does not borrow the hedge."""
    kept, cuts = check(verifier, SWIFT, "Which system might Venezuela be allowed to use?")
    assert kept == SWIFT and cuts == []
    kept, cuts = check(
        verifier,
        "The US officials were willing to consider temporarily allowing Venezuela to use the "
        "SWIFT system, and they allowed Venezuela to move money to other accounts.",
        "Which system might Venezuela be allowed to use?",
    )
    assert "hedge" in cuts and "move money" not in kept


def test_an_invented_tail_is_cut_and_the_supported_opening_kept(verifier: Verifier) -> None:
    kept, cuts = check(
        verifier,
        "PDVSA has bank accounts at the Promsvyazbank, which plans to open a branch in Lima.",
        "Where does PDVSA keep accounts in Russia?",
    )
    assert kept == "PDVSA has bank accounts at the Promsvyazbank." and cuts


def test_what_stands_of_a_cut_claim_is_no_fragment(verifier: Verifier) -> None:
    """SmolLM2 wrote the GAUGE sentence with "its invasion ... but they do not provide any
    details about how this loan was made"; the hedge check cut it after "whether Venezuela",
    and "They also mention that the meeting was a chance for US officials to gauge whether
    Venezuela." reached the user. Nothing of it does now; the cut says why."""
    answer = (
        "They also mention that the meeting was a chance for US officials to gauge whether "
        "Venezuela, one of Russia's closest allies, is prepared to distance itself from "
        "President Vladimir Putin over its invasion of Ukraine, but they do not provide any "
        "details about how this loan was made."
    )
    kept, cuts = check(verifier, answer, "Did Venezuela ask Russia for anything?")
    assert kept == "" and cuts == ["fragment"]
    # A cut after a whole clause stands: "if" with its clause is no fragment.
    kept, cuts = check(
        verifier,
        "Venezuela could boost crude exports if Washington eases sanctions, and Lima would pay.",
        "Could Venezuela export more oil?",
    )
    assert kept == EXPORTS, (kept, cuts)
    assert cuts and "fragment" not in cuts


def test_the_sources_speak_they_do_not_act(verifier: Verifier) -> None:
    """SmolLM2 wrote "The sources have asked Russia to unfreeze oil proceeds at the PSB
    bank." for what Venezuela asked, two separate sources said: every word is in the PSB
    sentence, but the sources only report it. Cut; the sources reporting stays."""
    kept, cuts = check(
        verifier,
        "The sources have asked Russia to unfreeze oil proceeds at the PSB bank.",
        "What have they asked Russia to do?",
    )
    assert kept == "" and cuts == ["role"]
    kept, cuts = check(
        verifier,
        "The sources said Venezuela has asked Russia to unfreeze oil proceeds at the PSB bank.",
        "What have they asked Russia to do?",
    )
    assert "unfreeze oil proceeds" in kept and cuts == []


def test_a_yes_no_opening_is_the_answer_not_a_claim(verifier: Verifier) -> None:
    kept, _ = check(
        verifier,
        "Not really: the two sides made scant progress toward a deal.",
        "Was the meeting a success?",
    )
    assert kept == "Not really: the two sides made scant progress toward a deal."


def test_the_facts_the_checks_read() -> None:
    assert numbers("five sources, 1,500 tonnes, both sides, one of them") == {"5", "1500", "2"}
    assert {"juan gonzalez", "delcy rodriguez"} <= names(DELEGATION)
    assert names("Washington wants oil. Moscow's energy.") == {"us", "russia"}
    assert negated("did not attend") and negated("They refused to comment") and not negated(BOOST)
    assert hedged(SWIFT) and hedged("it looked like a boost") and not hedged(RELIEF)
    assert modal_hedged(EXPORTS) and not modal_hedged("Washington offered it if they asked")
    assert strengtheners("lift all sanctions at once") == {"all", "at once"}
    assert antonym_swaps("a blow to Maduro", BOOST) == [("blow", "boost")]
    assert agent_bindings(DELEGATION)["juan gonzalez"] == {"lead"}
    assert "delcy rodriguez" not in agent_bindings(DELEGATION)
    # An aside between dashes is not an agent; the name after it is.
    assert agent_bindings(DELEGATION)["ambassador james story"] == {"lead"}
    # A country before the name modifies it: the name is the agent.
    assert set(agent_bindings("It was led by the US-backed President Ivan Duque.")) == {
        "us-backed president ivan duque"
    }
    assert clauses("In 2019, a bank was blacklisted, forcing moves.") == [
        "In 2019, a bank was blacklisted, ",
        "forcing moves.",
    ]


def test_a_duration_does_not_stand_for_a_condition(verifier: Verifier) -> None:
    """SmolLM2 in openai mode, from what the chain showed it: the boycott is under an "if" in
    its only sentence; the claim's "temporary" is how long, not whether, so the "if" is
    dropped. The claim that keeps the "if" stays."""
    claim = (
        "The sources said that the US and Venezuela had agreed to allow a temporary boycott "
        "of Moscow's energy industry. Washington wants to identify alternative oil supplies "
        "to fill the gap if it seeks a boycott from Russia."
    )
    claims, cuts = verifier.verify(
        claim, [ev(n, text) for n, text in enumerate(ALL, 1)], "And what was it willing to give?"
    )
    assert [c.check for c in cuts] == ["hedge"]
    assert "temporary boycott" in cuts[0].text
    assert [c.text for c in claims] == [
        "Washington wants to identify alternative oil supplies to fill the gap if it seeks a "
        "boycott from Russia."
    ]


def test_a_claim_on_two_sentences_keeps_the_hedge_of_each(verifier: Verifier) -> None:
    """SmolLM2 in openai mode, from the two sentences it was shown: "allow" comes from the
    SWIFT sentence and drops its "willing to consider" (keeping "temporary" does not keep
    the hedge), the boycott from the other."""
    claim = (
        "The sources said that the US and Venezuela had agreed to allow a temporary boycott "
        "of Moscow's energy industry."
    )
    claims, cuts = verifier.verify(
        claim, [ev(1, SWIFT), ev(2, SUPPLIES)], "And what was it willing to give?"
    )
    assert claims == [] and [c.check for c in cuts] == ["hedge"]


def test_a_claim_restating_the_question_rests_on_what_it_asks_not_its_names(
    verifier: Verifier,
) -> None:
    """What SmolLM2 wrote in local mode for "What did Washington offer Venezuela?": its
    sentence holds both names, and free elections, but what Washington sought, not an offer."""
    sought = (
        "In the talks, Washington sought guarantees of free presidential elections, broad "
        "reforms of Venezuela's oil industry and the government's public condemnation of the "
        "Ukraine invasion, three people familiar with the matter said."
    )
    question = "What did Washington offer Venezuela?"
    evidence = [ev(1, sought), ev(2, SWIFT)]
    claims, cuts = verifier.verify(
        "Washington offered Venezuela a free presidential election.", evidence, question
    )
    assert not claims and [c.check for c in cuts] == ["support"], (claims, cuts)
    right = "Washington was willing to consider temporarily allowing Venezuela to use SWIFT."
    claims, cuts = verifier.verify(right, evidence, question)
    assert [c.text for c in claims] == [right] and not cuts, cuts


def test_a_name_moved_to_another_office_is_stopped(verifier: Verifier) -> None:
    """What a real SmolLM2 wrote in local mode for "Who is the US ambassador in the talks?":
    every word is in the delegation sentence, but it makes Gonzalez the ambassador; the
    evidence gives that office to James Story and Gonzalez another (adviser)."""
    evidence = [ev(1, DELEGATION), ev(2, RELIEF)]
    moved = "The US ambassador in the talks is the US Ambassador to Venezuela, Juan Gonzalez."
    claims, cuts = verifier.verify(moved, evidence, "Who is the US ambassador in the talks?")
    assert not any("Gonzalez" in c.text for c in claims), claims
    assert [c.check for c in cuts] == ["role"] and "james story" in cuts[0].detail, cuts
    kept, cuts = verifier.verify(
        "The US ambassador at the talks was James Story [1].", evidence, "Who was the ambassador?"
    )
    assert kept and not cuts
    adviser = "Juan Gonzalez, the top White House Latin America adviser, led the delegation [1]."
    kept, cuts = verifier.verify(adviser, evidence, "Who led the delegation?")
    assert kept and not cuts
    assert titles("... his Vice President, Delcy Rodriguez, and President Nicolas Maduro") == {
        "delcy rodriguez": {"vice president"},
        "nicolas maduro": {"president"},
    }
