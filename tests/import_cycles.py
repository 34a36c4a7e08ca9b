"""Import cycles between project modules, counting function-level imports (``make lint``).

Parses every module of the project packages with :mod:`ast` (nothing is imported or run), draws an
edge for every ``import`` / ``from ... import`` of a project module wherever it stands (module
level or inside a function; ``if TYPE_CHECKING:`` blocks excepted: they never run), plus the edge
from a module to each package above it (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__``,
so a package ``__init__`` that re-exports a submodule which imports the package back is a cycle).
Prints each strongly connected group of modules and exits 1 when there is any.

Usage: ``python -m tests.import_cycles [ROOT]``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGES = ("bench", "models", "data_synth", "aggregators", "reports")


def project_modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """``dotted module name -> file`` for every ``.py`` file of ``packages`` under ``root``."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The project module ``name`` refers to (``a.b.func`` -> ``a.b``), or ``None`` when external."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_graph(root: Path) -> dict[str, set[str]]:
    """``module -> modules it imports`` (function-level imports and parent packages included)."""
    modules = project_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}

    def visit(node: ast.AST, module: str, is_package: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                for name in _imported(child, module, is_package):
                    target = _owner(name, modules)
                    if target and target != module:
                        graph[module].add(target)
            visit(child, module, is_package)

    for name, path in modules.items():
        visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), name, path.name == "__init__.py")
    for name in graph:
        for target in list(graph[name]):
            parent = target.rpartition(".")[0]
            while parent:
                if parent in modules and not name.startswith(parent + ".") and parent != name:
                    graph[name].add(parent)
                parent = parent.rpartition(".")[0]
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    groups = cycles(import_graph(root))
    for group in groups:
        print("import cycle: " + " <-> ".join(group))
    print(f"{len(groups)} import cycle(s) between project modules")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main())
