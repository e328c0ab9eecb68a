"""Metrics through prometheus_client: the names and labels /metrics has always had, process
and GC metrics, and one count across worker processes in multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from qa.observability import Metrics, multiprocess, multiprocess_metrics
from qa.types import Answer
from tests.conftest import ROOT


def test_counts_buckets_escaping_gauges_and_process_metrics() -> None:
    metrics = Metrics()
    answer = Answer(question="q", text="t", mode="local", llm_calls=2, tokens=17)
    answer.timings = {"generate": 0.7, "total": 1.2}
    metrics.observe_answer(answer, "api")
    metrics.observe_request('a"b\\c', "GET", 200, 0.2)
    metrics.observe_ingest(["added", "failed", "added"])
    text = metrics.render([("g", "a gauge", {"collection": "x"}, 3.0), ("r", "ready", {}, 1.0)])
    assert 'citeqa_llm_calls_total{mode="local"} 2.0' in text
    assert 'citeqa_llm_completion_tokens_total{mode="local"} 17.0' in text
    assert 'citeqa_answer_stage_seconds_bucket{le="1.0",stage="generate"} 1.0' in text
    assert 'citeqa_answer_stage_seconds_bucket{le="0.5",stage="generate"} 0.0' in text
    assert 'citeqa_answer_stage_seconds_sum{stage="total"} 1.2' in text
    assert 'citeqa_ingested_files_total{status="added"} 2.0' in text
    assert 'citeqa_http_requests_total{method="GET",route="a\\"b\\\\c",status="200"} 1.0' in text
    assert "# TYPE g gauge" in text and 'g{collection="x"} 3.0' in text and "\nr 1.0" in text
    assert "process_cpu_seconds_total" in text and "python_gc_objects_collected_total" in text
    assert "_created" not in text
    assert not multiprocess()


def test_two_apps_in_one_process_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.observe_ingest(["added"])
    assert 'status="added"' in first.render() and 'status="added"' not in second.render()


WORKER = """
import sys
from qa.observability import Metrics, multiprocess
from qa.types import Answer
assert multiprocess()
metrics = Metrics()
metrics.observe_answer(Answer(question="q", text="t", mode="local", llm_calls=1), "api")
metrics.observe_request("/v1/ask", "POST", 200, 0.3)
if sys.argv[1:] == ["scrape"]:
    print(metrics.render([("citeqa_ready", "ready", {}, 1.0)]))
"""


def test_worker_processes_share_one_count_through_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"

    def worker(*args: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", WORKER, *args],
            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        return run.stdout

    with multiprocess_metrics(data) as folder:
        assert folder.parent == data and os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
        worker()
        worker()
        text = worker("scrape")
        assert len(list(folder.glob("*.db"))) >= 3, "one file set per process"
    assert 'citeqa_answers_total{abstained="false",interface="api",mode="local"} 3.0' in text
    assert 'citeqa_llm_calls_total{mode="local"} 3.0' in text
    assert 'citeqa_http_request_duration_seconds_count{route="/v1/ask"} 3.0' in text
    assert "citeqa_ready 1.0" in text
    assert "process_cpu_seconds_total" not in text, "one worker's figures would mislead"
    assert not folder.exists() and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
