"""The layout check: ``python -m qa.tools.layout`` exits 1 and lists what breaks the rules.

Three rules keep the house easy to extend (issue 11):

- only ``qa/http/`` imports a router module (a ``qa.http`` module that makes an
  ``APIRouter``), so the page, the CLI and the service never depend on a route;
- no import cycle between ``qa`` modules (imports only type checkers see do not count);
- no function over ``MAX_LINES`` lines in the answer path or the page, since long units there
  are where control flow hides.

A justified exception goes in ``ALLOWED`` with its reason; an entry that no longer matches
anything is itself reported, so the list cannot silently outlive its reason.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_LINES = 60
# The answer path and the page, as paths relative to the root; a folder covers its tree.
LENGTH_CHECKED = (
    "qa/chain.py",
    "qa/chain_io.py",
    "qa/candidates.py",
    "qa/evidence.py",
    "qa/citations.py",
    "qa/verify.py",
    "qa/checks.py",
    "qa/lexicon.py",
    "qa/quantities.py",
    "qa/answer_kind.py",
    "qa/extractive.py",
    "qa/followup.py",
    "qa/leads.py",
    "qa/timeframe.py",
    "qa/date_window.py",
    "qa/gate.py",
    "qa/retrieval.py",
    "qa/service.py",
    "qa/llm",
    "qa/ui",
)
#: ``path::qualified.function`` -> why it may be longer than ``MAX_LINES``.
ALLOWED: dict[str, str] = {}


@dataclass(frozen=True)
class Module:
    name: str  # qa.http.routes
    path: Path  # relative to the root
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}: {self.detail}"


def load_modules(root: Path, package: str = "qa") -> dict[str, Module]:
    """Every module of ``package`` under ``root``, parsed, by dotted name."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root)
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
        modules[".".join(parts)] = Module(".".join(parts), rel, tree)
    return modules


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
    return name == "TYPE_CHECKING"


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run (at import time or in a function), not ``if TYPE_CHECKING`` ones."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            yield from (n for part in node.orelse for n in _import_nodes_of(part))
            continue
        yield from _import_nodes_of(node)


def _import_nodes_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


def imports(module: Module, known: dict[str, Module]) -> set[str]:
    """The ``known`` modules that ``module`` imports (``from pkg import sub`` names ``sub``)."""
    found: set[str] = set()
    for node in _import_nodes(module.tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
            continue
        base = node.module or ""
        if node.level:  # relative: resolve against this module's package
            package = module.name.split(".")
            package = package if module.is_package else package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in known:
                found.add(sub)
            elif base in known:
                found.add(base)
    found.discard(module.name)
    return found


def router_modules(modules: dict[str, Module]) -> set[str]:
    """``qa.http`` modules that make an ``APIRouter`` at module level."""
    routers = set()
    for name, module in modules.items():
        if not name.startswith("qa.http."):
            continue
        for node in module.tree.body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            func = value.func if isinstance(value, ast.Call) else None
            if (getattr(func, "id", None) or getattr(func, "attr", None)) == "APIRouter":
                routers.add(name)
    return routers


def check_router_imports(modules: dict[str, Module]) -> list[Violation]:
    routers = router_modules(modules)
    out = []
    for name, module in modules.items():
        if name == "qa.http" or name.startswith("qa.http."):
            continue
        for target in sorted(imports(module, modules) & routers):
            out.append(Violation("router import", str(module.path), f"imports {target}"))
    return out


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def check_cycles(modules: dict[str, Module]) -> list[Violation]:
    graph = {name: imports(module, modules) for name, module in modules.items()}
    return [
        Violation("import cycle", str(modules[cycle[0]].path), " -> ".join(cycle))
        for cycle in find_cycles(graph)
    ]


def _functions(
    node: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield f"{prefix}{child.name}", child
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def long_functions(modules: dict[str, Module], max_lines: int = MAX_LINES) -> dict[str, int]:
    """``path::function`` -> lines, for checked functions longer than ``max_lines``."""
    found = {}
    for module in modules.values():
        path = module.path.as_posix()
        if not any(path == p or path.startswith(p + "/") for p in LENGTH_CHECKED):
            continue
        for qualname, func in _functions(module.tree):
            first = min([func.lineno, *(d.lineno for d in func.decorator_list)])
            lines = (func.end_lineno or func.lineno) - first + 1
            if lines > max_lines:
                found[f"{path}::{qualname}"] = lines
    return found


def check_lengths(
    modules: dict[str, Module], allowed: dict[str, str], max_lines: int = MAX_LINES
) -> list[Violation]:
    found = long_functions(modules, max_lines)
    out = [
        Violation("long function", key, f"{lines} lines (limit {max_lines})")
        for key, lines in sorted(found.items())
        if key not in allowed
    ]
    out += [
        Violation("stale allow-list entry", key, "no longer too long or gone; remove it")
        for key in sorted(allowed)
        if key not in found
    ]
    return out


def check(root: Path, allowed: dict[str, str] | None = None) -> list[Violation]:
    """Every rule over the ``qa`` package under ``root``."""
    modules = load_modules(root)
    return [
        *check_router_imports(modules),
        *check_cycles(modules),
        *check_lengths(modules, ALLOWED if allowed is None else allowed),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.tools.layout", description=__doc__)
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[2],
        help="the checkout to check (default: the one this module is in)",
    )
    args = parser.parse_args(argv)
    violations = check(args.root)
    for violation in violations:
        print(violation)
    print(f"{len(violations)} layout violation(s)" if violations else "layout ok")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
