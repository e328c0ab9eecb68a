"""The wheel carries everything citeqa reads at run time: built from the sources, installed
in a scratch venv, it answers the sample question from a folder outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

QUESTION = "What concessions did the US offer?"
SOURCES = ("pyproject.toml", "README.md", "qa", "vectorstore", "prompts", "examples")
# Folders that land in the wheel under another name (pyproject's package-dir).
MAPPED = {"prompts": "qa/_prompts", "examples": "qa/_examples"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (so the checkout gets no build/ folder)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    run = subprocess.run(
        [*build, "--no-index", "-w", str(work / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (found,) = (work / "dist").glob("citeqa-*.whl")
    return found


@pytest.fixture(scope="module")
def scratch(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel installed and the project venv's other packages visible through
    a .pth line (offline and fast: nothing is downloaded or built). The project venv's own
    .pth files (its editable citeqa) are not read from there, so ``qa`` is the wheel's."""
    venv = tmp_path_factory.mktemp("scratch") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (purelib / "project-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = venv / "bin" / "python"
    install = ["install", "-q", "--no-deps", "--no-index", str(wheel)]
    run = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *install],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return venv


def test_the_wheel_holds_every_module_prompt_template_and_example(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for top in ("qa", "vectorstore", "prompts", "examples"):
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(ROOT).as_posix()
                expected.add(MAPPED.get(top, top) + rel[len(top) :])
    assert expected - names == set(), "files the wheel lacks (pyproject's packages?)"
    assert "qa/evaluation/templates/report.html.j2" in names


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEQA_", "PYTHON"))}
    return {**env, "CITEQA_DATA_DIR": str(tmp / "data"), "CITEQA_MODE": "extractive"}


def test_the_installed_wheel_answers_the_sample_question(scratch: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        [str(scratch / "bin" / "citeqa"), "ask", QUESTION, "--json"],
        cwd=elsewhere, env=_env(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout)
    assert not answer["abstained"] and "SWIFT" in answer["text"]
    source = Path(answer["citations"][0]["source"])
    assert source.parent.as_posix().endswith("site-packages/qa/_examples")
    assert source.is_relative_to(scratch), "the example article came from the wheel"


PROBE = """
import json, qa
from qa.evaluation.report_html import template
from qa.prompts import load_prompt
print(json.dumps({
    "qa": qa.__file__,
    "answer": load_prompt("answer").messages[0].prompt.template,
    "report": template().filename,
}))
"""


def test_the_installed_wheel_reads_its_prompts_and_templates(scratch: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [str(scratch / "bin" / "python"), "-c", PROBE],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout)
    assert Path(found["qa"]).is_relative_to(scratch) and Path(found["report"]).is_relative_to(
        scratch
    )
    system = (ROOT / "prompts" / "answer.md").read_text(encoding="utf-8").partition("\n---\n")[0]
    assert found["answer"] == system.strip()
