"""Dataset files and the converters of the shared ClapNQ and sample data."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from qa.evaluation.datasets import (
    EvalItem,
    load_dataset,
    load_items,
    prepare_clapnq,
    prepare_sample,
    save_items,
    split_of,
)

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"  # as in tests/conftest.py
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared evaluation data not present")


def test_items_round_trip(tmp_path: Path) -> None:
    items = [
        EvalItem(id="a", question="Who?", answerable=True, expected=["X"], gold_doc=["d"]),
        EvalItem(id="b", question="Why?", answerable=False),
    ]
    save_items(items, tmp_path / "q.jsonl")
    assert load_items(tmp_path / "q.jsonl") == items
    assert items[1].expected == [] and items[1].reference is None


def test_load_items_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "q", "answerable": true}\n\n{"id": "b"}\n')
    with pytest.raises(ValueError, match=r"q\.jsonl:3"):
        load_items(path)


def test_repeated_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    line = '{"id": "a", "question": "q", "answerable": true}\n'
    path.write_text(line + line)
    with pytest.raises(ValueError, match=r"q\.jsonl:2: duplicate question id 'a'"):
        load_items(path)


def test_split_is_stable_disjoint_and_about_half() -> None:
    ids = [f"q{n}" for n in range(2000)]
    halves = [split_of(i) for i in ids]
    assert set(halves) == {"tune", "test"}
    assert 900 < halves.count("tune") < 1100
    assert halves == [split_of(i) for i in reversed(ids)][::-1]  # order does not matter
    # fixed values (sha256 of the id, even = tune): changing the rule would silently move
    # questions between the halves, and thresholds tuned on one would be reported on it
    ids = ("seed-1", "seed-3", "seed-4", "fu-2", "6401197308716204890")
    assert [split_of(i) for i in ids] == ["test", "tune", "tune", "tune", "test"]


def test_load_dataset_needs_exactly_one_corpus(tmp_path: Path) -> None:
    save_items([], tmp_path / "questions.jsonl")
    with pytest.raises(ValueError):
        load_dataset(tmp_path)
    (tmp_path / "docs.jsonl").write_text("")
    assert load_dataset(tmp_path).corpus_path == tmp_path / "docs.jsonl"
    (tmp_path / "corpus").mkdir()
    with pytest.raises(ValueError):
        load_dataset(tmp_path)


@needs_data
def test_prepare_clapnq(tmp_path: Path) -> None:
    dataset = prepare_clapnq(DATA / "clapnq", tmp_path)
    docs = [json.loads(line) for line in (tmp_path / "docs.jsonl").read_text().splitlines()]
    ids = {doc["id"] for doc in docs}
    texts = {doc["id"]: doc["text"] for doc in docs}
    items = dataset.items

    assert (len(items), len(docs), len(ids)) == (600, 597, 597)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", i) for i in ids)
    assert all(len(item.gold_doc) == 1 and item.gold_doc[0] in ids for item in items)
    answerable = [item for item in items if item.answerable]
    assert len(answerable) == 300
    assert all(item.reference and not item.expected for item in answerable)
    assert all(e in texts[item.gold_doc[0]] for item in answerable for e in item.gold_evidence)
    assert sum(not item.gold_evidence for item in answerable) == 1  # ClapNQ selected none
    assert all(
        item.reference is None and not item.gold_evidence for item in items if not item.answerable
    )
    first = next(item for item in items if item.id == "6401197308716204890")
    assert first.gold_doc == ["820769473_15895-16818"]  # the ClapNQ passage id from the tsv
    # a ClapNQ id carried by two differing passage versions is used for neither
    assert "803302492_842-1710" not in ids


@needs_data
def test_prepare_clapnq_is_deterministic(tmp_path: Path) -> None:
    prepare_clapnq(DATA / "clapnq", tmp_path / "a")
    prepare_clapnq(DATA / "clapnq", tmp_path / "b")
    for name in ("docs.jsonl", "questions.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@needs_data
def test_prepare_sample(tmp_path: Path) -> None:
    src = DATA / "sample"
    dataset = prepare_sample(src, tmp_path)
    article = "reuters-2022-03-07-us-venezuela-talks.txt"
    copied = tmp_path / "corpus" / article

    assert dataset.corpus_path == tmp_path / "corpus"
    assert copied.read_bytes() == (src / article).read_bytes()
    assert os.access(copied, os.W_OK)
    by_id = {item.id: item for item in dataset.items}
    prefixes = [i.split("-")[0] for i in by_id]
    assert (prefixes.count("seed"), prefixes.count("para"), prefixes.count("fu")) == (5, 13, 8)
    assert by_id["seed-2"].gold_doc == [article]
    # the evidence fragment became the whole sentence of the article
    [sentence] = by_id["seed-2"].gold_evidence
    assert sentence.startswith("A US delegation led by Juan Gonzalez")
    assert sentence.endswith("the sources said on Sunday.")
    [sentence] = by_id["seed-4"].gold_evidence
    assert sentence.startswith("Venezuela has asked Russia") and "Promsvyazbank" in sentence
    assert by_id["seed-3"].expected == ["elections", "oil industry", "Ukraine"]
    assert not by_id["seed-5"].answerable
    assert by_id["seed-5"].gold_doc == [] and by_id["seed-5"].gold_evidence == []
    assert by_id["para-4"].any == ["Promsvyazbank", "PSB"] and by_id["para-4"].answerable
    assert not by_id["para-13"].answerable
    fu = by_id["fu-1"]
    assert fu.history == ["Which bank used for trade with Russia was blacklisted in 2019?"]
    assert fu.question == "What did that force PDVSA to do?" and fu.answerable
    assert not by_id["fu-5"].answerable  # the only follow-up marked so
    assert sum(not by_id[f"fu-{n}"].answerable for n in range(1, 9)) == 1
    prepare_sample(src, tmp_path)  # re-running overwrites its own output


@needs_data
def test_prepare_sample_only_some_parts(tmp_path: Path) -> None:
    dataset = prepare_sample(DATA / "sample", tmp_path, ["paraphrase"])
    assert [i.id for i in dataset.items] == [f"para-{n}" for n in range(1, 14)]
    with pytest.raises(ValueError, match="unknown sample part 'nope'"):
        prepare_sample(DATA / "sample", tmp_path, ["nope"])


@needs_data
def test_prepare_sample_refuses_an_evidence_fragment_it_cannot_place(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    article = next((DATA / "sample").glob("*.txt"))
    (src / article.name).write_bytes(article.read_bytes())
    record = {"id": "x", "question": "q", "answerable": True, "evidence": "not in the text"}
    (src / "questions.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(ValueError, match="'not in the text' is in 0 sentences"):
        prepare_sample(src, tmp_path / "out", ["questions"])
