"""Evaluation datasets: question items, their corpus, and converters from the shared data.

A dataset is a folder holding ``questions.jsonl`` (one :class:`EvalItem` a line) and a
corpus, either ``docs.jsonl`` (one ``{"id", "text", "title"?, "date"?, "url"?}`` record a
line; the ingester uses ``id`` as the doc_id) or a ``corpus/`` folder of files.

``gold_doc`` entries name documents: for ``docs.jsonl`` corpora they are record ids; for file
corpora they are file *names* (``a.txt``, not ``a``: ``a.txt`` and ``a.md`` are two
documents), because the doc_id of a file is computed by the ingester. A retrieved document
matches a gold entry when its doc_id or its ``source`` file name equals it
(:func:`qa.evaluation.metrics.doc_matches`); the runner refuses a dataset whose gold entries
match no ingested document.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from qa.types import AsOf

QUESTIONS = "questions.jsonl"
DOCS = "docs.jsonl"
CORPUS_DIR = "corpus"
#: The sample's question files, by the name ``prepare --only`` takes, and their id prefixes.
SAMPLE_PARTS = {"questions": "seed-", "paraphrase": "para-", "followups": "fu-"}
Split = Literal["tune", "test"]

_DOC_ID = re.compile(r"[A-Za-z0-9._-]+")


class EvalItem(BaseModel):
    """One evaluation question with what a correct answer must contain and cite."""

    id: str
    question: str = Field(description="the question scored (the last turn of a conversation)")
    answerable: bool
    expected: list[str] = Field(
        default_factory=list, description="strings a correct answer contains, all of them"
    )
    any: list[str] = Field(
        default_factory=list, description="strings of which a correct answer contains one"
    )
    reference: str | None = Field(
        default=None, description="a reference answer, for F1 and ROUGE-L"
    )
    gold_doc: list[str] = Field(
        default_factory=list, description="doc ids (docs.jsonl) or file names (corpus/)"
    )
    gold_evidence: list[str] = Field(
        default_factory=list, description="the sentences a citation should quote, whole"
    )
    history: list[str] = Field(
        default_factory=list,
        description="earlier user questions of the conversation, asked first, in order",
    )
    date: AsOf = Field(None, description="when the question is asked (YYYY-MM-DD): its as-of date")


def split_of(item_id: str) -> Split:
    """The half a question belongs to, fixed by its id: thresholds are tuned on ``tune`` and
    reported on ``test``. A hash, so neither file order nor later additions move a question."""
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return "tune" if digest[-1] % 2 == 0 else "test"


class Dataset(BaseModel):
    """A loaded dataset: its questions and where its corpus is."""

    name: str
    items: list[EvalItem]
    corpus_path: Path = Field(description="the docs.jsonl file or the corpus/ folder")


def load_items(path: Path | str) -> list[EvalItem]:
    """Read EvalItems from a JSONL file, naming the line of any invalid record."""
    items: list[EvalItem] = []
    seen: set[str] = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = EvalItem.model_validate_json(line)
        except ValidationError as exc:
            raise ValueError(f"{path}:{number}: invalid question: {exc}") from exc
        if item.id in seen:  # rows are keyed by id: a repeat would be silently skipped
            raise ValueError(f"{path}:{number}: duplicate question id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    return items


def save_items(items: Iterable[EvalItem], path: Path | str) -> None:
    """Write EvalItems as JSONL, one item a line."""
    _write_jsonl(path, (item.model_dump() for item in items))


def load_dataset(directory: Path | str) -> Dataset:
    """Load a dataset folder; exactly one corpus (docs.jsonl or corpus/) must be present."""
    root = Path(directory)
    corpora = [p for p in (root / DOCS, root / CORPUS_DIR) if p.exists()]
    if len(corpora) != 1:
        raise ValueError(f"{root}: expected exactly one of {DOCS} or {CORPUS_DIR}/")
    return Dataset(name=root.name, items=load_items(root / QUESTIONS), corpus_path=corpora[0])


def prepare_clapnq(src_dir: Path | str, out_dir: Path | str) -> Dataset:
    """Convert the ClapNQ dev split into a dataset over its closed pool of passages.

    Every distinct passage (title + exact text) becomes one document; its id is the ClapNQ
    passage id from the tsv when exactly one distinct passage carries that id, else a short
    hash of title and text (four ClapNQ ids label two differing passage versions each).
    Each question's passage is its gold document; unanswerable questions keep their on-topic
    passage as gold so retrieval is still scored on them.
    """
    src, out = Path(src_dir), Path(out_dir)
    tsv_ids = _tsv_doc_ids(src)
    records: list[tuple[dict[str, Any], bool]] = []
    for kind, answerable in (("answerable", True), ("unanswerable", False)):
        records += [(r, answerable) for r in _read_jsonl(src / f"clapnq_dev_{kind}.jsonl")]

    passages: dict[tuple[str, str], set[str]] = {}
    for record, _ in records:
        passage = record["passages"][0]
        labels = passages.setdefault((passage["title"], passage["text"]), set())
        labels.update(tsv_ids.get(record["id"], []))
    label_uses = Counter(label for labels in passages.values() for label in labels)
    doc_ids = {
        key: _clapnq_doc_id(key, [x for x in labels if label_uses[x] == 1])
        for key, labels in passages.items()
    }
    if len(set(doc_ids.values())) != len(doc_ids):
        raise ValueError("ClapNQ passages map to colliding doc ids")

    items = []
    for record, answerable in records:
        passage, output = record["passages"][0], record["output"][0]
        items.append(
            EvalItem(
                id=record["id"],
                question=record["input"],
                answerable=answerable,
                reference=output["answer"] if answerable else None,
                gold_doc=[doc_ids[(passage["title"], passage["text"])]],
                gold_evidence=list(output.get("selected_sentences") or []) if answerable else [],
            )
        )
    docs = ({"id": doc_ids[key], "title": key[0], "text": key[1]} for key in passages)
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / DOCS, docs)
    save_items(items, out / QUESTIONS)
    return load_dataset(out)


def prepare_sample(
    src_dir: Path | str, out_dir: Path | str, only: Sequence[str] | None = None
) -> Dataset:
    """Convert the bundled sample (one .txt article and its question files) into a dataset.

    ``only`` picks question files by name (``questions``, ``paraphrase``, ``followups``;
    default all three, ids ``seed-*``, ``para-*``, ``fu-*``). The article is copied byte for
    byte into ``corpus/`` and named in ``gold_doc`` by its file name; unanswerable questions
    get no gold document. An ``evidence`` fragment becomes the whole article sentence that
    holds it, so citations are judged sentence by sentence. A follow-up's earlier turns become
    its ``history``; its last turn is the question scored.
    """
    src, out = Path(src_dir), Path(out_dir)
    parts = list(only or SAMPLE_PARTS)
    unknown = [p for p in parts if p not in SAMPLE_PARTS]
    if unknown:
        raise ValueError(f"unknown sample part {unknown[0]!r}: use {', '.join(SAMPLE_PARTS)}")
    articles = sorted(src.glob("*.txt"))
    if len(articles) != 1:
        raise ValueError(f"{src}: expected exactly one .txt article, found {len(articles)}")
    article = articles[0]
    sentences = _article_sentences(article)
    items = []
    for part in dict.fromkeys(parts):
        for raw in _read_jsonl(src / f"{part}.jsonl"):
            turns = raw.get("turns") or [raw["question"]]
            answerable = bool(raw.get("answerable", True))
            fragment = raw.get("evidence")
            items.append(
                EvalItem(
                    id=raw["id"],
                    question=turns[-1],
                    answerable=answerable,
                    expected=raw.get("expected") or [],
                    any=raw.get("any") or [],
                    gold_doc=[article.name] if answerable else [],
                    gold_evidence=[_sentence_of(fragment, sentences)] if fragment else [],
                    history=turns[:-1],
                )
            )
    ids = Counter(item.id for item in items)
    if repeated := [i for i, n in ids.items() if n > 1]:
        raise ValueError(f"{src}: question ids repeat across files: {', '.join(repeated)}")
    corpus = out / CORPUS_DIR
    corpus.mkdir(parents=True, exist_ok=True)
    # copyfile, not copy: the shared data is read-only and its mode must not follow the copy.
    shutil.copyfile(article, corpus / article.name)
    save_items(items, out / QUESTIONS)
    return load_dataset(out)


def _article_sentences(article: Path) -> list[str]:
    """The article's sentences as citeqa's ingester splits them (whitespace collapsed)."""
    from qa.chunking import split_sentences
    from qa.documents import load_path

    doc = load_path(article, article.stat().st_size + 1).documents[0]
    spans = split_sentences(doc.text, doc.body_start)
    return [" ".join(doc.text[a:b].split()) for a, b in spans]


def _sentence_of(fragment: str, sentences: Sequence[str]) -> str:
    """The one sentence that holds an evidence fragment; an error when none or several do."""
    wanted = " ".join(fragment.split())
    found = [s for s in sentences if wanted in s]
    if len(found) != 1:
        raise ValueError(f"evidence {fragment!r} is in {len(found)} sentences of the article")
    return found[0]


def _tsv_doc_ids(src: Path) -> dict[str, list[str]]:
    """Map question id to the ClapNQ passage ids of its ``doc-id-list`` column."""
    ids: dict[str, list[str]] = {}
    for tsv in sorted(src.glob("question_dev_*.tsv")):
        with tsv.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                ids[row["id"]] = [x for x in re.split(r"[\s,]+", row["doc-id-list"] or "") if x]
    return ids


def _clapnq_doc_id(key: tuple[str, str], labels: list[str]) -> str:
    """The passage's own ClapNQ id when it has exactly one usable one, else a content hash."""
    usable = [x for x in labels if _DOC_ID.fullmatch(x)]
    if len(usable) == 1:
        return usable[0]
    return hashlib.sha256("\n".join(key).encode("utf-8")).hexdigest()[:12]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Parse a JSONL file, skipping blank lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _write_jsonl(path: Path | str, records: Iterable[dict[str, Any]]) -> None:
    """Write records as UTF-8 JSONL."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
