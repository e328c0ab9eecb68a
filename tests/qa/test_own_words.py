"""Questions in a staff member's own words (issue 8), on the sample article, end to end:
paraphrases and follow-ups in extractive mode, and what a capable model writes (served by
the scripted OpenAI-compatible server, a real loopback process) through verification."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from qa.chain import NOT_FOUND
from qa.config import Settings
from qa.service import Assistant
from qa.types import Answer, Turn
from tests.conftest import SAMPLE, SHARED, free_port, server_process

DATA = SHARED / "sample"
PARAPHRASES = [json.loads(line) for line in (DATA / "paraphrase.jsonl").open()]
FOLLOW_UPS = [json.loads(line) for line in (DATA / "followups.jsonl").open()]
MODEL_ANSWERS = [json.loads(line) for line in (DATA / "model_answers.jsonl").open()]
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("own-words") / "data"
    Assistant(Settings(data_dir=path, mode="extractive"), embeddings=embeddings).ingest([SAMPLE])
    return path


@pytest.fixture(scope="module")
def extractive(data_dir: Path, embeddings) -> Assistant:  # type: ignore[no-untyped-def]
    return Assistant(Settings(data_dir=data_dir, mode="extractive"), embeddings=embeddings)


def holds_any(answer: Answer, strings: list[str]) -> bool:
    return any(s.lower() in answer.text.lower() for s in strings)


def test_paraphrases_unanswerable_refused_and_answerable_mostly_right(
    extractive: Assistant,
) -> None:
    right = 0
    for item in PARAPHRASES:
        answer = extractive.ask(item["question"])
        if not item["answerable"]:
            assert answer.abstained and answer.text == NOT_FOUND, item["question"]
            continue
        right += not answer.abstained and holds_any(answer, item["any"]) and bool(answer.citations)
    # Issue 8 asks for 8/10; measured 10/10 (docs/evaluation.md).
    assert right >= 8


def test_a_clause_of_a_long_sentence_answers_in_other_words(extractive: Assistant) -> None:
    """The lede says who talked, about what, who said so and why Washington cares; "made
    scant progress toward a deal" is one clause of it. The whole sentence is far from "Was
    the meeting a success?" for the sentence model; its clause, stored at ingest, is not."""
    for question in ("Was the meeting a success?", "Did the talks produce a deal?"):
        answer = extractive.ask(question)
        assert not answer.abstained, question
        assert "scant progress" in answer.citations[0].quote, question


def ask_conversation(service: Assistant, turns: list[str]) -> Answer:
    history: list[Turn] = []
    for question in turns[:-1]:
        earlier = service.ask(question, history)
        quotes = [c.quote for c in earlier.citations]
        history += [Turn(role="user", content=question),
                    Turn(role="assistant", content=earlier.text, quotes=quotes)]  # fmt: skip
    return service.ask(turns[-1], history)


def test_follow_ups_use_the_conversation_and_the_unanswerable_one_is_refused(
    extractive: Assistant,
) -> None:
    right = 0
    for item in FOLLOW_UPS:
        answer = ask_conversation(extractive, item["turns"])
        if not item.get("answerable", True):
            assert answer.abstained, answer.text
            assert "don't mention" in answer.trace["gate"]["reason"]
            continue
        right += not answer.abstained and holds_any(answer, item["any"])
    assert right >= 6, f"{right}/7"


def test_a_longer_conversation_asks_for_facts_of_the_sentence_already_cited(
    extractive: Assistant,
) -> None:
    """Each follow-up's fact is in the delegation's sentence, cited by the turn before, but
    the last: "Saturday's meeting" ranks below six sentences about the talks by then."""
    turns = ["Who is Venezuela's vice president?", "Who is her boss?",
             "Where did they meet the Americans?", "When did the talks happen?"]  # fmt: skip
    for n, wanted in [(2, "Maduro"), (3, "Miraflores"), (4, "Saturday")]:
        answer = ask_conversation(extractive, turns[:n])
        assert not answer.abstained and wanted in answer.text, (turns[n - 1], answer.text)
    assert "Sunday" not in answer.text.split("[1]")[0], "the day of the report is no answer"


def test_a_follow_up_asking_for_someones_role_is_answered_by_their_office(
    extractive: Assistant,
) -> None:
    """ "What is her role?" names no word of the article: an office ("Vice President") is
    what it asks for; it was refused as asking something the documents don't mention, then
    answered first with "... President Vladimir Putin ...", an office of someone else's. A
    possessive is no part of a name ("James Story's position" was refused as naming no one
    the documents mention)."""
    for turns, office in [
        (["Who did the US delegation meet?", "What is her role?"], "Vice President"),
        (["Who led the US side?", "What is his job?"], "adviser"),
        (["What is James Story's position?"], "Ambassador"),
    ]:
        answer = ask_conversation(extractive, turns)
        assert not answer.abstained, answer.trace["gate"]
        assert office in answer.citations[0].quote, answer.text
        assert "Putin" not in answer.citations[0].quote, answer.text


def test_a_question_for_a_date_finds_the_sentence_that_holds_one(extractive: Assistant) -> None:
    """Two sentences about the meeting outscore "Saturday's meeting", the one that says
    when; it was refused for want of a date among the best two."""
    answer = extractive.ask("When did the meeting happen?")
    assert not answer.abstained, answer.trace["gate"]
    assert "Saturday" in answer.citations[0].quote


def test_what_a_named_actor_did_is_answered_by_that_actor_s_sentences(
    extractive: Assistant,
) -> None:
    """ "What did Venezuela want?" was answered with what Washington sought; the gate still
    judges the evidence by relevance, so "... from Caracas" is not refused for want of
    "Caracas" among the actor's sentences."""
    venezuela = extractive.ask("What did Venezuela want?")
    assert venezuela.citations[0].quote.startswith("Caracas used the talks"), venezuela.text
    assert "Washington sought" not in venezuela.text
    # "hoping" is a news word for wanting: the lead was the Evrofinance sentence.
    hoping = extractive.ask("What was Venezuela hoping for?")
    assert hoping.citations[0].quote.startswith("Caracas used the talks"), hoping.text
    us_hoping = extractive.ask("What is the US hoping to get from Venezuela?")
    assert us_hoping.citations[0].quote.startswith("In the talks, Washington sought"), (
        us_hoping.text
    )
    us = extractive.ask("What did the US want from Caracas?")
    assert not us.abstained, us.trace["gate"]
    assert "Washington sought" in us.text and "Caracas used" not in us.text, us.text
    pdvsa = extractive.ask("What is PDVSA?")
    assert "state-run oil company PDVSA" in pdvsa.citations[0].quote, pdvsa.text


def test_a_present_tense_question_about_an_actor_is_led_by_that_actors_sentence(
    extractive: Assistant,
) -> None:
    """ "What does Venezuela want ...?" reads as about now (a recency cue); re-sorting the
    evidence for recency put what Washington sought first."""
    answer = extractive.ask("What does Venezuela want from the US?")
    assert answer.trace["time"]["recency"] is True
    assert answer.text.startswith("Caracas used the talks to press for US sanctions relief")


def test_a_question_for_words_no_one_in_the_documents_said_is_refused(
    extractive: Assistant,
) -> None:
    """Putin is named in the article, but only "a source in Washington" speaks near him:
    "What did Putin say about the meeting?" was answered with that sentence."""
    putin = extractive.ask("What did Putin say about the meeting?")
    assert putin.abstained, putin.text
    assert putin.trace["gate"]["reason"] == "the documents do not have putin say anything"
    white_house = extractive.ask("How did the White House respond?")
    assert "declined comment" in white_house.text, white_house.trace["gate"]


def test_who_took_part_and_who_leads_are_answered_by_who_and_refused_without_a_head(
    extractive: Assistant,
) -> None:
    """ "Who went to Caracas for the talks?" was answered with "Caracas used the talks to
    press for US sanctions relief"; "Who runs PDVSA?" with a sentence naming PDVSA and no
    one running it; "How many sources ...?" was refused (the count was in the third
    sentence)."""
    went = extractive.ask("Who went to Caracas for the talks?")
    assert went.text.startswith("A US delegation led by Juan Gonzalez"), went.text
    assert "Caracas used the talks" not in went.text
    runs = extractive.ask("Who runs PDVSA?")
    assert (
        runs.abstained and runs.trace["gate"]["reason"] == "the documents do not say who runs pdvsa"
    )
    sources = extractive.ask("How many sources talked about the talks?")
    assert "five sources" in sources.text and sources.citations, sources.trace["gate"]
    # "they" are who the previous answer's sentence is about: the US delegation.
    took_part = extractive.ask("Who took part in the talks for Washington?")
    history = [Turn(role="user", content=took_part.question), Turn.reply(took_part)]
    proposed = extractive.ask("What did they propose to Caracas?", history=history)
    assert proposed.text.startswith("As a concession, the US officials"), proposed.text
    assert "Caracas used the talks" not in proposed.text


def test_a_follow_up_asking_for_more_gets_no_repeat_of_the_answer_before(
    extractive: Assistant,
) -> None:
    """ "Why?" after "Who declined to comment?": the article does not say; the same sentence
    again would be no answer. "Where?" after the delegation's sentence is answered by it."""
    why = ask_conversation(extractive, ["Who declined to comment?", "Why?"])
    assert why.abstained and why.text == NOT_FOUND, why.text
    assert why.trace["fallback"] == "repeated"
    where = ask_conversation(extractive, ["Who led the US delegation?", "Where?"])
    assert not where.abstained and "Miraflores" in where.text


def test_the_articles_section_heading_is_never_an_answer(extractive: Assistant) -> None:
    # "Venezuela's financial lifeline" is a line of its own between paragraphs.
    answer = extractive.ask("What is the US hoping to get from Venezuela?")
    assert "lifeline [" not in answer.text and "lifeline" not in answer.text.split(".")[0]


@contextmanager
def served(answers: list[dict], folder: Path, data_dir: Path, embeddings) -> Iterator[Assistant]:  # type: ignore[no-untyped-def,type-arg]
    """citeqa in openai mode against the scripted server serving ``answers``."""
    table = folder / "answers.jsonl"
    table.write_text("".join(json.dumps(a) + "\n" for a in answers))
    port = free_port()
    cmd = [sys.executable, "-m", "qa.evaluation.scripted_llm", "--answers", str(table),
           "--port", str(port)]  # fmt: skip
    with server_process(cmd, f"http://127.0.0.1:{port}/v1/models", folder / "server.log"):
        settings = Settings(data_dir=data_dir, mode="openai", openai_model="scripted",
                            openai_base_url=f"http://127.0.0.1:{port}/v1")  # fmt: skip
        yield Assistant(settings, embeddings=embeddings)


def test_a_capable_models_right_answers_reach_the_user_as_written(
    tmp_path: Path,
    data_dir: Path,
    embeddings,  # type: ignore[no-untyped-def]
) -> None:
    right = [a for a in MODEL_ANSWERS if a["correct"]]
    with served(right, tmp_path, data_dir, embeddings) as service:
        for item in right:
            answer = service.ask(item["question"])
            assert _MARKERS.sub("", answer.text) == item["answer"], (answer.text, answer.trace)
            assert answer.citations and all(c.verified for c in answer.citations)
            assert "fallback" not in answer.trace


@pytest.mark.parametrize(
    "item", [a for a in MODEL_ANSWERS if not a["correct"]], ids=lambda a: a["kind"]
)
def test_a_capable_models_wrong_claims_never_reach_the_user(
    tmp_path: Path,
    data_dir: Path,
    embeddings,
    item: dict,  # type: ignore[no-untyped-def,type-arg]
) -> None:
    with served([item], tmp_path, data_dir, embeddings) as service:
        answer = service.ask(item["question"])
    for wrong in item["wrong"]:
        assert not re.search(rf"\b{re.escape(wrong)}\b", answer.text, re.I), answer.text
    assert answer.trace.get("cuts") or answer.trace.get("fallback"), "the check said why"


@pytest.mark.parametrize(
    ("question", "invented"),
    [
        # What a real SmolLM2 wrote behind openai mode for the sample's unanswerable ones:
        ("When will the next round of talks take place?",
         "The next round of talks will take place on Sunday."),
        ("What did the Kremlin say about the meeting?",
         "The Kremlin said the meeting was a provocation."),
    ],
)  # fmt: skip
def test_a_cut_answer_to_an_unanswerable_question_is_a_refusal_not_other_sentences(
    tmp_path: Path,
    data_dir: Path,
    embeddings,  # type: ignore[no-untyped-def]
    question: str,
    invented: str,
) -> None:
    """A capable model's gate only asks "on topic?"; when verification cuts its answer, the
    extractive sentences that would replace it must pass the calibrated gate, or refuse."""
    with served([{"question": question, "answer": invented}], tmp_path, data_dir,
                embeddings) as service:  # fmt: skip
        answer = service.ask(question)
    assert answer.abstained and answer.text == NOT_FOUND, answer.text
    assert answer.trace["fallback"] == "unsupported"
    assert answer.trace["fallback_gate"]["answer"] is False


def test_a_capable_models_answer_to_a_follow_up_must_say_something_new(
    tmp_path: Path,
    data_dir: Path,
    embeddings,  # type: ignore[no-untyped-def]
) -> None:
    """What SmolLM2 wrote behind openai mode for fu-5 and fu-3: each restates the previous
    answer. The unanswerable one is refused; the other is answered from the documents (what
    the system does is in the sentence the model shortened)."""
    answers = [
        {"question": "Who led the US delegation?",
         "answer": "Juan Gonzalez and Ambassador James Story led the US delegation."},
        {"question": "Who was his deputy in the delegation?",
         "answer": "The sources said that the US delegation was led by Juan Gonzalez."},
        {"question": "Which system might Venezuela be allowed to use?",
         "answer": "The US officials were willing to consider temporarily allowing Venezuela "
                   "to use the SWIFT system."},
        {"question": "What does that system do?",
         "answer": "The US officials are willing to consider temporarily allowing Venezuela "
                   "to use the SWIFT system."},
    ]  # fmt: skip
    with served(answers, tmp_path, data_dir, embeddings) as service:
        deputy = ask_conversation(service, [answers[0]["question"], answers[1]["question"]])
        system = ask_conversation(service, [answers[2]["question"], answers[3]["question"]])
    assert deputy.abstained and deputy.text == NOT_FOUND, deputy.text
    assert deputy.trace["fallback"] == "repeated"
    assert not system.abstained and "financial transactions" in system.text, system.text
    assert system.trace["fallback"] == "repeated"
    # Its own cited sentence, whole: it holds what the follow-up newly asks ("system").
    assert [c.quote for c in system.citations] == [
        s for s in SAMPLE.read_text().split("\n") if "SWIFT system" in s
    ]


def test_a_models_answer_about_something_else_than_the_question_names_falls_back(
    tmp_path: Path,
    data_dir: Path,
    embeddings,  # type: ignore[no-untyped-def]
) -> None:
    """What SmolLM2 wrote in local mode for "What happened to Evrofinance?": a claim about
    the SWIFT offer, which the SWIFT sentence supports and which names no Evrofinance. It
    is replaced by the extractive answer, the sentence about Evrofinance."""
    question = "What happened to Evrofinance?"
    swift = (
        "The source says that the US officials were willing to consider temporarily "
        "allowing Venezuela to use the SWIFT system to move money to other accounts."
    )
    with served([{"question": question, "answer": swift}], tmp_path, data_dir,
                embeddings) as service:  # fmt: skip
        answer = service.ask(question)
    assert answer.trace["fallback"] == "off topic", answer.trace
    assert "Evrofinance Mosnarbank, was blacklisted" in answer.text
