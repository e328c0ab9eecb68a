"""The layout check holds on this checkout, and each of its rules can fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from qa.tools.layout import check
from tests.conftest import ROOT

ROUTER = "from fastapi import APIRouter\n\nrouter = APIRouter()\n"


def tree(root: Path, files: dict[str, str]) -> Path:
    """A scratch ``qa`` package made of ``files`` (path -> source)."""
    for rel, text in {"qa/__init__.py": "", "qa/http/__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def rules(root: Path, allowed: dict[str, str] | None = None) -> list[str]:
    return [f"{v.rule} @ {v.where}" for v in check(root, allowed or {})]


def test_this_checkout_keeps_the_layout() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "qa.tools.layout"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("layout ok")


def test_only_qa_http_may_import_a_router_module(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "qa/http/routes.py": ROUTER,
            "qa/http/reports.py": "import fastapi\n\nr = fastapi.APIRouter()\n",  # a new one
            "qa/http/context.py": "X = 1\n",
            "qa/http/app.py": "from qa.http import routes, reports\n",
            "qa/ui/__init__.py": "",
            "qa/ui/page.py": "from qa.http.context import X\nfrom qa.http.routes import router\n",
            "qa/cli.py": "def f():\n    from qa.http import reports\n",
            "qa/service.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from qa.http.routes import router\n",
        },
    )
    assert sorted(rules(root)) == ["router import @ qa/cli.py", "router import @ qa/ui/page.py"]


def test_an_import_cycle_fails_relative_and_lazy_imports_included(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "qa/a.py": "from qa import b\n",
            "qa/b.py": "def f():\n    from .c import X\n",
            "qa/c.py": "import qa.a\nX = 1\n",
            "qa/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import qa.e\n",
            "qa/e.py": "import qa.d\n",
        },
    )
    violations = check(root, {})
    assert [(v.rule, v.detail) for v in violations] == [("import cycle", "qa.a -> qa.b -> qa.c")]


def test_a_long_function_in_the_answer_path_or_page_fails_unless_allowed(tmp_path: Path) -> None:
    body = "def long():\n" + "    x = 1\n" * 60 + "\n\ndef short():\n" + "    x = 1\n" * 59
    method = "class C:\n    @staticmethod\n    def m():\n" + "        x = 1\n" * 59
    root = tree(
        tmp_path,
        {
            "qa/chain.py": body,
            "qa/llm/__init__.py": "",
            "qa/llm/new.py": method,
            "qa/cli.py": body,  # not in the answer path
        },
    )
    assert rules(root) == [
        "long function @ qa/chain.py::long",
        "long function @ qa/llm/new.py::C.m",
    ]
    allowed = {"qa/chain.py::long": "a reason", "qa/chain.py::short": "another"}
    assert rules(root, allowed) == [
        "long function @ qa/llm/new.py::C.m",
        "stale allow-list entry @ qa/chain.py::short",
    ]
