"""The gate's hard rules and the follow-up rules, on hand-made evidence (no model)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.answer_kind import Kind, holds, wanted
from qa.evidence import Evidence
from qa.followup import FollowUp, is_follow_up, quotes_of, resolve
from qa.gate import (
    CalibratedGate,
    answers_kind,
    answers_names,
    kind_missing,
    names_missing,
    roles_missing,
)
from qa.leads import (
    actor_fits,
    lead_with_actor,
    lead_with_introduction,
    lead_with_kind,
    lead_with_participants,
    reach,
    widen,
    with_actor,
)
from qa.offices import head_missing
from qa.types import Turn
from qa.verify import Claim

DELEGATION = (
    "A US delegation led by Juan Gonzalez and Ambassador James Story held talks at the "
    "Miraflores palace with socialist President Nicolas Maduro, the sources said on Sunday."
)
EXPORTS = "Venezuela could boost crude exports if Washington eases sanctions."
ADVISER = "Juan Gonzalez, the top White House Latin America adviser, led the delegation."
SECOND_ROUND = "A second round is planned for April, the ministry said."


def ev(n: int, text: str, score: float = 0.9) -> Evidence:
    signals = {"dense": 0.6, "max_dense": 0.6, "agree": 1.0, "dense_z": 0.3, "lexical_z": 0.3}
    return Evidence(n, text, "d", "T", None, "s", "c", n, n + len(text), None, 0.5, 0.5, score,
                    signals=signals)  # fmt: skip


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much oil does Venezuela export today?", Kind.AMOUNT),
        ("How many people work at the mine?", Kind.COUNT),
        ("When did the talks start?", Kind.DATE),
        ("When will the next round of talks take place?", Kind.FUTURE_DATE),
        ("Who led the delegation?", Kind.NAME),
        ("What is the population of Caracas?", Kind.AMOUNT),
        ("What is SWIFT used for?", Kind.ANY),
    ],
)
def test_the_kind_of_answer_a_question_wants(question: str, kind: Kind) -> None:
    assert wanted(question) is kind


def test_evidence_without_the_wanted_kind_cannot_answer() -> None:
    assert not holds(Kind.AMOUNT, EXPORTS)
    assert holds(Kind.AMOUNT, "Venezuela exported 700,000 barrels a day.")
    assert holds(Kind.AMOUNT, "A walrus can weigh 1500 kilograms.")
    # The day the sources spoke is not the day of the talks, unless the question asks it.
    assert not holds(Kind.DATE, DELEGATION) and not holds(Kind.FUTURE_DATE, DELEGATION)
    assert holds(Kind.DATE, DELEGATION, "When did the sources say so?")
    assert holds(Kind.DATE, "The talks were held on Sunday, the sources said.")
    assert not holds(Kind.DATE, "The ministry declined comment on Monday.")
    assert holds(Kind.FUTURE_DATE, SECOND_ROUND)
    # A possessive names the day ("When did they meet?" is answered here); not any 's.
    assert holds(Kind.DATE, "Both sides used Saturday's meeting in Caracas.")
    assert not holds(Kind.DATE, "Both sides used the ministry's meeting room.")
    # A duration is a number of time units; a count beside a time word is not one.
    assert holds(Kind.AMOUNT, "The mine would run for about 40 years rather than more than 50.")
    assert holds(Kind.AMOUNT, "The talks lasted two more weeks.")
    unfreeze = (
        "Venezuela has asked Russia in recent days to unfreeze oil proceeds at several "
        "Russian banks, two separate sources said."
    )
    assert not holds(Kind.AMOUNT, unfreeze)
    assert holds(Kind.AMOUNT, "The average temperature during the day is 70 ° F ( 21 ° C ).")
    # An age is answered by when it began; a date answers no other amount.
    born = "Brigitte Macron ( born 13 April 1953 ) is the wife of Emmanuel Macron."
    assert holds(Kind.AMOUNT, born, "How old is the wife of the president of France?")
    assert holds(Kind.AMOUNT, "The tower was built in 1889.", "how old is the eiffel tower")
    assert not holds(Kind.AMOUNT, born, "How much does the president of France earn?")
    assert not holds(Kind.AMOUNT, EXPORTS, "How old is the oil industry in Venezuela?")
    assert kind_missing("How much oil does Venezuela export today?", [ev(1, EXPORTS)])
    refused = CalibratedGate(threshold=0.0).decide(
        "How much oil is exported?", [ev(1, EXPORTS)], None
    )
    assert refused.reason == "the question wants an amount; the evidence has none"
    assert kind_missing("When will the next round take place?", [ev(1, SECOND_ROUND)]) is None


def test_a_name_the_documents_never_mention_is_refused() -> None:
    evidence = [ev(1, DELEGATION), ev(2, EXPORTS)]
    assert names_missing("What did the Kremlin say about the meeting?", evidence) == ["kremlin"]
    assert names_missing("Who won the 2022 FIFA World Cup?", evidence) == ["fifa world cup"]
    assert names_missing("What was Washington offering Venezuela?", evidence) == []
    assert names_missing("Who headed the American team?", evidence) == [], "demonym = country"
    assert names_missing("Where did she meet the Americans?", evidence) == [], "in the plural"
    # The country by its other names ("United States", "U.S.") is the US of the evidence.
    assert names_missing("What did the United States demand?", evidence) == []
    assert names_missing("What did the U.S. offer Venezuela?", evidence) == []
    assert names_missing("What did the United Kingdom demand?", evidence) == ["united kingdom"]
    gate = CalibratedGate(threshold=0.0)
    decision = gate.decide("What did the Kremlin say?", evidence, None)
    assert not decision.answer and "kremlin" in decision.reason


def test_an_office_the_documents_never_name_is_refused() -> None:
    """ "Who is Venezuela's oil minister?": the evidence names people, none of them a
    minister; "vice president" and "adviser" are named, so those questions pass the rule. A
    vice president is not a president: evidence naming only the president answers no
    question for the vice president."""
    evidence = [ev(1, DELEGATION), ev(2, EXPORTS)]
    assert roles_missing("Who is Venezuela's oil minister?", evidence) == ["minister"]
    assert roles_missing("Who chairs the bank?", evidence) == ["chair"]
    assert roles_missing("Who is the spokeswoman of the ministry?", evidence) == ["spokeswoman"]
    assert roles_missing("Who is Venezuela's vice president?", evidence) == ["vice president"]
    deputy = ev(3, "Maduro and his Vice President, Delcy Rodriguez, met the delegation.")
    assert roles_missing("Who is Venezuela's vice president?", [deputy]) == []
    assert roles_missing("Who is the CEO?", [ev(4, "Chief executive Ana Ruiz resigned.")]) == []
    assert roles_missing("Who is the top White House adviser?", [ev(1, ADVISER)]) == []
    assert roles_missing("Who is the top White House advisor?", [ev(1, ADVISER)]) == []
    assert roles_missing("Who headed the American team?", evidence) == [], "a verb, no office"
    decision = CalibratedGate(threshold=0.0).decide("Who is the oil minister?", evidence, None)
    assert not decision.answer and "minister" in decision.reason


def test_who_leads_something_named_needs_a_sentence_naming_its_head() -> None:
    """ "Who runs PDVSA?": the sentences naming PDVSA name no one running it ("state-run" is
    no head), so the gate refuses; a delegation "led by" someone, or a country's president,
    answers."""
    psb = ("Venezuela's state-run oil company PDVSA and the Defence Ministry have bank "
           "accounts at Promsvyazbank.")  # fmt: skip
    evidence = [ev(1, psb), ev(2, DELEGATION), ev(3, EXPORTS)]
    gate = CalibratedGate(threshold=0.0)
    refused = (
        "Who runs PDVSA?",
        "Who is in charge of Venezuela's oil company?",
        "Who heads the Defence Ministry?",
        "Who is the head of Promsvyazbank?",
    )
    for question in refused:
        decision = gate.decide(question, evidence, None)
        assert not decision.answer, question
        assert decision.reason.startswith("the documents do not say who"), decision.reason
    for question in ("Who led the US delegation?", "Who headed the American team?",
                     "Who leads Venezuela?", "Who runs Venezuela's government?",
                     "Who led the talks?", "What does PDVSA run?"):  # fmt: skip
        assert head_missing(question, [e.text for e in evidence]) is None, question
    chief = "PDVSA, headed by Pedro Tellechea, moved its accounts."
    assert head_missing("Who runs PDVSA?", [psb, chief]) is None
    minister = "Oil Minister Tareck El Aissami said PDVSA would move its accounts."
    assert head_missing("Who runs PDVSA?", [minister]) is None
    # The thing led is named before what places it: talks, not "now" or "March 2022".
    named = "Norvane named Deputy Finance Minister Alma Ruskova to lead the talks."
    meeting = "The meeting in Kessbridge was led by Deputy Finance Minister Alma Ruskova."
    for question in ("Who leads the government's talks with Halvorsen now?",
                     "Who led the government's talks with Halvorsen in March 2022?"):  # fmt: skip
        assert head_missing(question, [named]) is None, question
        assert head_missing(question, [meeting]) is None, question
        assert head_missing(question, [psb]) is not None, question


def test_a_models_claims_must_rest_on_something_the_question_names() -> None:
    swift = "As a concession, the US officials were willing to allow Venezuela to use SWIFT."
    evrofinance = "In 2019 the Evrofinance Mosnarbank was blacklisted."
    claim = Claim("The US was willing to allow SWIFT.", [ev(1, swift)], 0.9)
    assert not answers_names("What happened to Evrofinance?", [claim])
    assert answers_names("What happened to Evrofinance?", [Claim("It was blacklisted.",
                         [ev(2, evrofinance)], 0.9)])  # fmt: skip
    # One name is enough, a capital stands for its country, and no name asks for none.
    assert answers_names("Why is the US interested in Venezuelan oil?", [claim])
    assert answers_names("What did Caracas want?", [claim])
    assert answers_names("What was offered?", [claim])


def test_follow_ups_are_recognised_and_carry_what_was_cited() -> None:
    assert is_follow_up("What did they offer?") and is_follow_up("At which bank especially?")
    assert is_follow_up("And what was it willing to give?")
    assert not is_follow_up("Who led the US delegation to Caracas?")
    history = [
        Turn(role="user", content="Who led the US delegation?"),
        Turn(role="assistant", content="Juan Gonzalez [1].", quotes=[DELEGATION]),
    ]
    follow_up = resolve("Who was his deputy in the delegation?", history)
    assert follow_up is not None and follow_up.quotes == [DELEGATION]
    assert "Who led the US delegation?" in follow_up.standalone
    assert resolve("Who led the US delegation to Caracas?", history) is None
    echoed = Turn(role="assistant", content='Text [1].\nSources:\n[1] T, 2022: "Quoted one."')
    assert quotes_of(echoed) == ["Quoted one."]


def test_a_follow_up_on_the_same_sentence_must_be_anchored_in_it() -> None:
    follow_up = FollowUp("Who was his deputy in the delegation?", "Who led the US delegation?",
                         [DELEGATION])  # fmt: skip
    assert not follow_up.anchored(DELEGATION) and follow_up.anchored(EXPORTS)
    assert not follow_up.addressed([DELEGATION, EXPORTS])
    moved = follow_up.rerank([ev(1, DELEGATION), ev(2, EXPORTS)])
    assert [e.text for e in moved] == [EXPORTS, DELEGATION] and [e.n for e in moved] == [1, 2]
    talks = FollowUp("Who did she hold talks with?", "Who is his vice president?", [DELEGATION])
    assert talks.anchored(DELEGATION) and talks.addressed([DELEGATION])


def test_an_answer_that_says_only_what_was_said_repeats_it() -> None:
    """A follow-up "Who was his deputy?" answered with the leader already named, "What does
    that system do?" answered with the sentence already read minus what the system does: no
    answer."""
    history = [
        Turn(role="user", content="Who led the US delegation?"),
        Turn(role="assistant", content=f"{DELEGATION} [1]", quotes=[DELEGATION]),
    ]
    follow_up = resolve("Who was his deputy in the delegation?", history)
    assert follow_up is not None and follow_up.said == DELEGATION
    assert follow_up.repeats("The sources said that the US delegation was led by Juan Gonzalez.")
    assert not follow_up.repeats("His deputy was Carlos Ruiz, a State Department official.")
    # Said briefly before, the same sentence's other facts are new.
    brief = FollowUp("Who did she hold talks with?", "Who is Venezuela's vice president?",
                     [DELEGATION], said="Delcy Rodriguez [1].")  # fmt: skip
    assert not brief.repeats("She held talks with a US delegation led by Juan Gonzalez.")
    assert not FollowUp("What did they offer?", "Who led it?", [DELEGATION]).repeats(DELEGATION)


def test_a_sentence_with_what_the_conversation_has_not_said_comes_first() -> None:
    """ "What did they discuss?" after the delegation's sentence: the sentence that says what
    was discussed leads, not a better-scored neighbour of the previous answer; a follow-up
    whose words the conversation already holds keeps the order ("Who did she hold talks
    with?": its "talks" are in the cited sentence)."""
    talks = "In the talks, Washington sought guarantees of free presidential elections."
    discussed = (
        "US and Venezuelan officials have discussed the possibility of easing oil sanctions."
    )
    follow_up = FollowUp("What did they discuss?", "Who led the US delegation?", [DELEGATION])
    assert follow_up.unsaid_terms() == ["discuss"]
    ordered = follow_up.rerank([ev(1, DELEGATION), ev(2, talks), ev(3, discussed)])
    assert [e.text for e in ordered] == [discussed, talks, DELEGATION]
    assert [e.n for e in ordered] == [1, 2, 3]
    held = FollowUp("Who did she hold talks with?", "Who is his vice president?", [DELEGATION])
    ordered = held.rerank([ev(1, DELEGATION), ev(2, EXPORTS)])
    assert [e.text for e in ordered] == [DELEGATION, EXPORTS]


def test_a_follow_ups_kind_may_be_in_any_sentence_holding_what_it_newly_asks() -> None:
    """ "What did they discuss at the meeting?" after the delegation's sentence: three
    sentences hold "meeting" and lead the evidence, then the delegation's "talks" (a news
    synonym); the third says Saturday. A follow-up asking when is not refused for want of a
    date; a question alone still looks at two sentences."""
    saw = "US officials saw the meeting as a chance to gauge Venezuela's stance."
    came = "The meeting came as Venezuela's financial lifeline to Russia is fraying."
    saturday = "Both sides used Saturday's meeting in Caracas to present maximalist demands."
    follow_up = FollowUp("What did they discuss at the meeting?", "Who led the US delegation?",
                         [DELEGATION])  # fmt: skip
    evidence = follow_up.rerank([ev(1, DELEGATION), ev(2, saw), ev(3, came), ev(4, saturday)])
    assert follow_up.leading(evidence) == 4  # the delegation's "talks" stand for both
    assert [e.text for e in evidence] == [saw, came, saturday, DELEGATION]
    gate = CalibratedGate(threshold=0.0)
    assert not gate.decide("When did the officials meet?", evidence, None).answer
    # A follow-up asking for a date: a sentence about the meeting that holds one leads,
    # however it scored ("When did the talks happen?": "happen" asks nothing new).
    for question in ("When did they meet?", "When did the talks happen?"):
        when = FollowUp(question, "Who led the US delegation?", [DELEGATION])
        evidence = when.rerank([ev(1, DELEGATION), ev(2, saw), ev(3, came), ev(4, saturday)])
        assert evidence[0].text == saturday, question
        assert gate.decide(question, evidence, when).answer


def test_a_follow_up_for_one_fact_may_find_it_in_the_sentence_already_cited() -> None:
    """The sentence the previous answer cited often holds the next fact asked for: "Who did
    they meet?" (its "talks" are the meeting), "Where did she meet the Americans?" (the US
    delegation), "Who else has accounts there?" ("else" asks nothing new). A follow-up that
    asks what was said in other words ("What did they discuss?") still wants a new one."""
    exports = ev(2, EXPORTS)
    for question, previous in [
        ("Who did they meet?", "Who led the US delegation to Caracas?"),
        ("Where did she meet the Americans?", "Who is Delcy Rodriguez?"),
        ("Who else held talks there?", "Who led the talks at the palace?"),
    ]:
        follow_up = FollowUp(question, previous, [DELEGATION])
        assert follow_up.anchored(DELEGATION), question
        assert follow_up.unsaid_terms() == [], question
        assert follow_up.rerank([ev(1, DELEGATION), exports])[0].text == DELEGATION, question
    discuss = FollowUp("What did they discuss?", "Who led the US delegation?", [DELEGATION])
    assert discuss.unsaid_terms() == ["discuss"]
    # Asked for a date, the sentence cited before is no answer: its day is the report's.
    when = FollowUp("When did they meet?", "Who led the US delegation?", [DELEGATION])
    assert kind_missing("When did they meet?", when.rerank([ev(1, DELEGATION)])) is Kind.DATE


def test_a_follow_up_in_other_words_than_the_article_finds_the_sentence() -> None:
    """ "What did they offer?" after the delegation question: no sentence says "offer"; the
    one that says "As a concession" (a news synonym) is what it asks for. It leads the
    evidence, and the follow-up counts as addressed; a word with no synonym there does not."""
    swift = (
        "As a concession, the US officials were willing to consider temporarily allowing "
        "Venezuela to use the SWIFT system, one of the sources said."
    )
    demands = "Both sides used Saturday's meeting in Caracas to present maximalist demands."
    follow_up = FollowUp("What did they offer?", "Who led the US delegation?", [DELEGATION])
    ordered = follow_up.rerank([ev(1, DELEGATION), ev(2, demands), ev(3, swift)])
    assert [e.text for e in ordered] == [swift, demands, DELEGATION]
    assert follow_up.addressed([swift]) and not follow_up.addressed([demands])
    deputy = FollowUp("Who was his deputy?", "Who led the US delegation?", [DELEGATION])
    assert not deputy.addressed([DELEGATION, swift, demands])
    # The gate weighs the best-scored sentence, not the one the follow-up moved first.
    gate = CalibratedGate(threshold=0.5)
    strong, weak = ev(1, DELEGATION, 0.9), ev(2, swift, 0.1)
    weak.signals = {k: 0.0 for k in weak.signals}
    assert gate.decide("What did they offer?", [weak, strong], follow_up).answer


def test_a_follow_up_for_one_fact_reaches_past_the_sentences_shown_for_it() -> None:
    """Three turns about the delegation, then "When did the talks happen?": six sentences
    about the talks outrank "Saturday's meeting", the one that says when. It takes the last
    place of the six (and leads after reranking); a follow-up not asking for a kind, or one
    whose kind is already shown, keeps the six best."""
    saturday = "Both sides used Saturday's meeting in Caracas to present maximalist demands."
    rounds = ["one", "two", "three", "four", "five"]
    talks = [ev(n, f"The talks in round {w} covered sanctions.") for n, w in enumerate(rounds, 2)]
    ranked = [ev(1, DELEGATION), *talks, ev(7, EXPORTS), ev(8, saturday)]
    when = FollowUp("When did the talks happen?", "Where did they meet the Americans?",
                    [DELEGATION])  # fmt: skip
    widened = when.widen(ranked, 6)
    assert len(widened) == 6 and widened[-1].text == saturday
    assert when.rerank(widened)[0].text == saturday
    gate = CalibratedGate(threshold=0.0)
    assert not gate.decide(when.question, when.rerank(ranked[:6]), when).answer
    assert gate.decide(when.question, when.rerank(widened), when).answer
    what = FollowUp("What did they say in the talks?", "Who led them?", [DELEGATION])
    assert what.widen(ranked, 6) == ranked[:6]
    shown = [ev(1, saturday), *ranked[1:]]
    assert when.widen(shown, 6) == shown[:6]


def test_a_question_for_a_date_or_number_leads_with_a_sentence_holding_one() -> None:
    """ "When did the meeting happen?": two sentences about the meeting outscore the one
    that says Saturday; it leads the evidence, so the gate (which looks at two sentences)
    finds the date. A question for a name, or any other, keeps the relevance order."""
    saw = "US officials saw the meeting as a chance to gauge Venezuela's stance."
    came = "The meeting came as Venezuela's financial lifeline to Russia is fraying."
    saturday = "Both sides used Saturday's meeting in Caracas to present maximalist demands."
    gate = CalibratedGate(threshold=0.0)
    question = "When did the meeting happen?"
    assert not gate.decide(question, [ev(1, came), ev(2, saw), ev(3, saturday)], None).answer
    led = lead_with_kind(question, [ev(1, came), ev(2, saw), ev(3, saturday)])
    assert [e.text for e in led] == [saturday, came, saw] and [e.n for e in led] == [1, 2, 3]
    assert gate.decide(question, led, None).answer
    # A date about something else does not lead: "meeting" is what the question asks about.
    exports = "Venezuela's exports fell in 2019."
    unmoved = lead_with_kind(question, [ev(1, came), ev(2, exports)])
    assert [e.text for e in unmoved] == [came, exports]
    for other in ("Who attended the meeting?", "What happened at the meeting?"):
        kept = lead_with_kind(other, [ev(1, came), ev(2, saw), ev(3, saturday)])
        assert [e.text for e in kept] == [came, saw, saturday], other


def test_a_count_question_leads_with_a_sentence_counting_what_it_asks() -> None:
    """ "How many sources talked about the talks?": the sentence saying "five sources" leads,
    though "many" (a word asking for the count) is in no sentence."""
    pressed = "Caracas used the talks to press for US sanctions relief."
    both = "Washington used the talks to present maximalist demands."
    lede = "Officials made scant progress in their first talks in years, five sources said."
    question = "How many sources talked about the talks?"
    gate = CalibratedGate(threshold=0.0)
    ranked = [ev(1, pressed), ev(2, both), ev(3, lede)]
    assert not gate.decide(question, ranked, None).answer
    led = lead_with_kind(question, ranked)
    assert [e.text for e in led] == [lede, pressed, both]
    assert gate.decide(question, led, None).answer
    # The words asking for the kind go, the rest stay asked: no count of sources, no lead.
    assert lead_with_kind("How many banks were blacklisted?", ranked) == ranked
    when = lead_with_kind("In what year was the bank blacklisted?", [ev(1, pressed),
                          ev(2, "The bank was blacklisted in 2019.")])  # fmt: skip
    assert when[0].text == "The bank was blacklisted in 2019."


def test_a_question_who_took_part_leads_with_the_sentence_telling_who_took_part() -> None:
    """ "Who went to Caracas for the talks?" shares "Caracas" and "talks" with a sentence
    naming no one who went; the delegation's sentence leads."""
    pressed = "Caracas used the talks to press for US sanctions relief."
    saw = "US officials saw the meeting as a chance to distance Venezuela from President Putin."
    ranked = [ev(1, pressed), ev(2, saw), ev(3, DELEGATION)]
    asking = (
        "Who went to Caracas for the talks?",
        "Who represented Venezuela?",
        "Who travelled to Venezuela for the meeting?",
        "Who was at the meeting?",
        "Who did they meet?",
        "Whom did the US delegation hold talks with?",
    )
    for question in asking:
        led = lead_with_participants(question, list(ranked))
        assert [e.text for e in led] == [DELEGATION, pressed, saw], question
        assert [e.n for e in led] == [1, 2, 3]
    for question in ("Who blacklisted the banks?", "Who was Juan Gonzalez?", "What happened?"):
        assert lead_with_participants(question, list(ranked)) == ranked, question


def test_who_took_part_reaches_further_for_the_sentence_telling_it() -> None:
    """ "Who went to Caracas for the US?": six sentences about Caracas and the talks rank
    above the delegation's; it takes the last of the six places."""
    ranked = [ev(i, f"Caracas used the talks for aim number {i}.") for i in range(1, 13)]
    ranked[9] = ev(10, DELEGATION)
    question = "Who went to Caracas for the US?"
    assert reach(question, 6) == 12 and reach("What did Caracas want?", 6) == 6
    kept = widen(question, ranked, 6)
    assert [e.text for e in kept] == [e.text for e in ranked[:5]] + [DELEGATION]
    assert [e.n for e in kept] == [1, 2, 3, 4, 5, 6]
    assert widen("What did Caracas want?", ranked, 6) == ranked[:6]


def test_they_in_a_follow_up_are_on_the_side_the_previous_question_named() -> None:
    """ "What did they propose to Caracas?" after "Who took part in the talks for
    Washington?" asks what the US proposed; after "Who sat on the Venezuelan side?", "What
    did they ask for?" asks what Venezuela asked for (not what the US delegation, subject of
    the sentence that answered, did). A name they met or went to is the other side."""
    asked = with_actor(
        "What did they propose to Caracas?", "Who took part in the talks for Washington?"
    )
    assert asked == "What did US propose to Caracas?"
    assert actor_fits(asked) is not None
    swift = "As a concession, the US officials were willing to allow SWIFT."
    led = lead_with_actor(
        asked, [ev(1, "Caracas used the talks to press for relief."), ev(2, swift)]
    )
    assert led[0].text == swift
    venezuelan = with_actor("What did they ask for?", "Who sat on the Venezuelan side?")
    assert venezuelan == "What did Venezuela ask for?"
    assert (
        with_actor("What did they want?", "Who went to Caracas for the US?") == "What did US want?"
    )
    for question, previous in (
        ("What did they want?", "Who met the Americans?"),  # the other side
        ("What did they want?", "Who sat across the table from the Americans?"),
        ("What did they want?", "Who hosted the talks?"),  # no side named
        ("What did it propose?", "Who took part for Washington?"),
        ("Who did they meet?", "Who took part for Washington?"),
    ):
        assert with_actor(question, previous) == question, (question, previous)


def test_a_question_what_an_actor_did_leads_with_what_that_actor_did() -> None:
    """ "What did Venezuela want?": the sentence about Washington's demands shares more
    words ("Venezuela's", "sought") but Caracas pressing for relief answers it."""
    sought = "In the talks, Washington sought guarantees of reforms of Venezuela's oil industry."
    pressed = "Caracas used the talks to press for US sanctions relief."
    asked = "Venezuela has asked Russia to unfreeze oil proceeds."
    ranked = [ev(1, sought), ev(2, EXPORTS), ev(3, pressed), ev(4, asked)]
    led = lead_with_actor("What did Venezuela want?", list(ranked))
    assert [e.text for e in led] == [pressed, asked, sought, EXPORTS]
    assert [e.n for e in led] == [1, 2, 3, 4]
    fits = actor_fits("What did the US want?")
    assert fits is not None and fits(sought) and not fits(pressed)
    # "the Americans" are the US; a sentence that opens with something else is not theirs.
    americans = actor_fits("What did the Americans want in return?")
    assert americans is not None and americans(sought)
    assert not americans("The meeting came as the US sought a boycott.")
    # The actor must do what is asked: Venezuela boosting exports is no want.
    venezuela = actor_fits("What did Venezuela want?")
    assert venezuela is not None and venezuela(pressed) and not venezuela(EXPORTS)
    for question in (
        "What is Venezuela?",
        "Who did Venezuela meet?",
        "what did venezuela want",
        "How did Venezuela's government respond?",  # about the government, not Venezuela
        "What did Venezuela want? Who would have to ease them?",  # a follow-up's two asks
    ):
        assert actor_fits(question) is None, question
        assert lead_with_actor(question, list(ranked)) == ranked


def test_a_question_what_a_name_is_leads_with_the_sentence_that_introduces_it() -> None:
    """ "What is PDVSA?": the later sentence with the bare name outscores the earlier one
    that says what PDVSA is; the first mention in the best mention's document leads."""
    later = "In 2019 Mosnarbank was blacklisted, forcing PDVSA to move its accounts."
    first = "Venezuela's state-run oil company PDVSA has accounts at Promsvyazbank."
    other_doc = "PDVSA shipped more crude in May."
    ranked = [
        replace(ev(1, later, 0.5), start=900),
        replace(ev(2, EXPORTS, 0.4), start=10),
        replace(ev(3, first, 0.3), start=400),
        replace(ev(4, other_doc, 0.2), doc_id="e", start=0),
    ]
    for question in ("What is PDVSA?", "what is the PDVSA", "Who was PDVSA?"):
        led = lead_with_introduction(question, list(ranked))
        assert [e.text for e in led] == [first, later, EXPORTS, other_doc], question
        assert [e.n for e in led] == [1, 2, 3, 4]
    # Any other question, a name met once, or a name not in the evidence: order kept.
    for question in ("What did PDVSA do?", "What is SWIFT?", "What is pdvsa?"):
        kept = lead_with_introduction(question, list(ranked))
        assert [e.text for e in kept] == [later, EXPORTS, first, other_doc], question
    once = [ev(1, later), ev(2, EXPORTS)]
    assert lead_with_introduction("What is PDVSA?", once) == once


def test_a_follow_up_for_something_else_or_a_reason_is_not_answered_by_a_repeat() -> None:
    """What the previous answer said may answer a follow-up asking for a fact of it
    ("Where?", "What is it for?", "Who else declined?"), or a reason it gives ("Why?" after
    "... to fill the gap if it seeks a boycott"); not "What else?", nor "Why?" after a
    sentence that gives none."""
    declined = "The White House and Venezuela's Information ministry declined comment."
    supplies = "Washington also wants to identify alternative oil supplies to fill the gap."
    swift = "Venezuela may use the SWIFT system, which facilitates transactions between banks."
    for question, said, answers in [
        ("Why?", declined, False),
        ("Why did they decline?", declined, False),
        ("Why?", supplies, True),
        ("What else?", supplies, False),
        ("Anything else?", supplies, False),
        ("Who else declined?", declined, True),
        ("What is it for?", swift, True),
        ("Where?", DELEGATION, True),
    ]:
        follow_up = FollowUp(question, "What did they say?", [said])
        assert follow_up.repeat_answers(said) is answers, question


def test_a_model_answer_must_rest_on_evidence_of_the_kind_asked() -> None:
    """SmolLM2 in openai mode, asked "When will the next round of talks take place?", wrote
    "The sources said the meeting was scheduled for Saturday [1]" on "Both sides used
    Saturday's meeting ...": verified word by word, but no date still to come is cited."""
    saturday = "Both sides used Saturday's meeting in Caracas to present maximalist demands."
    past = [Claim("The meeting was scheduled for Saturday.", [ev(1, saturday)], 0.8)]
    assert not answers_kind("When will the next round of talks take place?", past)
    planned = [Claim("A second round is planned for April.", [ev(1, SECOND_ROUND)], 0.9)]
    assert answers_kind("When will the next round of talks take place?", planned)
    # Only the kinds the rules read reliably: a "who" answer is not held to a name.
    assert answers_kind("Who spoke?", past)
    assert not answers_kind("How much oil is exported?", [Claim("More.", [ev(1, EXPORTS)], 1)])
