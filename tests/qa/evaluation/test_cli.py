"""``citeqa eval prepare | run | compare`` through the command-line layer."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from qa.evaluation.cli import eval_app
from tests.conftest import SHARED
from vectorstore.embeddings import LocalEmbeddings


def test_prepare_run_compare(tmp_path: Path, embeddings: LocalEmbeddings) -> None:
    cli = CliRunner()
    dataset = tmp_path / "sample"
    result = cli.invoke(eval_app, ["prepare", "sample", str(SHARED / "sample"), str(dataset)])
    assert result.exit_code == 0, result.output
    assert "26 questions (21 answerable)" in result.output  # questions, paraphrase, followups
    args = ["prepare", "sample", str(SHARED / "sample"), str(dataset), "--only", "questions"]
    result = cli.invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    assert "5 questions (4 answerable)" in result.output

    runs = []
    for limit in ("2", "4"):
        out = tmp_path / f"run-{limit}"
        args = ["run", str(dataset), "--mode", "extractive", "--limit", limit, "--out", str(out)]
        result = cli.invoke(eval_app, [*args, "--baseline", "langchain"])
        assert result.exit_code == 0, result.output
        assert "hit@4" in result.output and "citeqa − baseline" in result.output
        meta = json.loads((out / "summary.json").read_text())["meta"]
        assert meta["command"].startswith("citeqa") and meta["limit"] == int(limit)
        runs.append(out)

    result = cli.invoke(eval_app, ["compare", str(runs[0]), str(runs[1])])
    assert result.exit_code == 0, result.output
    assert "wrong_abstention_answerable" in result.output and "delta" in result.output
    assert (runs[1] / "compare.md").exists() and (runs[1] / "compare.png").exists()

    result = cli.invoke(eval_app, ["run", str(dataset), "--mode", "local", "--out", str(runs[0])])
    assert result.exit_code == 1 and "other settings" in result.output


def test_unknown_choices_are_refused(tmp_path: Path) -> None:
    cli = CliRunner()
    result = cli.invoke(eval_app, ["prepare", "squad", str(tmp_path), str(tmp_path / "x")])
    assert result.exit_code != 0
    result = cli.invoke(eval_app, ["run", str(tmp_path), "--baseline", "llamaindex"])
    assert result.exit_code != 0
    result = cli.invoke(eval_app, ["run", str(tmp_path), "--split", "dev"])
    assert result.exit_code != 0
    result = cli.invoke(eval_app, ["run", str(tmp_path), "--k", "0"])
    assert result.exit_code != 0
    clapnq = ["prepare", "clapnq", str(tmp_path), str(tmp_path / "x"), "--only", "questions"]
    result = cli.invoke(eval_app, clapnq)
    assert result.exit_code == 2 and "sample only" in result.output


def test_split_option(tmp_path: Path, embeddings: LocalEmbeddings) -> None:
    cli = CliRunner()
    dataset = tmp_path / "sample"
    args = ["prepare", "sample", str(SHARED / "sample"), str(dataset), "--only", "questions"]
    assert cli.invoke(eval_app, args).exit_code == 0
    out = tmp_path / "runs"
    args = ["run", str(dataset), "--mode", "extractive", "--split", "tune", "--out", str(out)]
    result = cli.invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "summary.json").read_text())["meta"]
    assert meta["split"] == "tune" and meta["questions"] == 2  # seed-3 and seed-4
