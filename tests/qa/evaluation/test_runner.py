"""End-to-end evaluation runs on the sample set: report files, the HTML page in Chromium,
resuming after a kill, the run folder's guard against mixed settings, gold documents that
match nothing, equal retrieval depth, splits, conversations and progress lines."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from qa.config import Settings
from qa.evaluation.datasets import EvalItem, load_dataset, prepare_sample, save_items, split_of
from qa.evaluation.metrics import ResultRow
from qa.evaluation.report import read_rows
from qa.evaluation.runner import BASELINE, CITEQA, RESULTS, RunResult, run, select
from tests.conftest import SHARED, free_port, server_process
from vectorstore.embeddings import LocalEmbeddings

CHROMIUM = "/usr/bin/chromium"


def settings() -> Settings:
    # data_dir is replaced by the run's own store; it must not be used.
    return Settings(data_dir=Path("/nonexistent"), mode="extractive")


def metrics_only(summary: dict[str, Any]) -> dict[str, Any]:
    """A run summary without what legitimately differs between runs: wall-clock times."""
    return {
        system: {k: v for k, v in values.items() if k != "latency"}
        for system, values in summary["systems"].items()
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "sample"
    prepare_sample(SHARED / "sample", out, ["questions"])
    return out


@pytest.fixture(scope="module")
def sample_run(
    dataset: Path, tmp_path_factory: pytest.TempPathFactory, embeddings: LocalEmbeddings
) -> RunResult:
    out = tmp_path_factory.mktemp("run") / "sample-extractive"
    return run(dataset, "extractive", out, None, True, settings(), embeddings, "pytest")


def test_report_files_exist_and_parse(sample_run: RunResult) -> None:
    out = sample_run.out_dir
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["systems"]) == [CITEQA, BASELINE]
    assert summary["meta"]["mode"] == "extractive"
    assert summary["meta"]["settings"]["min_support"] == settings().min_support
    for system in summary["systems"].values():
        assert system["questions"] == 5 and system["answerable"] == 4
    assert "abstention_signal" in summary

    rows = read_rows(out / RESULTS)
    assert len(rows) == 10 and sample_run.asked == 10 and sample_run.resumed == 0
    parsed = [ResultRow.model_validate(r) for r in rows]
    assert [(r.id, r.system) for r in parsed][:2] == [("seed-1", CITEQA), ("seed-1", BASELINE)]
    for r in parsed:
        assert r.retrieved and r.timings["total"] > 0
        assert r.depth == 10  # both systems rank the same number of chunks for retrieval
        if r.system == CITEQA:
            assert r.support is not None and r.answer_depth == settings().top_k
            # support is the gate's probability; a refusal carries the gate's reason
            assert 0 <= r.support <= 1 and r.gate
            assert (r.gate == "supported") != r.abstained
        else:
            assert r.citations == [] and r.support is None and r.answer_depth == 4
    # the article has 4 chunks: both systems ranked all of them at depth 10
    assert {len(r.retrieved) for r in parsed} == {4}
    assert "citeqa 6, baseline 4" in summary["meta"]["depth"]
    assert summary["paired"]["metrics"]["hit@1"]["n"] == 4

    md = (out / "report.md").read_text()
    assert "| metric | citeqa | baseline | citeqa − baseline |" in md
    assert "## Abstention signal" in md
    assert (out / "report.html").stat().st_size > 10_000


def test_extractive_baseline_answers_with_its_best_chunk(sample_run: RunResult) -> None:
    article = next((SHARED / "sample").glob("*.txt")).read_text(encoding="utf-8")
    for row in sample_run.rows:
        if row["system"] == BASELINE:
            assert row["answer"] and row["answer"] in article
            assert not row["abstained"] and row["llm_calls"] == 0


def test_citeqa_cites_gold_sentences_and_abstains_off_topic(sample_run: RunResult) -> None:
    citeqa = sample_run.summaries[CITEQA]
    assert citeqa["first_citation_gold"] == 1.0 and citeqa["n"]["first_citation_gold"] == 4
    assert citeqa["abstention_unanswerable"] == 1.0  # the FIFA question
    baseline = sample_run.summaries[BASELINE]
    assert baseline["citation_recall"] == 0.0  # it cites nothing
    assert baseline["abstention_unanswerable"] == 0.0


@pytest.mark.e2e
def test_html_report_opens_in_chromium_without_errors(sample_run: RunResult) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto((sample_run.out_dir / "report.html").resolve().as_uri())
            page.wait_for_load_state("load")
            assert page.title() == "citeqa evaluation: sample"
            images = page.locator("img")
            assert images.count() == 7  # 5 metric groups, latency, support histogram
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            assert all(w > 0 for w in widths), "every chart decodes"
            assert page.get_by_text("Who won the 2022 FIFA World Cup?").count() == 1
        finally:
            browser.close()
    assert problems == []


def test_resumed_run_gives_the_same_summary(
    sample_run: RunResult, dataset: Path, tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    # What a kill leaves: the first rows, fsynced, then half of the next one.
    out = tmp_path / "resumed"
    out.mkdir()
    lines = (sample_run.out_dir / RESULTS).read_text(encoding="utf-8").splitlines(True)
    (out / RESULTS).write_text("".join(lines[:3]) + lines[3][:40], encoding="utf-8")

    resumed = run(dataset, "extractive", out, None, True, settings(), embeddings, "pytest")
    assert (resumed.asked, resumed.resumed) == (7, 3)
    assert [ResultRow.model_validate(r) for r in read_rows(out / RESULTS)]  # all rows parse
    first = json.loads((sample_run.out_dir / "summary.json").read_text())
    second = json.loads((out / "summary.json").read_text())
    assert metrics_only(second) == metrics_only(first)
    assert second["abstention_signal"] == first["abstention_signal"]

    again = run(dataset, "extractive", out, None, True, settings(), embeddings, "pytest")
    assert (again.asked, again.resumed) == (0, 10), "a finished run asks nothing"


def test_a_folder_keeps_its_settings(
    sample_run: RunResult, dataset: Path, embeddings: LocalEmbeddings
) -> None:
    other = settings().model_copy(update={"min_support": 0.5})
    with pytest.raises(ValueError, match="other settings"):
        run(dataset, "extractive", sample_run.out_dir, None, True, other, embeddings)


def test_limit_extends_a_run_in_place(
    dataset: Path, tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    small = run(dataset, "extractive", tmp_path, 2, False, settings(), embeddings)
    assert [r["id"] for r in small.rows] == ["seed-1", "seed-5"]  # one of each kind
    larger = run(dataset, "extractive", tmp_path, 3, False, settings(), embeddings)
    assert [r["id"] for r in larger.rows] == ["seed-1", "seed-2", "seed-5"]
    assert (larger.asked, larger.resumed) == (1, 2)


def item(n: int, answerable: bool) -> EvalItem:
    return EvalItem(id=f"q{n}", question=f"question {n}", answerable=answerable)


def test_select_is_balanced_and_keeps_file_order() -> None:
    items = [item(1, True), item(2, True), item(3, True), item(4, False), item(5, False)]
    assert [x.id for x in select(items, None)] == ["q1", "q2", "q3", "q4", "q5"]
    assert [x.id for x in select(items, 2)] == ["q1", "q4"]
    assert [x.id for x in select(items, 3)] == ["q1", "q2", "q4"]
    assert [x.id for x in select(items, 4)] == ["q1", "q2", "q4", "q5"]
    assert [x.id for x in select(items[:3], 2)] == ["q1", "q2"]  # one kind fills in
    assert select([], 3) == []


def test_killed_run_resumes_where_it_stopped(
    sample_run: RunResult, dataset: Path, tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    """A real ``citeqa eval run`` process, SIGKILLed mid-run, then rerun to the end."""
    many = tmp_path / "many"
    shutil.copytree(dataset, many)
    base = load_dataset(dataset).items
    items = [x.model_copy(update={"id": f"{x.id}-{n}"}) for n in range(20) for x in base]
    save_items(items, many / "questions.jsonl")
    out = tmp_path / "killed"
    command = ["eval", "run", str(many), "--mode", "extractive", "--baseline", "langchain"]
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from qa.cli import main; main()", *command, "--out", str(out)],
            env={**os.environ, "CITEQA_DATA_DIR": str(tmp_path / "unused")},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 240
            while len(read_rows(out / RESULTS)) < 20:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "no rows appeared"
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL
    done = len(read_rows(out / RESULTS))
    assert done < 2 * len(items), "the run finished before it was killed"

    resumed = run(many, "extractive", out, None, True, settings(), embeddings)
    assert resumed.resumed == done and resumed.asked == 2 * len(items) - done
    keys = [(r["id"], r["system"]) for r in read_rows(out / RESULTS)]
    assert len(keys) == len(set(keys)) == 2 * len(items), "no question asked twice"
    # Every copy of a question got the answer the uninterrupted sample run gave it.
    reference = {(r["id"], r["system"]): r for r in sample_run.rows}
    for row in resumed.rows:
        original = reference[(row["id"].rsplit("-", 1)[0], row["system"])]
        assert (row["answer"], row["abstained"]) == (original["answer"], original["abstained"])


@pytest.mark.slow
def test_local_mode_run_with_a_real_model(
    dataset: Path, tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    """Both systems call the real SmolLM2 once and record its calls and tokens."""
    local = settings().model_copy(update={"n_threads": 1})
    result = run(dataset, "local", tmp_path, 1, True, local, embeddings)
    citeqa, baseline = result.rows
    assert (citeqa["system"], baseline["system"]) == (CITEQA, BASELINE)
    for row in result.rows:
        assert row["llm_calls"] == 1 and row["tokens"] > 0 and row["timings"]["generate"] > 0
    assert json.loads((tmp_path / "summary.json").read_text())["meta"]["mode"] == "local"


def test_a_gold_doc_that_matches_nothing_stops_the_run(
    dataset: Path, tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    items = load_dataset(dataset).items
    stem = items[0].gold_doc[0].removesuffix(".txt")  # a file stem is not a file name
    items[0] = items[0].model_copy(update={"gold_doc": [stem]})
    items[1] = items[1].model_copy(update={"gold_doc": ["no-such-article.txt"]})
    save_items(items, broken / "questions.jsonl")
    out = tmp_path / "run"
    with pytest.raises(ValueError) as error:
        run(broken, "extractive", out, None, True, settings(), embeddings)
    message = str(error.value)
    assert f"'{stem}' (questions seed-1)" in message
    assert "'no-such-article.txt' (questions seed-2)" in message
    assert "2 gold_doc entries match no ingested document" in message
    assert read_rows(out / RESULTS) == []  # nothing was asked


def test_split_runs_only_its_half(
    dataset: Path, tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    items = load_dataset(dataset).items
    tune = run(
        dataset, "extractive", tmp_path / "tune", None, False, settings(), embeddings, split="tune"
    )
    test = run(
        dataset, "extractive", tmp_path / "test", None, False, settings(), embeddings, split="test"
    )
    assert [r["id"] for r in tune.rows] == [i.id for i in items if split_of(i.id) == "tune"]
    assert [r["id"] for r in test.rows] == [i.id for i in items if split_of(i.id) == "test"]
    assert {r["id"] for r in tune.rows}.isdisjoint(r["id"] for r in test.rows)
    assert len(tune.rows) + len(test.rows) == len(items)
    meta = json.loads((tmp_path / "tune" / "summary.json").read_text())["meta"]
    assert meta["split"] == "tune"


def test_retrieval_depth_is_equal_and_metrics_beyond_it_are_na(
    dataset: Path, tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    result = run(dataset, "extractive", tmp_path, 2, True, settings(), embeddings, depth=3)
    for row in result.rows:
        assert row["depth"] == 3 and len(row["retrieved"]) == 3
    for summary in result.summaries.values():
        assert summary["hit@1"] is not None
        assert summary["hit@4"] is None and summary["mrr@10"] is None  # 4 > 3 chunks ranked
    assert "n/a" in (tmp_path / "report.md").read_text().split("| hit@4 |")[1].split("\n")[0]


def test_progress_lines_when_stderr_is_not_a_terminal(
    dataset: Path, tmp_path: Path, embeddings: LocalEmbeddings, capsys: pytest.CaptureFixture[str]
) -> None:
    run(dataset, "extractive", tmp_path, None, False, settings(), embeddings, progress_every=2)
    lines = capsys.readouterr().err.splitlines()
    done = [line.split()[1] for line in lines if line.startswith("eval ")]
    assert done == ["2/5", "4/5", "5/5"]
    assert "q/s, ETA" in lines[-1]


def test_a_conversation_is_asked_turn_by_turn(tmp_path: Path, embeddings: LocalEmbeddings) -> None:
    """Through citeqa's openai mode and a real scripted server: the earlier question is asked
    first, and citeqa's own answer to it is the assistant turn of the follow-up."""
    dataset = tmp_path / "followups"
    prepare_sample(SHARED / "sample", dataset, ["followups"])
    items = [i for i in load_dataset(dataset).items if i.id in ("fu-1", "fu-5")]
    save_items(items, dataset / "questions.jsonl")
    answers = tmp_path / "answers.jsonl"
    first = "Evrofinance Mosnarbank was blacklisted in 2019."
    answers.write_text(json.dumps({"question": items[0].history[0], "answer": first}) + "\n")
    port, log = free_port(), tmp_path / "requests.jsonl"
    cmd = [sys.executable, "-m", "qa.evaluation.scripted_llm", "--answers", str(answers)]
    cmd += ["--port", str(port), "--log", str(log)]
    url = f"http://127.0.0.1:{port}/v1"
    openai = settings().model_copy(update={"openai_base_url": url, "openai_model": "scripted"})
    with server_process(cmd, f"{url}/models", tmp_path / "server.log", timeout=60):
        result = run(dataset, "openai", tmp_path / "run", None, False, openai, embeddings)
    fu1 = next(r for r in result.rows if r["id"] == "fu-1")
    assert fu1["history"] == [items[0].history[0]] and fu1["question"] == items[0].question
    assert fu1["history_answers"][0].startswith("Evrofinance Mosnarbank was blacklisted in 2019")
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    condense = [r for r in requests if "Rewritten question" in r["messages"][-1]["content"]]
    assert condense, "the follow-up was rewritten with the conversation"
    assert fu1["history_answers"][0] in condense[0]["messages"][-1]["content"]
    assert fu1["llm_calls"] >= 3  # first answer, the rewrite, the follow-up's answer
