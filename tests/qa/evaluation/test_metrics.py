"""Metrics on tiny hand-computed cases, including empty and all-wrong runs."""

from __future__ import annotations

import math
from typing import Any

import pytest

from qa.evaluation.metrics import (
    RowCitation,
    citation_doc_precision,
    citation_recall,
    claim_support,
    correct_abstention,
    is_gold_sentence,
    outcome,
    paired,
    percentile,
    rouge_l,
    score_row,
    sentence_precision,
    summarize,
    summarize_systems,
    token_f1,
    wrong_abstention,
)
from qa.evaluation.ranking import (
    dedupe,
    doc_matches,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    ranked_doc_keys,
    unmatched_gold,
)

GOLD = "A US delegation led by Juan Gonzalez held talks."


def row(**overrides: Any) -> dict[str, Any]:
    """A result row for an answered answerable question; overrides replace fields."""
    base: dict[str, Any] = {
        "id": "q1",
        "system": "citeqa",
        "question": "Who led the delegation?",
        "answerable": True,
        "expected": ["Juan Gonzalez"],
        "reference": "Juan Gonzalez led the delegation.",
        "gold_doc": ["d1"],
        "gold_evidence": [GOLD],
        "answer": "A US delegation led by Juan Gonzalez held talks [1].",
        "abstained": False,
        "citations": [
            {"marker": 1, "doc_id": "d1", "source": "docs/d1.txt", "quote": GOLD, "support": 0.9}
        ],
        "retrieved": [{"doc_id": "d1", "source": "docs/d1.txt"}],
        "depth": 10,
        "timings": {"retrieve": 0.1, "generate": 1.0, "total": 1.2},
        "llm_calls": 1,
        "tokens": 30,
    }
    return base | overrides


def cite(doc_id: str, quote: str, source: str = "", marker: int = 1) -> RowCitation:
    return RowCitation(marker=marker, doc_id=doc_id, source=source, quote=quote)


# --- retrieval ---


def test_hit_and_mrr_with_gold_at_rank_3() -> None:
    ranked = ["a", "b", "g", "c"]
    assert [hit_at_k(ranked, {"g"}, k) for k in (1, 2, 3, 10)] == [0.0, 0.0, 1.0, 1.0]
    assert mrr_at_k(ranked, {"g"}, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(ranked, {"g"}, 2) == 0.0


def test_repeated_documents_count_once() -> None:
    # Chunks of the same document: "a" twice still puts "g" at document rank 2.
    assert dedupe(["a", "a", "g", "a"]) == ["a", "g"]
    assert hit_at_k(["a", "a", "g"], {"g"}, 2) == 1.0
    assert mrr_at_k(["a", "a", "g"], {"g"}, 10) == 0.5


def test_ndcg_with_two_gold_documents() -> None:
    # ranked g1, x, g2: DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5
    # ideal g1, g2:    IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.6309 = 1.6309  -> 0.9197
    assert ndcg_at_k(["g1", "x", "g2"], {"g1", "g2"}, 10) == pytest.approx(
        1.5 / (1 + 1 / math.log2(3))
    )
    # k=2 cuts g2 off: DCG = 1, IDCG still over min(2, 2) = 2 gold -> 1 / 1.6309 = 0.6131
    assert ndcg_at_k(["g1", "x", "g2"], {"g1", "g2"}, 2) == pytest.approx(0.6131, abs=1e-4)
    # three gold, k=1: the ideal holds one, so a gold document first is perfect
    assert ndcg_at_k(["g1"], {"g1", "g2", "g3"}, 1) == 1.0


def test_retrieval_edge_cases() -> None:
    assert hit_at_k([], {"g"}, 4) == 0.0
    assert mrr_at_k([], {"g"}, 4) == 0.0
    assert ndcg_at_k([], {"g"}, 4) == 0.0
    assert hit_at_k(["g"], set(), 4) is None
    assert ndcg_at_k(["g"], set(), 4) is None
    with pytest.raises(ValueError):
        hit_at_k(["g"], {"g"}, 0)


def test_doc_matches_by_id_or_file_name() -> None:
    assert doc_matches("7f3a", "/data/reuters-2022.txt", "reuters-2022.txt")
    assert doc_matches("820769473_1-2", "docs.jsonl", "820769473_1-2")
    assert not doc_matches("7f3a", "", "")
    assert not doc_matches("7f3a", "/data/other.txt", "reuters-2022.txt")
    # a stem names no file: a.txt and a.md are two documents
    assert not doc_matches("7f3a", "/data/reuters-2022.txt", "reuters-2022")
    assert not doc_matches("7f3a", "/data/a.md", "a.txt")
    keys = ranked_doc_keys(
        [("h1", "a/other.txt"), ("h2", "b/gold.txt"), ("h2", "b/gold.txt")], ["gold.txt"]
    )
    assert keys == ["h1", "gold.txt"]


def test_unmatched_gold_names_what_matches_nothing() -> None:
    docs = [("a-1f2e3d", "/corpus/a.txt"), ("820769473_1-2", "/x/docs.jsonl#820769473_1-2")]
    assert unmatched_gold(["a.txt", "820769473_1-2"], docs) == []
    missing = unmatched_gold(["a.md", "a", "a.txt", "a.md", "820769473/1-2"], docs)
    assert missing == ["a.md", "a", "820769473/1-2"]


# --- answers ---


def test_token_f1_known_pair() -> None:
    # pred -> [quick, brown, fox]; ref -> [quick, red, fox, jumps]; overlap 2
    # P = 2/3, R = 2/4, F1 = 2PR/(P+R) = 4/7
    assert token_f1("The quick brown fox!", "a quick red fox jumps") == pytest.approx(4 / 7)
    assert token_f1("The cat sat.", "cat sat") == 1.0
    assert token_f1("", "") == 1.0
    assert token_f1("...", "the") == 1.0  # both normalize to nothing
    assert token_f1("cat", "") == 0.0
    assert token_f1("dog", "cat") == 0.0


def test_rouge_l_known_pairs() -> None:
    # [gunman, police, killed] vs [police, killed, gunman]: LCS = police killed = 2,
    # P = R = 2/3 -> F = 2/3 (token F1 is 1.0: same bag of words, different order)
    assert rouge_l("the gunman police killed", "police killed the gunman") == pytest.approx(2 / 3)
    assert token_f1("the gunman police killed", "police killed the gunman") == 1.0
    # [one, two, three, four] vs [one, three, five, seven]: LCS = one three = 2 -> P = R = 1/2
    assert rouge_l("one two three four", "one three five seven") == pytest.approx(0.5)
    assert rouge_l("x y", "p q") == 0.0
    assert rouge_l("", "") == 1.0


# --- citations and abstention ---


def test_a_citation_on_a_non_gold_sentence_lowers_sentence_precision() -> None:
    gold = [GOLD]
    assert sentence_precision([cite("d1", GOLD)], gold) == 1.0
    other = cite("d1", "Both sides used Saturday's meeting to present demands.")
    assert sentence_precision([cite("d1", GOLD), other], gold) == 0.5
    assert sentence_precision([other], gold) == 0.0
    assert sentence_precision([], gold) is None


def test_a_fragment_is_not_the_gold_sentence() -> None:
    assert is_gold_sentence("A US delegation led by\nJuan  Gonzalez held talks.", [GOLD])
    assert not is_gold_sentence("A US delegation led by Juan Gonzalez", [GOLD])  # a fragment
    longer = GOLD + " Both sides used the meeting."
    assert not is_gold_sentence(longer, [GOLD])  # a passage holding it
    assert not is_gold_sentence("", [GOLD])


def test_citation_recall_and_doc_precision() -> None:
    other = cite("d2", "A wrong sentence.", source="corpus/other.txt")
    assert citation_recall([other, cite("d1", GOLD, marker=2)], [GOLD]) is True
    assert citation_recall([other], [GOLD]) is False
    assert citation_recall([], [GOLD]) is False
    on_gold_doc = cite("h1", "Unrelated.", source="corpus/gold.txt")
    assert citation_doc_precision([on_gold_doc, other], ["gold.txt"]) == 0.5
    assert citation_doc_precision([], ["gold.txt"]) is None


def test_claim_support_needs_the_cited_quote_to_hold_the_claim() -> None:
    swift = cite("d1", "US officials were willing to consider allowing Venezuela to use SWIFT.")
    other = cite("d1", "Both sides met in Caracas.", marker=2)
    held = "US officials were willing to allow Venezuela to use SWIFT"
    assert claim_support(f"{held} [1].", [swift]) == 1.0
    assert claim_support("Venezuela may use SWIFT [1].", [swift, other]) == 0.0  # "may"
    # the same claim cited to the wrong sentence, or not cited at all, is not supported
    assert claim_support(f"{held} [2].", [swift, other]) == 0.0
    assert claim_support(f"{held}.", [swift]) == 0.0
    # negation and numbers are key terms: "not" and "30" must be in the quote
    assert claim_support("US officials were not willing to allow SWIFT [1].", [swift]) == 0.0
    assert claim_support("Both sides met in Caracas in 30 days [2].", [swift, other]) == 0.0
    two = f"{held} [1]. Both sides met in Caracas [2]."
    assert claim_support(two, [swift, other]) == 1.0
    assert claim_support(two.replace("[2]", "[3]"), [swift, other]) == 0.5  # [3] cites nothing
    assert claim_support("No citations here.", []) is None


def test_abstention_verdicts() -> None:
    assert correct_abstention(answerable=False, abstained=True) is True
    assert correct_abstention(answerable=False, abstained=False) is False
    assert correct_abstention(answerable=True, abstained=True) is None
    assert wrong_abstention(answerable=True, abstained=True) is True
    assert wrong_abstention(answerable=False, abstained=True) is None


def test_percentile() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)  # rank 2.85
    assert percentile([1.0, 2.0], 0) == 1.0
    assert percentile([1.0, 2.0], 100) == 2.0
    assert percentile([5.0], 95) == 5.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


# --- rows and runs ---


def test_score_row_of_a_good_answer() -> None:
    scores = score_row(row())
    assert scores["hit@1"] == scores["mrr@10"] == scores["ndcg@10"] == 1.0
    assert scores["hit@1 (answerable)"] == scores["mrr@10 (answerable)"] == 1.0
    assert scores["contains_expected"] is True
    assert scores["sentence_precision"] == scores["claim_support"] == 1.0
    assert scores["citation_recall"] is scores["first_citation_gold"] is True
    assert scores["citation_doc_precision"] == 1.0
    assert scores["abstention_unanswerable"] is None
    assert scores["wrong_abstention_answerable"] is False
    assert scores["outcome"] == "correct"


def test_retrieval_metrics_need_the_depth_their_name_says() -> None:
    shallow = score_row(row(depth=6))
    assert shallow["hit@1"] == shallow["hit@4"] == 1.0
    assert shallow["hit@10"] is shallow["mrr@10"] is shallow["ndcg@10"] is None
    unknown = score_row(row(depth=None))
    assert unknown["hit@1"] is None and unknown["hit@1 (answerable)"] is None


def test_outcomes() -> None:
    assert outcome(answerable=True, abstained=False, correct=True) == "correct"
    assert outcome(answerable=True, abstained=False, correct=False) == "wrong"
    assert outcome(answerable=True, abstained=False, correct=None) == "answered"
    assert outcome(answerable=False, abstained=False, correct=None) == "wrong"
    assert outcome(answerable=False, abstained=True, correct=None) == "refused-right"
    assert outcome(answerable=True, abstained=True, correct=False) == "refused-wrong"
    assert score_row(row(answer="It was Juan Gonzalo [1]."))["outcome"] == "wrong"


def test_score_row_of_an_unanswerable_question() -> None:
    scores = score_row(row(answerable=False, expected=[], reference=None, gold_evidence=[]))
    assert scores["outcome"] == "wrong"
    assert scores["abstention_unanswerable"] is False
    assert scores["contains_expected"] is None
    assert scores["token_f1"] is None
    # judged by abstention, not by citations
    assert scores["citation_doc_precision"] is None and scores["sentence_precision"] is None
    assert scores["hit@1"] == 1.0  # the on-topic passage is still gold for retrieval
    assert scores["hit@1 (answerable)"] is None


def test_summarize_empty_run() -> None:
    summary = summarize([])
    assert summary["questions"] == 0
    assert summary["hit@1"] is None
    assert summary["abstention_unanswerable"] is None
    assert summary["latency"] == {}
    assert summary["tokens_total"] == 0
    assert summary["tokens_mean"] is None


def test_summarize_all_wrong_run() -> None:
    wrong = row(
        answer="I cannot answer.",
        abstained=True,
        citations=[],
        retrieved=[{"doc_id": "x", "source": ""}],
    )
    unanswered = row(id="q2", answerable=False, expected=[], reference=None, gold_evidence=[])
    summary = summarize([wrong, unanswered])
    assert summary["hit@10"] == 0.5  # the unanswerable row's passage was retrieved
    assert summary["n"]["hit@10"] == 2
    assert summary["hit@10 (answerable)"] == 0.0
    assert summary["n"]["hit@10 (answerable)"] == 1
    assert summary["contains_expected"] == 0.0
    assert summary["citation_recall"] == summary["first_citation_gold"] == 0.0
    assert summary["sentence_precision"] is None  # no answerable row cited anything
    assert summary["outcomes"]["refused-wrong"] == summary["outcomes"]["wrong"] == 1
    assert summary["wrong_abstention_answerable"] == 1.0
    assert summary["abstention_unanswerable"] == 0.0


def test_summarize_mixed_run() -> None:
    rows = [
        row(),
        row(id="q2", gold_doc=[], retrieved=[], timings={"total": 3.0}, tokens=10),
        row(
            id="q3", answerable=False, expected=[], reference=None, gold_evidence=[], abstained=True
        ),
    ]
    summary = summarize(rows)
    assert (summary["answerable"], summary["unanswerable"]) == (2, 1)
    assert summary["n"]["hit@1"] == 2  # q2 has no gold document
    assert summary["n"]["contains_expected"] == 2
    assert summary["abstention_unanswerable"] == 1.0
    assert summary["latency"]["total"] == {"p50": 1.2, "p95": pytest.approx(2.82)}
    assert summary["latency"]["retrieve"]["p50"] == pytest.approx(0.1)
    assert summary["tokens_total"] == 70
    assert summary["llm_calls_mean"] == 1.0


def test_summarize_systems_keeps_first_appearance_order() -> None:
    rows = [row(system="citeqa"), row(system="baseline", abstained=True), row(id="q2")]
    summaries = summarize_systems(rows)
    assert list(summaries) == ["citeqa", "baseline"]
    assert summaries["citeqa"]["questions"] == 2
    assert summaries["baseline"]["wrong_abstention_answerable"] == 1.0


def test_summary_has_intervals_that_hold_the_value() -> None:
    rows = [row(id=f"q{i}", answer="No." if i % 3 else row()["answer"]) for i in range(30)]
    summary = summarize(rows)
    value, (low, high) = summary["contains_expected"], summary["ci"]["contains_expected"]
    assert value == pytest.approx(10 / 30)
    assert 0 < low < value < high < 1
    assert summary["ci"]["token_f1"][0] <= summary["token_f1"] <= summary["ci"]["token_f1"][1]
    assert summary["ci"]["rouge_l"] is not None and summary["ci"]["abstention_unanswerable"] is None


def test_paired_difference_per_metric() -> None:
    better = [row(id=f"q{i}", system="citeqa") for i in range(20)]
    worse = [
        row(id=f"q{i}", system="baseline", answer="Nobody [1].", citations=[]) for i in range(20)
    ]
    diff = paired([*better, *worse], "citeqa", "baseline")
    assert diff["contains_expected"]["diff"] == 1.0 and diff["contains_expected"]["n"] == 20
    assert diff["contains_expected"]["p"] < 0.001 and diff["contains_expected"]["significant"]
    assert diff["hit@1"]["diff"] == 0.0 and not diff["hit@1"]["significant"]
    assert diff["sentence_precision"]["n"] == 0  # the baseline cites nothing: no pair
