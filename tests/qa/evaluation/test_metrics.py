"""Metrics on tiny hand-computed cases, including empty and all-wrong runs."""

from __future__ import annotations

import math
from typing import Any

import pytest

from qa.evaluation.metrics import (
    RowCitation,
    citation_precision,
    contains_expected,
    correct_abstention,
    dedupe,
    doc_matches,
    exact_sentence,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    quote_matches_evidence,
    ranked_doc_keys,
    rouge_l,
    score_row,
    summarize,
    summarize_systems,
    token_f1,
    verified_share,
    wrong_abstention,
)


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
        "gold_evidence": ["A US delegation led by Juan Gonzalez"],
        "answer": "The delegation was led by Juan Gonzalez [1].",
        "abstained": False,
        "citations": [
            {
                "marker": 1,
                "doc_id": "d1",
                "source": "docs/d1.txt",
                "quote": "A US delegation led by Juan Gonzalez held talks.",
                "verified": True,
                "support": 0.9,
            }
        ],
        "retrieved": [{"doc_id": "d1", "source": "docs/d1.txt"}],
        "timings": {"retrieve": 0.1, "generate": 1.0, "total": 1.2},
        "llm_calls": 1,
        "tokens": 30,
    }
    return base | overrides


def cite(doc_id: str, quote: str, source: str = "", verified: bool = True) -> RowCitation:
    return RowCitation(marker=1, doc_id=doc_id, source=source, quote=quote, verified=verified)


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


def test_doc_matches_by_id_or_file_stem() -> None:
    assert doc_matches("7f3a", "/data/reuters-2022.txt", "reuters-2022")
    assert doc_matches("820769473_1-2", "docs.jsonl", "820769473_1-2")
    assert not doc_matches("7f3a", "", "")
    assert not doc_matches("7f3a", "/data/other.txt", "reuters-2022")
    keys = ranked_doc_keys(
        [("h1", "a/other.txt"), ("h2", "b/gold.txt"), ("h2", "b/gold.txt")], ["gold"]
    )
    assert keys == ["h1", "gold"]


# --- answers ---


def test_contains_expected() -> None:
    assert contains_expected("Led by JUAN  Gonzalez.", ["juan gonzalez"]) is True
    assert contains_expected("elections and oil", ["elections", "Ukraine"]) is False
    assert contains_expected("anything", []) is None


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


def test_quote_matches_evidence() -> None:
    evidence = "A US delegation led by Juan Gonzalez"
    assert quote_matches_evidence("A US delegation led by\nJuan  Gonzalez held talks.", evidence)
    assert quote_matches_evidence(evidence, evidence)
    assert quote_matches_evidence("led by Juan Gonzalez", evidence)  # a fragment of the evidence
    assert not quote_matches_evidence("Both sides used Saturday's meeting.", evidence)
    assert not quote_matches_evidence("", evidence)
    assert not quote_matches_evidence("text", "  ")


def test_citation_precision_and_exact_sentence() -> None:
    citations = [
        cite("h1", "unrelated", source="corpus/gold.txt"),  # gold doc by file stem
        cite("other", "The gold sentence."),  # gold evidence, other document
        cite("other", "A wrong sentence.", verified=False),
    ]
    assert citation_precision(citations, ["gold"], ["The gold sentence."]) == pytest.approx(2 / 3)
    assert citation_precision([], ["gold"], []) is None
    assert citation_precision(citations[2:], ["gold"], ["The gold sentence."]) == 0.0
    assert verified_share(citations) == pytest.approx(2 / 3)
    assert verified_share([]) is None
    assert exact_sentence("The gold sentence.", ["The gold sentence."]) is True
    assert exact_sentence("A wrong sentence.", ["The gold sentence."]) is False
    assert exact_sentence(None, ["The gold sentence."]) is False
    assert exact_sentence("anything", []) is None


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
    assert scores["exact_sentence"] is True
    assert scores["citation_precision"] == scores["citation_verified"] == 1.0
    assert scores["abstention_unanswerable"] is None
    assert scores["wrong_abstention_answerable"] is False
    assert scores["outcome"] == "answered"


def test_score_row_of_an_unanswerable_question() -> None:
    scores = score_row(row(answerable=False, expected=[], reference=None, gold_evidence=[]))
    assert scores["outcome"] == "wrongly answered"
    assert scores["abstention_unanswerable"] is False
    assert scores["contains_expected"] is None
    assert scores["token_f1"] is None
    assert scores["citation_precision"] is None  # judged by abstention, not by citations
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
    assert summary["exact_sentence"] == 0.0
    assert summary["citation_precision"] is None  # no answerable row cited anything
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
