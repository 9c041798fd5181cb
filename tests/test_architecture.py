"""The house rules of the library's layout, read from the code's own imports (no module is imported here).

Sub-packages are layers; a module may import from its own layer or a lower one, never a higher one, and no
set of modules imports itself round in a circle. The dashboard's packages sit above the whole library.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "textclf"
LAYERS = ["version", "errors", "data", "training", "explain", "models", "runs", "results", "storage", "jobs", "cli"]
TOP = {"__init__", "__main__"}  # the package root and `python -m textclf` may name anything
MOST_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every textclf module this file imports, at any depth (function-level and TYPE_CHECKING imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("textclf"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("textclf"))
    return names


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in LIBRARY.rglob("*.py")}
    return {name: {target for target in imported_modules(path) if target in files and target != name}
            for name, path in files.items()}


def layer_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle between modules (package __init__ files that only re-export are modules too), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (circle := visit(target)):
                return circle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (circle := visit(node)):
            return circle
    return None


def test_no_module_imports_itself_round_a_circle():
    assert find_circle(import_graph()) is None


def test_the_circle_finder_finds_a_circle():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_arrow_runs_from_a_lower_layer_to_a_higher_one():
    upward = []
    for module, targets in import_graph().items():
        layer = layer_of(module).removeprefix("textclf.")
        if layer in TOP or module == "textclf":
            continue
        for target in targets:
            target_layer = layer_of(target)
            if target == "textclf" or LAYERS.index(target_layer) > LAYERS.index(layer):
                upward.append(f"{module} -> {target}")
    assert not upward, upward


def test_every_library_module_belongs_to_a_known_layer():
    unknown = {layer_of(m) for m in import_graph() if m != "textclf"} - set(LAYERS) - TOP
    assert not unknown, f"add {sorted(unknown)} to LAYERS in the order the layers stack"


def test_no_library_module_is_a_room_too_big_to_read():
    long = {str(p.relative_to(ROOT)): n for p in LIBRARY.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MOST_LINES}
    assert not long, long


def test_the_library_never_imports_streamlit():
    users = [str(p.relative_to(ROOT)) for p in LIBRARY.rglob("*.py")
             if any(name.split(".")[0] == "streamlit" for name in _all_imports(p))]
    assert not users, users


def _all_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names
