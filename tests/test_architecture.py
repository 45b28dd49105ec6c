"""The import graph tells the truth: layers only go down, no cycles, no hidden imports, no task-name switches.

The layering itself is the import-linter contract in pyproject.toml (and the README's "Architecture" section).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "meddl"
TASK_NAMES = {"diagnosis", "regression", "survival", "treatment"}
#: the task plug-ins themselves may name their own task
TASK_MODULES = {"runs/registry.py", "runs/diagnosis.py", "runs/survival.py", "runs/treatment.py"}


def _modules():
    for path in sorted(SOURCE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_layers_contract_holds():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter's lint-imports is not installed (pip install 'meddl[test]')")
    result = subprocess.run([command, "--config", str(SOURCE.parents[1] / "pyproject.toml")], capture_output=True,
                            text=True, cwd=SOURCE.parents[1])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and "0 broken" in result.stdout


def _strongly_connected(nodes, edges):
    """Tarjan's algorithm: the strongly connected components with more than one module (the cycles)."""
    index, low, stack, on_stack, components, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in nodes:
        if node not in index:
            visit(node)
    return components


def test_there_is_no_import_cycle_anywhere():
    graph = grimp.build_graph("meddl")
    nodes = sorted(graph.modules)
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if i.startswith("meddl")} for m in nodes}
    assert _strongly_connected(nodes, edges) == []


def test_cycle_finder_finds_a_planted_cycle():
    assert _strongly_connected(["a", "b", "c"], {"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_first_party_import_hides_inside_a_function():
    hidden = []
    for path, tree in _modules():
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if (isinstance(node, ast.ImportFrom) and node.level) or any(n.split(".")[0] == "meddl" for n in names):
                    hidden.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert hidden == [], "first-party imports belong at the top of the module: " + ", ".join(hidden)


#: what ``pip install meddl`` always brings (pyproject's dependencies; threadpoolctl comes with scikit-learn)
REQUIRED_PACKAGES = {"torch", "numpy", "scipy", "pandas", "sklearn", "safetensors", "pydantic", "yaml", "tqdm",
                     "matplotlib", "threadpoolctl"}
#: standard-library modules that exist on some platforms only, so they may be imported where used
PLATFORM_MODULES = {"fcntl", "resource", "msvcrt", "winreg"}


def _imports_inside_functions(tree: ast.AST):
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    yield node, [alias.name.split(".")[0] for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    yield node, [(node.module or "").split(".")[0]]


def test_only_optional_libraries_are_imported_inside_a_function():
    """Lazy imports are for optional extras (optuna, sksurv, PIL, ...): a required package or a portable
    standard-library module is imported at the top of the module, where the import graph shows it."""
    eager = (REQUIRED_PACKAGES | set(sys.stdlib_module_names)) - PLATFORM_MODULES
    hidden = sorted({f"{path.relative_to(SOURCE)}:{node.lineno} ({name})" for path, tree in _modules()
                     for node, names in _imports_inside_functions(tree) for name in names if name in eager})
    assert hidden == [], "import these at the top of the module: " + ", ".join(hidden)


def _names_a_task(node: ast.Compare) -> bool:
    """``x.task == "survival"``, ``task in ("diagnosis", ...)``: a switch on a task's name."""
    sides = [node.left, *node.comparators]
    constants = {n.value for side in sides for n in ast.walk(side) if isinstance(n, ast.Constant)}
    subjects = {n.attr if isinstance(n, ast.Attribute) else n.id for side in sides for n in ast.walk(side)
                if isinstance(n, (ast.Attribute, ast.Name))}
    return bool(constants & TASK_NAMES) and bool(subjects & {"task", "task_name"})


def test_nothing_outside_the_task_plugins_branches_on_a_task_name():
    switches = [f"{path.relative_to(SOURCE)}:{node.lineno}" for path, tree in _modules()
                if path.relative_to(SOURCE).as_posix() not in TASK_MODULES
                for node in ast.walk(tree) if isinstance(node, ast.Compare) and _names_a_task(node)]
    assert switches == [], "ask the task plug-in (meddl.runs.registry) instead: " + ", ".join(switches)


def test_the_switch_finder_sees_a_switch():
    tree = ast.parse("if run.task == 'survival': pass\nif problem == 'regression': pass")
    found = [node for node in ast.walk(tree) if isinstance(node, ast.Compare) and _names_a_task(node)]
    assert len(found) == 1
