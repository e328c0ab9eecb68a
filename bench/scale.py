"""Storage at archive scale: N synthetic chunks through the store's own write path.

Text is realistic (a word-bigram chain trained on the ClapNQ passages and the sample
article, with fresh names and numbers so the vocabulary keeps growing as an archive's
does); vectors are random unit vectors, so embedding cost is left out. Measures write
throughput, lexical and hybrid search p50/p95 (hybrid with and without a date filter),
the time to add one document until both searches find it, the cold start of
``citeqa serve`` on the store until /healthz is 200, and resident memory.

    .venv/bin/python bench/scale.py --chunks 100000 [--keep DIR] [--json OUT] [--old]

``--keep DIR`` (an absolute path) leaves a store that ``CITEQA_DATA_DIR=DIR citeqa serve``
opens; run again with the same ``--keep`` to measure an existing store without rebuilding.
``--embeddings-url URL`` cold-starts the server against an embedding server (e.g. the test
one: ``python -m uvicorn tests.vectorstore.embedding_server:app --port 8081``, then
``--embeddings-url http://127.0.0.1:8081/v1``) instead of loading MiniLM in the server.
``--old`` also measures the JSON BM25 index this replaced (vectorstore/lexical.py at
738df4d, taken from git) on the same chunks: its build, save, load and query; ``--fts5``
measures SQLite FTS5 on the same terms and queries (the engine tantivy was chosen over).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, RESULTS, SHARED_DATA, machine_info, print_table, write_json
from qa.chunking import chunk_document
from qa.config import Settings
from qa.documents import content_hash
from qa.ingest import clause_texts, sentence_texts
from qa.retrieval import HybridSearcher
from qa.schema import to_write
from qa.types import Document, Filters
from vectorstore.client import make_client
from vectorstore.embeddings import LOCAL_MODEL_ID
from vectorstore.records import DocumentWrite
from vectorstore.store import ChunkStore

DIM = 384
DOC_CHARS = 4000  # five chunks of ~800 characters per article
OLD_COMMIT = "738df4d"


class RandomEmbeddings(Embeddings):
    """Random unit vectors: the store's cost without the model's. It claims the packaged
    model's id so that ``citeqa serve`` opens the kept store (its vectors mean nothing).
    Vectors come from a pool of 50,000 so that making them costs the bench nothing."""

    model_id = LOCAL_MODEL_ID

    def __init__(self, seed: int = 0, pool: int = 50_000) -> None:
        self.rng = random.Random(seed)
        m = np.random.default_rng(seed).normal(size=(pool, DIM)).astype(np.float32)
        self.pool: list[list[float]] = (m / np.linalg.norm(m, axis=1, keepdims=True)).tolist()

    def vectors(self, n: int) -> list[list[float]]:
        start = self.rng.randrange(len(self.pool) - n) if n < len(self.pool) else 0
        return self.pool[start : start + n]

    def fresh(self, n: int) -> list[list[float]]:
        """Vectors no stored chunk shares (pool vectors repeat past 50,000 chunks)."""
        m = np.random.default_rng(self.rng.randrange(2**32)).normal(size=(n, DIM))
        return (m / np.linalg.norm(m, axis=1, keepdims=True)).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.vectors(len(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.vectors(1)[0]


class TextModel:
    """A word-bigram chain over real prose, plus invented names and numbers."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        corpus = []
        for name in ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl"):
            for line in (SHARED_DATA / "clapnq" / name).read_text(encoding="utf-8").splitlines():
                corpus.append(json.loads(line)["passages"][0]["text"])
        corpus.append((SHARED_DATA / "sample" / "reuters-2022-03-07-us-venezuela-talks.txt")
                      .read_text(encoding="utf-8").split("\n", 1)[1])  # fmt: skip
        self.next: dict[str, list[str]] = defaultdict(list)
        self.questions = []
        for text in corpus:
            words = text.split()
            for a, b in itertools.pairwise(words):
                self.next[a].append(b)
        for name in ("clapnq_dev_answerable.jsonl",):
            for line in (SHARED_DATA / "clapnq" / name).read_text(encoding="utf-8").splitlines():
                self.questions.append(json.loads(line)["input"])
        self.starts = [w for w in self.next if w[:1].isupper()]
        syllables = "ka lo mi ren tas vor bel quin dra sho ul pet gar nim zo".split()
        self.names = [
            "".join(self.rng.choice(syllables) for _ in range(3)).capitalize()
            for _ in range(200000)
        ]

    def text(self, chars: int) -> str:
        out: list[str] = []
        size = 0
        word = self.rng.choice(self.starts)
        while size < chars:
            if self.rng.random() < 0.04:
                word = self.rng.choice(self.names)
            elif self.rng.random() < 0.01:
                word = str(self.rng.randrange(1, 100000))
            out.append(word)
            size += len(word) + 1
            options = self.next.get(word)
            word = self.rng.choice(options) if options else self.rng.choice(self.starts)
        return " ".join(out)

    def query(self) -> str:
        """Half real questions, half words picked from the generated prose."""
        if self.rng.random() < 0.5:
            return self.rng.choice(self.questions)
        return " ".join(self.text(60).split()[:6])


def make_doc(texts: TextModel, n: int, embeddings: RandomEmbeddings) -> DocumentWrite:
    body = texts.text(DOC_CHARS)
    day = 20150101 + n % 3650
    date = f"{str(day)[:4]}-{int(str(day)[4:6]) % 12 + 1:02d}-{int(str(day)[6:]) % 28 + 1:02d}"
    title = " ".join(body.split()[:6])
    doc = Document(
        doc_id=f"article-{n:07d}",
        source=f"archive/article-{n:07d}.txt",
        title=title,
        date=date,
        url=None,
        text=body,
        body_start=0,
        content_hash=content_hash(body, title, date, None),
    )
    chunks = chunk_document(doc, 1000, 200)
    write = to_write(doc, chunks)
    write.vectors = embeddings.vectors(len(chunks))
    write.sentence_texts = [sentence_texts(c) for c in chunks]
    write.clause_texts = [clause_texts(s) for s in write.sentence_texts]
    return write


def build(
    store: ChunkStore, texts: TextModel, target: int, batch_docs: int = 400
) -> dict[str, float]:
    """Write documents until ``target`` chunks are stored; returns throughput."""
    embeddings = store.embeddings
    assert isinstance(embeddings, RandomEmbeddings)
    n, chunks, started = len(store.documents()), store.count(), time.perf_counter()
    written = 0
    while chunks < target:
        docs = [make_doc(texts, n + i, embeddings) for i in range(batch_docs)]
        n += batch_docs
        store.write(docs)
        added = sum(len(d.ids) for d in docs)
        chunks += added
        written += added
        elapsed = time.perf_counter() - started
        print(f"\r{chunks} chunks, {written / elapsed:.0f}/s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    seconds = time.perf_counter() - started
    return {
        "written": written,
        "write_s": seconds,
        "chunks_per_s": written / seconds if seconds else 0.0,
    }


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return (
        1000 * ordered[len(ordered) // 2],
        1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
    )


def timed(fn: Any, queries: list[str]) -> tuple[float, float]:
    fn(queries[0])  # first call pays catch-up and caches
    laps = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        laps.append(time.perf_counter() - start)
    return percentiles(laps)


def add_document(store: ChunkStore, texts: TextModel, searcher: HybridSearcher) -> float:
    """Seconds from writing one new article until lexical and dense search both find it."""
    embeddings = store.embeddings
    assert isinstance(embeddings, RandomEmbeddings)
    doc = make_doc(texts, 9_000_000 + random.randrange(1_000_000), embeddings)
    marker = "Zyxquorblat" + str(random.randrange(10**6))
    doc.texts[0] = f"{marker} {doc.texts[0]}"
    doc.vectors = embeddings.fresh(len(doc.texts))
    start = time.perf_counter()
    store.write([doc])
    found_lexical = store.lexical_index().search(marker.lower(), 3)
    # Its own vector among the 30 nearest: random vectors have no neighbourhood structure,
    # so HNSW may rank an exact match below the top 1 (real text vectors do not). Not
    # restricted by a where on doc_id: Chroma evaluates that over every chunk (1.3 s at 500k).
    got = store.chunks.query(query_embeddings=[doc.vectors[0]], n_results=30, include=[])
    elapsed = time.perf_counter() - start
    assert found_lexical and found_lexical[0][0] == doc.ids[0], found_lexical
    assert doc.ids[0] in got["ids"][0]
    assert doc.ids[0] in [h.chunk.id for h in searcher.search(marker, 30)]
    return elapsed


def cold_start(data_dir: Path, embeddings_url: str | None) -> tuple[float, float]:
    """Seconds from ``citeqa serve`` to /healthz 200, and the server's RSS in MB then."""
    import httpx

    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CITEQA_DATA_DIR": str(data_dir), "CITEQA_MODE": "extractive"}
    if embeddings_url:
        env["CITEQA_EMBEDDINGS_URL"] = embeddings_url
    cli = str(Path(sys.executable).parent / "citeqa")
    start = time.perf_counter()
    proc = subprocess.Popen([cli, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        while time.perf_counter() - start < 300:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return elapsed, rss / 1024
    finally:
        proc.terminate()
        proc.wait(30)


STORE_COLD = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from bench.scale import RandomEmbeddings
from qa.config import Settings
from qa.retrieval import HybridSearcher
from vectorstore.client import make_client
from vectorstore.store import ChunkStore
settings = Settings(data_dir=Path(sys.argv[1]))
client = make_client(settings.chroma_path())
store = ChunkStore(client, settings.collection, RandomEmbeddings(pool=16),
                   settings.index_dir(), index_key=str(settings.chroma_path()))
HybridSearcher(store).search("harbour authority budget", 6)
print(time.perf_counter() - start)
"""


def store_cold_start(data_dir: Path) -> float:
    """Seconds for a fresh process to open the store and answer one hybrid search: the
    storage share of a cold start (no web framework, no embedding model)."""
    out = subprocess.run([sys.executable, "-c", STORE_COLD, str(data_dir), str(REPO)],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return float(out.strip().splitlines()[-1])


def stored_rows(store: ChunkStore) -> list[tuple[str, str, dict[str, Any]]]:
    """Every chunk's id, text and filter fields, read back from Chroma."""
    return [(i, t or "", {"doc_id": m.get("doc_id"), "date_ord": m.get("date_ord")})
            for ids, metas, texts in store._pages(store.chunks, ["metadatas", "documents"])
            for i, m, t in zip(ids, metas, texts, strict=True)]  # fmt: skip


def old_index(rows: list[tuple[str, str, dict[str, Any]]], queries: list[str]) -> dict[str, float]:
    """The replaced JSON BM25 index on the same chunks: build, save, load, query."""
    show = ["git", "-C", str(REPO), "show", f"{OLD_COMMIT}:vectorstore/lexical.py"]
    source = subprocess.run(show, check=True, capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        module_path = Path(tmp) / "old_lexical.py"
        module_path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("old_lexical", module_path)
        assert spec and spec.loader
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        start = time.perf_counter()
        index = old.BM25Index.build(rows, "bench")
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        index.save(Path(tmp) / "old.json")
        save_s = time.perf_counter() - start
        start = time.perf_counter()
        old.BM25Index.load(Path(tmp) / "old.json")
        load_s = time.perf_counter() - start
        p50, p95 = timed(lambda q: index.search(q, 30), queries)
        size_mb = (Path(tmp) / "old.json").stat().st_size / 1e6
    return {"old_build_s": build_s, "old_save_s": save_s, "old_load_s": load_s,
            "old_lexical_p50_ms": p50, "old_lexical_p95_ms": p95, "old_file_mb": size_mb,
            # Every write changed the generation: the next question rebuilt and saved it all.
            "old_add_document_s": build_s + save_s}  # fmt: skip


def fts5_index(rows: list[tuple[str, str, dict[str, Any]]], queries: list[str]) -> dict[str, float]:
    """SQLite FTS5 on the same pre-stemmed terms, ranked by its bm25(): the engine this
    module compared tantivy against (filters as a join on an indexed date column)."""
    import sqlite3

    from vectorstore.tokens import terms

    def match(query: str) -> str:
        return " OR ".join(f'"{t}"' for t in sorted(set(terms(query))) if "'" not in t) or '""'

    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "fts.sqlite")
        db.executescript(
            "CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, chunk_id TEXT, date_ord INTEGER);"
            "CREATE INDEX by_date ON chunks(date_ord);"
            "CREATE VIRTUAL TABLE fts USING fts5(terms, tokenize='ascii');"
        )
        start = time.perf_counter()
        with db:
            for n, (chunk_id, text, meta) in enumerate(rows, start=1):
                words = " ".join(t for t in terms(text) if "'" not in t)
                db.execute("INSERT INTO chunks VALUES (?, ?, ?)", (n, chunk_id, meta["date_ord"]))
                db.execute("INSERT INTO fts(rowid, terms) VALUES (?, ?)", (n, words))
        build_s = time.perf_counter() - start
        plain = "SELECT rowid, bm25(fts) AS s FROM fts WHERE fts MATCH ? ORDER BY s LIMIT 30"
        window = ("SELECT c.chunk_id, bm25(fts) AS s FROM fts JOIN chunks c ON c.rowid = fts.rowid"
                  " WHERE fts MATCH ? AND c.date_ord BETWEEN 20190101 AND 20191231"
                  " ORDER BY s LIMIT 30")  # fmt: skip
        p50, p95 = timed(lambda q: db.execute(plain, (match(q),)).fetchall(), queries)
        f50, f95 = timed(lambda q: db.execute(window, (match(q),)).fetchall(), queries)
        db.close()
    return {"fts5_build_s": build_s, "fts5_lexical_p50_ms": p50, "fts5_lexical_p95_ms": p95,
            "fts5_filtered_p50_ms": f50, "fts5_filtered_p95_ms": f95}  # fmt: skip


def measure(data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Build (or extend) the store, then time searches and one more document."""
    settings = Settings(data_dir=data_dir)
    client = make_client(settings.chroma_path())
    store = ChunkStore(client, settings.collection, RandomEmbeddings(), settings.index_dir(),
                       index_key=str(settings.chroma_path()))  # fmt: skip
    texts = TextModel()
    stats = build(store, texts, args.chunks)
    searcher = HybridSearcher(store)
    queries = [texts.query() for _ in range(args.queries)]
    window = Filters(date_from="2019-01-01", date_to="2019-12-31")
    result: dict[str, Any] = {"chunks": store.count(), **stats}
    result["lexical_p50_ms"], result["lexical_p95_ms"] = timed(
        lambda q: store.lexical_index().search(q, 30), queries
    )
    result["hybrid_p50_ms"], result["hybrid_p95_ms"] = timed(
        lambda q: searcher.search(q, 6), queries
    )
    result["hybrid_filtered_p50_ms"], result["hybrid_filtered_p95_ms"] = timed(
        lambda q: searcher.search(q, 6, window), queries
    )
    result["add_document_s"] = add_document(store, texts, searcher)
    result["bench_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.old or args.fts5:
        rows = stored_rows(store)
        if args.old:
            result.update(old_index(rows, queries))
        if args.fts5:
            result.update(fts5_index(rows, queries))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--keep", type=Path, help="absolute folder for the store (kept)")
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--old", action="store_true", help="also measure the replaced index")
    parser.add_argument("--fts5", action="store_true", help="also measure SQLite FTS5")
    parser.add_argument("--no-serve", action="store_true", help="skip the cold start")
    parser.add_argument(
        "--embeddings-url", help="cold-start the server with this embedding server, not MiniLM"
    )
    args = parser.parse_args()

    tmp = None if args.keep else tempfile.TemporaryDirectory()
    data_dir = (args.keep or Path(tmp.name if tmp else ".")).resolve()
    result = measure(data_dir, args)
    if not args.no_serve:
        # Close this process's embedded Chroma before the server opens the same folder.
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        result["store_cold_start_s"] = store_cold_start(data_dir)
        result["cold_start_s"], result["rss_mb"] = cold_start(data_dir, args.embeddings_url)
        result["cold_start_embeddings"] = args.embeddings_url or "local MiniLM"
    result["machine"] = machine_info()
    rows = [
        (k, f"{v:.2f}" if isinstance(v, float) else v) for k, v in result.items() if k != "machine"
    ]
    print_table(["measure", "value"], rows)
    write_json(args.json or RESULTS / f"scale-{args.chunks}.json", result)
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
